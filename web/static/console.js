// console.js: the monitoring centre's console (/console).
//
// It listens to the live stream and, on each incident or escalation,
// asks the server for the queue again (and for the selected incident when
// that one changed); it beeps for a new alarm, keeps the page title and
// the "live" line true, and gives the buttons their keys. Everything it
// does is also reachable without it: the buttons are forms and the queue
// is links. No inline script: the page's CSP forbids it.
(function () {
  "use strict";

  var root = document.getElementById("console");
  if (!root) {
    return;
  }
  var soundState = document.getElementById("sound-state");
  var known = {}; // ids of the incidents in the queue
  var audio = null;
  var beeps = 0;

  // --- fragments -------------------------------------------------------

  // livestream.js fetches the parts of the page as htmx would.
  var fetchFragment = window.shequLive.fetchFragment;

  // swap replaces the element with the given id by the one in html, keeps
  // the keyboard focus where it was, and lets htmx wire the new links.
  function swap(id, html) {
    var old = document.getElementById(id);
    var t = document.createElement("template");
    t.innerHTML = html;
    var el = t.content.getElementById(id);
    if (!old || !el) {
      return null;
    }
    var focused = document.activeElement;
    var focusKey = null;
    if (focused && old.contains(focused)) {
      focusKey = focused.id ? "#" + focused.id : focused.getAttribute("data-id") ? '[data-id="' + focused.getAttribute("data-id") + '"]' : null;
    }
    old.replaceWith(el);
    if (window.htmx) {
      htmx.process(el);
    }
    if (focusKey) {
      var again = el.querySelector(focusKey);
      if (again) {
        again.focus();
      }
    }
    return el;
  }

  function selectedId() {
    var d = document.getElementById("detail");
    return d ? d.getAttribute("data-id") || "" : "";
  }

  // --- the queue -------------------------------------------------------

  function readQueue() {
    var q = document.getElementById("queue");
    if (!q) {
      return;
    }
    document.querySelectorAll("#queue .inc").forEach(function (a) {
      known[a.getAttribute("data-id")] = true;
    });
    var title = q.getAttribute("data-title");
    if (title) {
      document.title = title;
    }
    markSelected();
  }

  function markSelected() {
    var id = selectedId();
    document.querySelectorAll("#queue .inc").forEach(function (a) {
      if (a.getAttribute("data-id") === id) {
        a.setAttribute("aria-current", "true");
      } else {
        a.removeAttribute("aria-current");
      }
    });
  }

  var queueBusy = false;
  var queueAgain = false;

  function refreshQueue() {
    if (queueBusy) {
      queueAgain = true;
      return;
    }
    queueBusy = true;
    var id = selectedId();
    fetchFragment("/console/queue" + (id ? "?id=" + encodeURIComponent(id) : "")).then(function (html) {
      swap("queue", html);
      readQueue();
      if (!selectedId()) {
        selectFirst();
      }
    }).catch(function (err) {
      console.info("queue not refreshed:", err.message);
    }).then(function () {
      queueBusy = false;
      if (queueAgain) {
        queueAgain = false;
        refreshQueue();
      }
    });
  }

  // selectFirst opens the most urgent alarm when none is open.
  function selectFirst() {
    var first = document.querySelector("#queue .inc");
    if (!first) {
      return;
    }
    var id = first.getAttribute("data-id");
    fetchFragment("/console/incidents/" + encodeURIComponent(id)).then(function (html) {
      if (selectedId()) {
        return; // the operator chose one meanwhile
      }
      swap("detail", html);
      history.replaceState(null, "", "/console?id=" + id);
      markSelected();
    }).catch(function (err) {
      console.info("incident not loaded:", err.message);
    });
  }

  // --- the selected incident -------------------------------------------

  // busyEditing reports whether the operator is in the middle of filling
  // in the resolve form: a refresh then waits, so nothing typed is lost.
  function busyEditing() {
    var st = document.getElementById("incident-state");
    if (!st) {
      return false;
    }
    var sel = st.querySelector("#resolution");
    var notes = st.querySelector("#notes");
    var a = document.activeElement;
    return (sel && sel.value !== "") || (notes && notes.value !== "") ||
      (a && st.contains(a) && /^(INPUT|SELECT|TEXTAREA)$/.test(a.tagName));
  }

  var stateStale = false;
  // stateSwaps counts the swaps of the incident's state, by a step's
  // answer (htmx) or by a live refresh. A refresh whose answer comes back
  // after another swap may be older than what is shown: the state read
  // for the acknowledgement must not replace the dispatch's answer.
  var stateSwaps = 0;

  function refreshState() {
    var id = selectedId();
    if (!id) {
      return;
    }
    if (busyEditing()) {
      stateStale = true;
      return;
    }
    stateStale = false;
    var began = stateSwaps;
    fetchFragment("/console/incidents/" + encodeURIComponent(id) + "/state").then(function (html) {
      if (selectedId() !== id) {
        return;
      }
      if (busyEditing()) {
        // Not now: the operator has begun to resolve. Once the focus
        // leaves the form, the state is asked for again.
        stateStale = true;
      } else if (began !== stateSwaps) {
        refreshState();
      } else {
        swap("incident-state", html);
        stateSwaps++;
      }
    }).catch(function (err) {
      console.info("incident not refreshed:", err.message);
    });
  }

  document.addEventListener("focusout", function () {
    if (stateStale) {
      setTimeout(function () {
        if (stateStale && !busyEditing()) {
          refreshState();
        }
      }, 0);
    }
  });

  // --- sound -----------------------------------------------------------

  // Browsers let a page make sound only after a click or a key press, so
  // the audio starts with the first one.
  function startAudio() {
    var AC = window.AudioContext || window.webkitAudioContext;
    if (!AC) {
      return null;
    }
    if (!audio) {
      audio = new AC();
    }
    if (audio.state === "suspended") {
      audio.resume();
    }
    soundState.textContent = soundState.getAttribute("data-text-on");
    soundState.classList.add("on");
    return audio;
  }

  // beep plays two tones, or four for a threat to life.
  function beep(urgent) {
    if (!audio || audio.state === "closed") {
      return;
    }
    // The count lets a test (or a curious operator) see that it played.
    root.setAttribute("data-beeps", String(++beeps));
    var t0 = audio.currentTime + 0.02;
    var tones = urgent ? [988, 740, 988, 740] : [880, 660];
    tones.forEach(function (f, i) {
      var start = t0 + i * 0.28;
      var osc = audio.createOscillator();
      var gain = audio.createGain();
      osc.type = "triangle";
      osc.frequency.value = f;
      gain.gain.setValueAtTime(0.0001, start);
      gain.gain.exponentialRampToValueAtTime(0.4, start + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.24);
      osc.connect(gain);
      gain.connect(audio.destination);
      osc.start(start);
      osc.stop(start + 0.26);
    });
  }

  document.addEventListener("pointerdown", startAudio, {once: true});
  document.addEventListener("keydown", startAudio, {once: true});
  document.getElementById("sound-test").addEventListener("click", function () {
    startAudio();
    beep(true);
  });

  // --- keys ------------------------------------------------------------

  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || e.repeat) {
      return;
    }
    var t = e.target;
    if (t && t.closest && t.closest("input, select, textarea, [contenteditable]")) {
      return;
    }
    var key = (e.key || "").toLowerCase();
    var btn = null;
    if (key === "a") {
      btn = document.getElementById("btn-ack");
    } else if (key === "d") {
      btn = document.getElementById("btn-dispatch");
    } else if (key === "r") {
      var sel = document.getElementById("resolution");
      if (sel && !sel.value) {
        e.preventDefault();
        sel.focus();
        return;
      }
      btn = document.getElementById("btn-resolve");
    }
    if (btn && !btn.disabled) {
      e.preventDefault();
      // htmx wires what it swaps in only as it settles; a key pressed
      // before that would send the plain form and reload the page, and
      // the next key would fall on a page whose script has not run yet.
      if (window.htmx && btn.form) {
        htmx.process(btn.form);
      }
      btn.click();
    }
  });

  // Choosing an outcome moves to the Resolve button: Enter then resolves.
  document.addEventListener("change", function (e) {
    if (e.target && e.target.id === "resolution" && e.target.value) {
      var btn = document.getElementById("btn-resolve");
      if (btn) {
        btn.focus();
      }
    }
  });

  // After htmx swapped in a step's answer or another incident, keep the
  // focus on the page and the queue's mark on the right row.
  document.body.addEventListener("htmx:afterSwap", function (e) {
    var t = e.detail && e.detail.target;
    if (t && t.id === "incident-state") {
      stateSwaps++;
    }
  });

  document.body.addEventListener("htmx:afterSettle", function (e) {
    var t = e.detail && e.detail.target;
    if (!t) {
      return;
    }
    if (t.id === "detail" || t.id === "incident-state" || !document.body.contains(t)) {
      markSelected();
      readQueue();
      if (document.activeElement === document.body || !document.activeElement) {
        var h = document.getElementById("h-detail");
        if (h) {
          h.focus();
        }
      }
    }
  });

  // --- the live stream (livestream.js) --------------------------------

  function onIncident(e) {
    var inc = {};
    try {
      inc = JSON.parse(e.data);
    } catch (err) {
      // a refresh still shows it
    }
    var id = String(inc.id || "");
    if (inc.status === "new" && id && !known[id]) {
      beep(inc.priority === 1);
    }
    if (id) {
      known[id] = true;
    }
    refreshQueue();
    if (id && id === selectedId()) {
      refreshState();
    }
  }

  function onEscalation(e) {
    beep(true);
    refreshQueue();
    try {
      if (String(JSON.parse(e.data).incident_id) === selectedId()) {
        refreshState();
      }
    } catch (err) {
      // the queue is refreshed all the same
    }
  }

  readQueue();
  window.shequLive.follow({
    from: root.getAttribute("data-live-from"),
    status: document.getElementById("live"),
    events: {incident: onIncident, escalation: onEscalation},
    onResume: function () {
      refreshQueue();
      refreshState();
    }
  });
  // Ages move on without events: the server recomputes them.
  setInterval(refreshQueue, 20000);
})();
