// resident-app.js: the resident's pages as a web app (pages_resident.go).
//
// - Registers the service worker (/sw.js), which keeps the last news and
//   an offline page with the office's phone number.
// - Keeps what is typed into a form marked data-draft on the phone
//   (localStorage), so that nothing is lost when the network drops or the
//   page is closed; sends it with fetch and, when the network is down,
//   says so calmly and sends it again when it comes back.
// - Scales a photo from the camera down before it is sent.
// - Shows only the extra questions of the chosen kind of matter.
//
// Without it every page still works: the forms post as forms.
(function () {
  "use strict";

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js", {scope: "/"}).catch(function () {});
    // The offline page the worker keeps speaks this page's language, in
    // this page's text size.
    var offline = "/offline?lang=" + encodeURIComponent(document.documentElement.lang) +
      "&text=" + (document.documentElement.classList.contains("large") ? "large" : "normal");
    navigator.serviceWorker.ready.then(function (reg) {
      if (reg.active) {
        reg.active.postMessage({offline: offline});
      }
    }).catch(function () {});
  }

  var banner = document.getElementById("offline-banner");
  function showNetwork() {
    if (banner) {
      banner.hidden = navigator.onLine;
    }
  }
  window.addEventListener("online", showNetwork);
  window.addEventListener("offline", showNetwork);
  showNetwork();

  // A page that says a matter was filed ends the draft it came from, in
  // case it was sent without this script's help.
  var done = document.querySelector("[data-clear-draft]");
  if (done) {
    try {
      localStorage.removeItem("shequ.draft." + done.getAttribute("data-clear-draft"));
    } catch (e) {}
  }

  var form = document.querySelector("form[data-draft]");
  if (!form) {
    return;
  }
  var storeKey = "shequ.draft." + form.getAttribute("data-draft");
  var statusEl = document.getElementById("send-status");
  var sendBtn = document.getElementById("send");
  var retryBtn = document.getElementById("send-retry");
  var photoInput = form.querySelector('input[type="file"][name="photo"]');
  var photoButton = document.getElementById("photo-button");
  var photoState = document.getElementById("photo-state");
  if (photoInput && photoButton) {
    document.getElementById("photo-field").classList.add("js");
    photoButton.hidden = false;
  }
  var preview = document.getElementById("photo-preview");
  var keyInput = form.querySelector('input[name="draft_key"]');
  var text = function (name) {
    return form.getAttribute("data-text-" + name) || "";
  };

  // --- the draft ---------------------------------------------------------

  function randomKey() {
    var b = new Uint8Array(12);
    crypto.getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return ("0" + x.toString(16)).slice(-2); }).join("");
  }

  function load() {
    try {
      return JSON.parse(localStorage.getItem(storeKey) || "null");
    } catch (e) {
      return null;
    }
  }

  var draft = load() || {key: randomKey(), fields: {}, photo: null};
  var photoData = draft.photo; // a data: URL, small enough to keep
  var photoBlob = null;

  function fieldsOf() {
    var out = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.type === "file" || el.type === "hidden" || el.type === "submit" || el.type === "button") {
        return;
      }
      if (el.type === "radio" || el.type === "checkbox") {
        if (el.checked) {
          (out[el.name] = out[el.name] || []).push(el.value);
        }
        return;
      }
      if (el.value !== "") {
        out[el.name] = el.value;
      }
    });
    return out;
  }

  function save() {
    draft.fields = fieldsOf();
    draft.at = Date.now();
    try {
      draft.photo = photoData;
      localStorage.setItem(storeKey, JSON.stringify(draft));
    } catch (e) {
      // Full: keep the words, drop the photo.
      try {
        draft.photo = null;
        localStorage.setItem(storeKey, JSON.stringify(draft));
      } catch (e2) {}
    }
  }

  function clear() {
    try {
      localStorage.removeItem(storeKey);
    } catch (e) {}
  }

  function hasContent(d) {
    if (!d || !d.fields) {
      return false;
    }
    for (var k in d.fields) {
      if (Object.prototype.hasOwnProperty.call(d.fields, k) && k !== "kind" && k !== "subject") {
        return true;
      }
    }
    return !!d.photo;
  }

  function restore() {
    var f = draft.fields || {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || !(el.name in f) || el.type === "file" || el.type === "hidden") {
        return;
      }
      var v = f[el.name];
      if (el.type === "radio" || el.type === "checkbox") {
        el.checked = [].concat(v).indexOf(el.value) >= 0;
      } else {
        el.value = v;
      }
    });
    if (photoData) {
      showPreview(photoData);
      photoBlob = toBlob(photoData);
    }
  }

  function say(msg, retry) {
    if (!statusEl) {
      return;
    }
    statusEl.textContent = msg;
    statusEl.hidden = !msg;
    if (retryBtn) {
      retryBtn.hidden = !retry;
    }
  }

  // The server's answer to a form with mistakes holds what was typed: it
  // wins over the draft. Otherwise the draft comes back.
  var serverSaid = !!document.querySelector(".field-error, #form-error");
  if (!serverSaid && hasContent(draft)) {
    restore();
    say(text("restored"), !!draft.pending);
  }
  if (keyInput) {
    // One key per draft: a form sent twice (the answer was lost) files
    // one matter. A new draft after a sent one gets a new key.
    keyInput.value = draft.key;
  }

  form.addEventListener("input", save);
  form.addEventListener("change", save);

  // --- the extra questions of the chosen kind ------------------------------

  function showQuestions() {
    var chosen = form.querySelector('input[name="category"]:checked');
    var code = chosen ? chosen.value : "";
    Array.prototype.forEach.call(form.querySelectorAll("fieldset.questions[data-for]"), function (fs) {
      var on = fs.getAttribute("data-for") === code;
      fs.hidden = !on;
      fs.disabled = !on;
      Array.prototype.forEach.call(fs.querySelectorAll("[data-required]"), function (el) {
        el.required = on;
      });
    });
  }
  form.addEventListener("change", function (e) {
    if (e.target && e.target.name === "category") {
      showQuestions();
    }
  });
  showQuestions();

  // --- the photo -----------------------------------------------------------

  var maxSide = 1600;

  function showPreview(url) {
    if (preview) {
      preview.src = url;
      preview.hidden = false;
    }
    if (photoState) {
      photoState.textContent = text("photo");
      photoState.hidden = false;
    }
  }

  function toBlob(dataURL) {
    var parts = dataURL.split(",");
    var bin = atob(parts[1]);
    var buf = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) {
      buf[i] = bin.charCodeAt(i);
    }
    return new Blob([buf], {type: "image/jpeg"});
  }

  function decode(file) {
    if (window.createImageBitmap) {
      return createImageBitmap(file);
    }
    return new Promise(function (ok, fail) {
      var r = new FileReader();
      r.onload = function () {
        var img = new Image();
        img.onload = function () { ok(img); };
        img.onerror = fail;
        img.src = r.result;
      };
      r.onerror = fail;
      r.readAsDataURL(file);
    });
  }

  function shrink(file) {
    return decode(file).then(function (img) {
      var w = img.width, h = img.height;
      var scale = Math.min(1, maxSide / Math.max(w, h));
      var c = document.createElement("canvas");
      c.width = Math.round(w * scale);
      c.height = Math.round(h * scale);
      c.getContext("2d").drawImage(img, 0, 0, c.width, c.height);
      return c.toDataURL("image/jpeg", 0.8);
    });
  }

  if (photoInput) {
    photoInput.addEventListener("change", function () {
      var file = photoInput.files && photoInput.files[0];
      photoData = null;
      photoBlob = null;
      if (preview) {
        preview.hidden = true;
      }
      if (photoState) {
        photoState.hidden = true;
      }
      if (!file) {
        save();
        return;
      }
      shrink(file).then(function (url) {
        photoData = url;
        photoBlob = toBlob(url);
        showPreview(url);
        // The form itself carries the smaller photo too, for a plain post.
        try {
          var dt = new DataTransfer();
          dt.items.add(new File([photoBlob], "photo.jpg", {type: "image/jpeg"}));
          photoInput.files = dt.files;
        } catch (e) {}
        save();
      }).catch(function () {
        // Not something the browser can draw: the server judges it.
        save();
      });
    });
  }

  // --- sending, and sending again ------------------------------------------

  var sending = false;
  var timer = 0;
  var delay = 5000;

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(send, delay);
    delay = Math.min(delay * 2, 60000);
  }

  function finish() {
    sending = false;
    if (sendBtn) {
      sendBtn.disabled = false;
    }
  }

  // A form whose token went stale (the phone kept the page for a long
  // time) gets a fresh token from the page it came from, once.
  function refreshToken() {
    return fetch(location.pathname, {credentials: "same-origin", cache: "no-store"}).then(function (r) {
      if (r.redirected && /^\/login/.test(new URL(r.url).pathname)) {
        throw new Error("signed out");
      }
      return r.text();
    }).then(function (html) {
      var m = /name="csrf_token" value="([^"]+)"/.exec(html);
      if (!m) {
        throw new Error("no token");
      }
      var t = document.createElement("textarea");
      t.innerHTML = m[1];
      form.querySelector('input[name="csrf_token"]').value = t.value;
    });
  }

  var triedToken = false;

  function send() {
    if (sending) {
      return;
    }
    clearTimeout(timer);
    sending = true;
    if (sendBtn) {
      sendBtn.disabled = true;
    }
    draft.pending = true;
    save();
    say(text("sending"), false);
    var body = new FormData(form);
    if (photoBlob) {
      body.set("photo", photoBlob, "photo.jpg");
    }
    fetch(form.action, {method: "POST", body: body, credentials: "same-origin"}).then(function (r) {
      var path = new URL(r.url).pathname;
      if (r.ok && new RegExp(form.getAttribute("data-done")).test(path)) {
        clear();
        location.assign(r.url);
        return;
      }
      if (r.ok && /^\/login/.test(path)) {
        draft.pending = false;
        save();
        say(text("signin"), false);
        location.assign("/login?next=" + encodeURIComponent(location.pathname));
        return;
      }
      finish();
      if (r.status === 403 && !triedToken) {
        triedToken = true;
        return refreshToken().then(send, function () {
          say(text("signin"), false);
          location.assign("/login?next=" + encodeURIComponent(location.pathname));
        });
      }
      if (r.status === 502 || r.status === 503 || r.status === 504) {
        say(text("retrying"), true);
        schedule();
        return;
      }
      if (r.status === 422 || r.status === 413) {
        // Something to fix: the server's page says what, in words.
        draft.pending = false;
        save();
        form.submit();
        return;
      }
      say(text("failed"), true);
    }, function () {
      // No network: keep everything and try again.
      finish();
      say(text("offline"), true);
      schedule();
    });
  }

  form.addEventListener("submit", function (e) {
    if (!window.fetch || !window.FormData) {
      return;
    }
    e.preventDefault();
    delay = 5000;
    send();
  });
  if (retryBtn) {
    retryBtn.addEventListener("click", function () {
      delay = 5000;
      if (form.reportValidity()) {
        send();
      }
    });
  }
  window.addEventListener("online", function () {
    if (draft.pending && !sending && timer) {
      delay = 5000;
      send();
    }
  });
})();
