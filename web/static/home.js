// home.js: a home's page (/homes/{id}) follows the live stream and asks
// again for the home's alarm state and sensors when an event about this
// home comes, or when the stream is back after a break. No inline script:
// the pages' CSP forbids it.
(function () {
  "use strict";
  var root = document.getElementById("home-page");
  var target = document.getElementById("home-state");
  if (!root || !target || !window.shequLive) {
    return;
  }
  var home = root.getAttribute("data-home");

  function refresh() {
    window.shequLive.fetchFragment("/homes/" + home + "/state").then(function (html) {
      target.innerHTML = html;
    }).catch(function () { /* the live line says the stream is down */ });
  }

  // Events carry their home in the payload; others are not this page's.
  function maybe(e) {
    try {
      var d = JSON.parse(e.data);
      if (String(d.home_id) !== home) {
        return;
      }
    } catch (err) {
      return;
    }
    refresh();
  }

  window.shequLive.follow({
    from: root.getAttribute("data-live-from"),
    status: document.getElementById("live"),
    events: {arm_state: maybe, incident: maybe},
    onResume: refresh
  });
})();
