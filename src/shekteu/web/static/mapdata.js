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
  // A map in ``box`` with the district outlines behind everything and an (empty) layer switcher.
  function withDistricts(box, center, zoom) {
    var map = L.map(box).setView(center, zoom);
    var layers = L.control.layers(null, {}).addTo(map);
    getJSON("/api/districts").then(function (data) {
      var layer = L.geoJSON(data, { style: { color: "#777", weight: 1, fill: false, className: "district" },
        onEachFeature: function (f, l) { l.bindTooltip(el("span", f.properties.name)); } });
      layer.addTo(map); layer.bringToBack();
    }).catch(function () {});
    return { map: map, layers: layers };
  }
  window.ShekteuMap = { el: el, getJSON: getJSON, withDistricts: withDistricts };
})();
