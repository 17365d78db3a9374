// resident.js: the resident's alarm page (/my/alarm).
//
// It keeps the alarm state up to date from the live stream, counts the
// exit delay down, and turns the SOS button into one that must be held for
// two seconds while a ring fills, so that a stray tap calls nobody.
// Without it the page still works: the buttons are forms, and SOS asks
// once more on a page of its own.
(function () {
  "use strict";

  var root = document.getElementById("myalarm");
  if (!root) {
    return;
  }

  // --- the state -------------------------------------------------------

  // livestream.js fetches the parts of the page as htmx would.
  var fetchFragment = window.shequLive.fetchFragment;

  var busy = false;
  var again = false;

  function refreshState() {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    fetchFragment("/my/alarm/state").then(function (html) {
      var old = document.getElementById("alarm-state");
      var t = document.createElement("template");
      t.innerHTML = html;
      var el = t.content.getElementById("alarm-state");
      if (!old || !el) {
        return;
      }
      var focused = document.activeElement;
      var focusID = focused && old.contains(focused) ? focused.id : "";
      old.replaceWith(el);
      if (window.htmx) {
        htmx.process(el);
      }
      // The button pressed may be gone (arm becomes disarm): keep the
      // focus in the same place for a screen reader.
      if (focusID) {
        var same = document.getElementById(focusID) || el.querySelector("button");
        if (same) {
          same.focus();
        }
      }
      startCountdown();
    }).catch(function (err) {
      console.info("state not refreshed:", err.message);
    }).then(function () {
      busy = false;
      if (again) {
        again = false;
        refreshState();
      }
    });
  }

  // --- the exit and entry delay ----------------------------------------

  var tick = null;

  function startCountdown() {
    if (tick) {
      clearInterval(tick);
      tick = null;
    }
    var el = document.querySelector("#alarm-state .countdown");
    if (!el) {
      return;
    }
    var left = parseInt(el.getAttribute("data-seconds"), 10) || 0;
    var end = Date.now() + left * 1000;
    tick = setInterval(function () {
      var s = Math.max(0, Math.round((end - Date.now()) / 1000));
      el.textContent = el.textContent.replace(/\d+/, String(s));
      if (s === 0) {
        clearInterval(tick);
        tick = null;
        // The server's timer ends the delay; ask for the outcome.
        setTimeout(refreshState, 1500);
      }
    }, 1000);
  }

  document.body.addEventListener("htmx:afterSettle", startCountdown);

  // --- SOS: hold for two seconds ---------------------------------------

  var sos = document.getElementById("sos-button");
  var hint = document.getElementById("sos-hint");
  if (sos && hint) {
    var form = sos.form;
    var holdMS = parseInt(sos.getAttribute("data-hold-ms"), 10) || 2000;
    var timer = null;
    var fired = false;

    sos.classList.add("hold");
    hint.textContent = hint.getAttribute("data-hold");

    var start = function (e) {
      if (fired || timer || (e.pointerType === "mouse" && e.button !== 0)) {
        return;
      }
      e.preventDefault(); // no text selection, no long-press menu
      try {
        sos.setPointerCapture(e.pointerId);
      } catch (err) {
        // the hold still works without capture
      }
      sos.classList.add("holding");
      hint.textContent = hint.getAttribute("data-keep");
      timer = setTimeout(send, holdMS);
    };
    var stop = function () {
      if (fired || !timer) {
        return;
      }
      clearTimeout(timer);
      timer = null;
      sos.classList.remove("holding");
      hint.textContent = hint.getAttribute("data-short");
    };
    var send = function () {
      fired = true;
      timer = null;
      sos.classList.remove("holding");
      sos.classList.add("sending");
      hint.textContent = hint.getAttribute("data-sending");
      form.elements.confirm.value = "yes";
      form.submit();
    };

    sos.addEventListener("pointerdown", start);
    sos.addEventListener("pointerup", stop);
    sos.addEventListener("pointercancel", stop);
    sos.addEventListener("pointerleave", stop);
    sos.addEventListener("contextmenu", function (e) {
      e.preventDefault();
    });
    // A click from a pointer never sends: only holding does. A press of
    // Enter or Space (detail 0) goes on to the page that asks once more.
    sos.addEventListener("click", function (e) {
      if (e.detail !== 0) {
        e.preventDefault();
      }
    });
  }

  // --- the live stream (livestream.js) --------------------------------

  startCountdown();
  window.shequLive.follow({
    from: root.getAttribute("data-live-from"),
    status: document.getElementById("live"),
    events: {arm_state: refreshState, incident: refreshState},
    onResume: refreshState
  });
})();
