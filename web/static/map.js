// map.js: the site map (/map) follows the live stream: when an alarm
// comes or changes, or staff move, it asks the server for the live layer
// (open alarms and staff on duty, placed in the same frame as the plan)
// and the list of open alarms, and swaps them in. No inline script: the
// pages' CSP forbids it.
(function () {
  "use strict";
  var root = document.getElementById("map-page");
  var layer = document.getElementById("map-live");
  var list = document.getElementById("map-alarm-list");
  if (!root || !layer || !window.shequLive) {
    return;
  }
  var url = "/map/live?building=" + encodeURIComponent(root.getAttribute("data-building") || "0");
  var busy = false, again = false;

  function refresh() {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    window.shequLive.fetchFragment(url).then(function (html) {
      var doc = new DOMParser().parseFromString("<!doctype html><body>" + html, "text/html");
      var tpl = doc.getElementById("live-layer");
      var items = doc.getElementById("live-list");
      if (tpl) {
        // Parsed as SVG inside an <svg>, so that the shapes draw.
        var svg = new DOMParser().parseFromString('<svg xmlns="http://www.w3.org/2000/svg">' + tpl.innerHTML + "</svg>", "image/svg+xml");
        layer.replaceChildren.apply(layer, Array.prototype.map.call(svg.documentElement.childNodes, function (n) {
          return document.importNode(n, true);
        }));
      }
      if (items && list) {
        list.innerHTML = items.innerHTML;
      }
    }).catch(function () { /* the live line says the stream is down */ }).then(function () {
      busy = false;
      if (again) {
        again = false;
        refresh();
      }
    });
  }

  // Staff report where they are without an event on the stream: the
  // layer is asked for again now and then while the page is seen.
  setInterval(function () {
    if (!document.hidden) {
      refresh();
    }
  }, 30000);

  // Only those who may read alarms get the stream (the page leaves out
  // data-live-from for the others); the rest see staff move by the timer.
  if (!root.hasAttribute("data-live-from")) {
    return;
  }
  window.shequLive.follow({
    from: root.getAttribute("data-live-from"),
    status: document.getElementById("live"),
    events: {incident: refresh},
    onResume: refresh
  });
})();
