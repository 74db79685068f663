// The projector's live results: poll the small results.json; when its version changes, fetch the
// server-rendered live part and swap it in. Served by triops itself (CSP 'self'), no library.
(function () {
  "use strict";
  var root = document.getElementById("projector");
  var live = document.getElementById("live");
  if (!root || !live) { return; }
  var version = null;
  function tick() {
    fetch(root.dataset.results, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { return null; }
        if (version !== null && data.version === version) { return null; }
        var first = version === null;
        version = data.version;
        if (first) { return null; }
        return fetch(root.dataset.live, { credentials: "same-origin", cache: "no-store" })
          .then(function (r) { return r.ok ? r.text() : null; })
          .then(function (html) { if (html !== null) { live.innerHTML = '<h2 id="h-live" class="visually-hidden">Live results</h2>' + html; } });
      })
      .catch(function () { /* a missed poll is retried on the next tick */ })
      .then(function () { window.setTimeout(tick, 1500); });
  }
  tick();
})();
