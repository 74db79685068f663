// The Wardley editor's live preview: after a pause in typing, post the text and swap in the drawn map.
// Served by triops itself (CSP 'self'); without it the Draw button does the same by a normal form post.
(function () {
  "use strict";
  var form = document.getElementById("wardley-form");
  var preview = document.getElementById("preview");
  var text = document.getElementById("owm");
  if (!form || !preview || !text) { return; }
  var timer = null;
  var sent = 0;
  function draw() {
    var mine = ++sent;
    fetch(form.dataset.preview, { method: "POST", body: new FormData(form), credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html !== null && mine === sent) { preview.innerHTML = html; } })
      .catch(function () { /* the Draw button still works */ });
  }
  text.addEventListener("input", function () {
    if (timer !== null) { window.clearTimeout(timer); }
    timer = window.setTimeout(draw, 500);
  });
})();
