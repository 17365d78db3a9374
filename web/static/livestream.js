// livestream.js: the one client of the live stream (/api/v1/events/stream)
// for the pages that follow it: the console (console.js) and the
// resident's alarm page (resident.js). A page loads it before its own
// script; both are deferred, so they run in that order.
//
// shequLive.follow opens the stream where the page's data left off and
// keeps the page's "live" line true: connecting, open, reconnecting while
// EventSource retries by itself, closed while it waits to open a new one.
// After a break it calls onResume, so that the page asks again for what
// it shows. No inline script: the pages' CSP forbids it.
(function () {
  "use strict";

  // How long to wait before opening a stream the server refused (a 401,
  // a 503): EventSource gives up on those by itself.
  var REOPEN_MS = 5000;

  // fetchFragment asks for a part of the page, as htmx would. A session
  // that has ended sends the whole page to the sign-in form.
  function fetchFragment(url) {
    return fetch(url, {headers: {"HX-Request": "true"}, credentials: "same-origin", cache: "no-store"}).then(function (r) {
      var to = r.headers.get("HX-Redirect");
      if (r.status === 401 && to) {
        location.href = to;
        throw new Error("signed out");
      }
      if (!r.ok) {
        throw new Error(url + ": HTTP " + r.status);
      }
      return r.text();
    });
  }

  // follow listens to the stream. opts:
  //   from     the id of the last event the page already shows ("0": none)
  //   status   the element of the "live" line, with a data-text-<state>
  //            for each state; may be null
  //   events   the handlers by event name, each given the MessageEvent
  //   onResume called when the stream is open again after a break
  function follow(opts) {
    var lastId = opts.from || "0";
    var status = opts.status;
    var stream = null;
    var wasDown = false;

    function setState(state) {
      if (!status) {
        return;
      }
      status.setAttribute("data-state", state);
      status.textContent = status.getAttribute("data-text-" + state);
    }

    // Each event moves the resume point on, whatever its handler does.
    function listen(name, handler) {
      stream.addEventListener(name, function (e) {
        lastId = e.lastEventId || lastId;
        handler(e);
      });
    }

    // connect opens the stream after lastId. EventSource reconnects by
    // itself and sends Last-Event-ID, so nothing is missed; only when the
    // server refuses it is it made anew, from the last event seen.
    function connect() {
      stream = new EventSource("/api/v1/events/stream?after=" + encodeURIComponent(lastId));
      stream.addEventListener("open", function () {
        setState("open");
        if (wasDown) {
          wasDown = false;
          if (opts.onResume) {
            opts.onResume();
          }
        }
      });
      stream.addEventListener("error", function () {
        wasDown = true;
        if (stream.readyState === EventSource.CLOSED) {
          setState("closed");
          setTimeout(connect, REOPEN_MS);
        } else {
          setState("reconnecting");
        }
      });
      Object.keys(opts.events).forEach(function (name) {
        listen(name, opts.events[name]);
      });
    }

    connect();
  }

  window.shequLive = {follow: follow, fetchFragment: fetchFragment};
})();
