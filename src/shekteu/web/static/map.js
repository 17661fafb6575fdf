// The dashboard map: district outlines, zones and graffiti spots from the JSON API, drawn with the
// vendored Leaflet. Every text from the data goes in with textContent, never as HTML.
(function () {
  "use strict";
  var el = window.ShekteuMap.el, getJSON = window.ShekteuMap.getJSON;
  function spotPopup(p) {
    var box = el("div", null, "popup");
    box.appendChild(el("strong", "#" + p.id + " " + p.status));
    box.appendChild(el("div", (p.indicators || []).join(", ")));
    box.appendChild(el("div", [p.district, p.zone].filter(Boolean).join(" · ")));
    var link = el("a", "→");
    link.href = "/dash/board#spot-" + encodeURIComponent(p.id);
    box.appendChild(link);
    return box;
  }
  function sitePopup(p) {
    var box = el("div", null, "popup");
    box.appendChild(el("strong", "#" + p.id + " " + p.status + ", " + p.hectares + " ha"));
    box.appendChild(el("div", [p.district, p.kato, p.date].filter(Boolean).join(" · ")));
    box.appendChild(el("div", "NDVI " + p.ndvi + " · " + p.method));
    return box;
  }
  function start() {
    var box = document.getElementById("map");
    if (!box || !window.L) { return; }
    var map = L.map(box, { preferCanvas: false }).setView([48.0, 67.0], 5);
    var tiles = box.dataset.tiles;
    if (tiles) { L.tileLayer(tiles, { maxZoom: 19, attribution: box.dataset.attribution || "" }).addTo(map); }
    var overlays = {};
    var layers = L.control.layers(null, overlays).addTo(map);
    getJSON("/api/districts").then(function (data) {
      var layer = L.geoJSON(data, { style: { color: "#777", weight: 1, fill: false, className: "district" },
        onEachFeature: function (f, l) { l.bindTooltip(el("span", f.properties.name + " (" + f.properties.kato + ")")); } });
      layer.addTo(map); layer.bringToBack();
      layers.addOverlay(layer, box.dataset.labelDistricts);
    }).catch(function () {});
    getJSON("/api/zones").then(function (data) {
      var layer = L.geoJSON(data, { style: { color: "#2a6", weight: 2, fillOpacity: 0.08, className: "zone" },
        onEachFeature: function (f, l) { l.bindTooltip(el("span", f.properties.name)); } });
      layer.addTo(map);
      layers.addOverlay(layer, box.dataset.labelZones);
    }).catch(function () {});
    getJSON("/api/field/sites").then(function (data) {
      var layer = L.geoJSON(data, {
        style: function (f) { return { weight: 2, fillOpacity: 0.35, className: "field field-" + f.properties.status }; },
        onEachFeature: function (f, l) { l.bindPopup(sitePopup(f.properties)); }
      }).addTo(map);
      layers.addOverlay(layer, box.dataset.labelField);
      box.dataset.fieldLoaded = String(data.features.length);
    }).catch(function () {});
    getJSON("/api/spots").then(function (data) {
      var layer = L.geoJSON(data, {
        pointToLayer: function (f, latlng) {
          return L.circleMarker(latlng, { radius: 7, weight: 2, fillOpacity: 0.85,
            className: "spot spot-" + f.properties.status + (f.properties.overdue ? " overdue" : "") });
        },
        onEachFeature: function (f, l) { l.bindPopup(spotPopup(f.properties)); }
      }).addTo(map);
      layers.addOverlay(layer, box.dataset.labelSpots);
      if (data.features.length) { map.fitBounds(layer.getBounds(), { maxZoom: 16, padding: [30, 30] }); }
      box.dataset.loaded = String(data.features.length);
    }).catch(function (e) { box.dataset.error = String(e); });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
