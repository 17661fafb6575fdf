// What the dashboard's map pages share: making elements whose text from the data goes in with
// textContent (never as HTML), and reading the JSON API with the session cookie.
(function () {
  "use strict";
  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    if (cls) { node.className = cls; }
    return node;
  }
  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(url + ": " + r.status); } return r.json(); });
  }
  window.ShekteuMap = { el: el, getJSON: getJSON };
})();
