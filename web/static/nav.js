// nav.js: "更多" of the menu (layout.html) is a <details> that works
// without this script; this closes it on Escape, giving the focus back to
// "更多", and on a click or a focus outside it.
(function () {
  "use strict";
  var more = document.getElementById("nav-more");
  if (!more) return;
  var summary = more.querySelector("summary");
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && more.open) {
      more.open = false;
      summary.focus();
    }
  });
  document.addEventListener("click", function (e) {
    if (more.open && !more.contains(e.target)) more.open = false;
  });
  document.addEventListener("focusin", function (e) {
    if (more.open && !more.contains(e.target)) more.open = false;
  });
})();
