// devices.js: keeps the health wall live. Every "device" event on the live
// stream (a status that changed) asks again for the wall's results, at
// most once a second, so that a camera going red shows without a reload.
(function () {
  "use strict";
  var line = document.getElementById("wall-live");
  var results = document.getElementById("results");
  if (!line || !results || !window.shequLive) {
    return;
  }
  var pending = null;
  function refresh() {
    if (pending) {
      return;
    }
    pending = setTimeout(function () {
      window.shequLive.fetchFragment(location.pathname + location.search).then(function (html) {
        results.innerHTML = html;
      }).catch(function () {}).then(function () {
        pending = null;
      });
    }, 1000);
  }
  window.shequLive.follow({
    from: line.getAttribute("data-from"),
    status: line,
    events: {device: refresh},
    onResume: refresh
  });
})();
