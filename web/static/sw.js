// sw.js: the service worker of shequ's resident pages. The server serves
// it at /sw.js (pages_resident.go) with __VERSION__ replaced by the build's
// asset version, so each build installs afresh and drops the old cache.
//
// It keeps what a resident needs when the network is gone: the last home
// page they saw (the news, their matters, the office's number), the form
// to report a problem (resident-app.js keeps the draft and sends it when
// the network is back), and an offline page with the office's number.
// Everything else goes to the network as usual. Writes are never cached.
"use strict";

var VERSION = "__VERSION__";
var CACHE = "shequ-" + VERSION;
var OFFLINE = "/offline";
// Pages kept as last seen; each says so with data-offline-keep.
var KEPT = ["/", "/my/matters/new"];
var ASSETS = [
  "/static/app.css?v=" + VERSION,
  "/static/resident-app.js?v=" + VERSION,
  "/static/htmx.min.js?v=" + VERSION,
  "/static/nav.js?v=" + VERSION,
  "/static/icon.svg?v=" + VERSION
];

self.addEventListener("install", function (e) {
  e.waitUntil(caches.open(CACHE).then(function (c) {
    return c.addAll([OFFLINE].concat(ASSETS));
  }).then(function () {
    return self.skipWaiting();
  }));
});

self.addEventListener("activate", function (e) {
  e.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) {
      return k.indexOf("shequ-") === 0 && k !== CACHE;
    }).map(function (k) {
      return caches.delete(k);
    }));
  }).then(function () {
    return self.clients.claim();
  }));
});

// keep stores a page as last seen, if it is one to keep: a page for
// someone signed in, not the sign-in page it may have been sent to.
function keep(path, resp) {
  return resp.text().then(function (html) {
    if (html.indexOf("data-offline-keep") < 0) {
      return;
    }
    return caches.open(CACHE).then(function (c) {
      return c.put(path, new Response(html, {headers: {"Content-Type": "text/html; charset=utf-8"}}));
    });
  });
}

// forget drops the kept pages: they belong to the session that ends.
function forget() {
  return caches.open(CACHE).then(function (c) {
    return Promise.all(KEPT.map(function (p) { return c.delete(p); }));
  });
}

// A page asks for the offline page in its own language and text size
// (resident-app.js); it is kept under /offline.
self.addEventListener("message", function (e) {
  var want = e.data && e.data.offline;
  if (typeof want !== "string" || want.indexOf("/offline?") !== 0) {
    return;
  }
  e.waitUntil(fetch(want, {credentials: "same-origin"}).then(function (resp) {
    if (!resp.ok) {
      return;
    }
    return caches.open(CACHE).then(function (c) {
      return c.put(OFFLINE, resp);
    });
  }).catch(function () {}));
});

self.addEventListener("fetch", function (e) {
  var req = e.request;
  var url = new URL(req.url);
  if (url.origin !== self.location.origin) {
    return;
  }
  if (req.method === "POST" && url.pathname === "/logout") {
    e.waitUntil(forget());
    return;
  }
  if (req.method !== "GET") {
    return;
  }
  if (req.mode === "navigate") {
    var kept = KEPT.indexOf(url.pathname) >= 0;
    e.respondWith(fetch(req).then(function (resp) {
      if (kept && resp.ok && new URL(resp.url).pathname === url.pathname) {
        e.waitUntil(keep(url.pathname, resp.clone()));
      } else if (resp.ok && new URL(resp.url).pathname === "/login") {
        e.waitUntil(forget());
      }
      return resp;
    }).catch(function () {
      return caches.open(CACHE).then(function (c) {
        return (kept ? c.match(url.pathname) : Promise.resolve(undefined)).then(function (r) {
          return r || c.match(OFFLINE);
        });
      });
    }));
    return;
  }
  if (url.pathname.indexOf("/static/") === 0) {
    e.respondWith(caches.match(req).then(function (r) {
      return r || fetch(req);
    }));
  }
});
