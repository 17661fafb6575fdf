// The dashboard map: district outlines, zones and graffiti spots from the JSON API, drawn with the
// vendored Leaflet. Every text from the data goes in with textContent, never as HTML.
(function () {
  "use strict";
  var el = window.ShekteuMap.el, getJSON = window.ShekteuMap.getJSON;
  var WORDS = {};  // status names in the page's language, from the legend (data-word on each entry)
  document.querySelectorAll("[data-word]").forEach(function (n) { WORDS[n.dataset.word] = n.textContent.trim(); });
  function spotPopup(p) {
    var box = el("div", null, "popup");
    box.appendChild(el("strong", "#" + p.id + " " + (WORDS[p.status] || p.status)));
    box.appendChild(el("div", (p.indicators || []).join(", ")));
    box.appendChild(el("div", [p.district, p.zone].filter(Boolean).join(" · ")));
    var link = el("a", "→");
    link.href = "/dash/board#spot-" + encodeURIComponent(p.id);
    box.appendChild(link);
    return box;
  }
  function sitePopup(p) {
    var box = el("div", null, "popup");
    box.appendChild(el("strong", "#" + p.id + " " + (WORDS[p.status] || p.status) + ", " + p.hectares + " ha"));
    box.appendChild(el("div", [p.district, p.kato, p.date].filter(Boolean).join(" · ")));
    box.appendChild(el("div", "NDVI " + p.ndvi + " · " + p.method));
    if (p.regrowth_of) { box.appendChild(el("div", (WORDS.regrowth || "green again on destroyed site") + " #" + p.regrowth_of, "regrowth")); }
    var classes = ["dense", "sparse", "isolated"].filter(function (c) { return p["hectares_" + c] != null; });
    if (classes.length) {
      box.appendChild(el("div", classes.map(function (c) { return (WORDS[c] || c) + " " + p["hectares_" + c] + " ha"; }).join(" · ")));
    }
    return box;
  }
  // Names in the page's language: district and place properties carry ru (name), kk and en.
  function named(p, lang) { return (lang === "kk" && p.name_kk) || (lang === "en" && p.name_en) || p.name; }
  var COUNTRY = [[40.5, 46.5], [55.5, 87.4]];  // Kazakhstan, south-west to north-east
  function start() {
    var box = document.getElementById("map");
    if (!box || !window.L) { return; }
    var lang = box.dataset.lang || "ru";
    var map = L.map(box, { preferCanvas: false, zoomSnap: 0.25 });
    map.fitBounds(COUNTRY);
    box.dataset.view = map.getBounds().toBBoxString();  // west,south,east,north: the whole country
    var tiles = box.dataset.tiles;
    if (tiles) { L.tileLayer(tiles, { maxZoom: 19, attribution: box.dataset.attribution || "" }).addTo(map); }
    var overlays = {};
    var layers = L.control.layers(null, overlays).addTo(map);
    getJSON("/api/districts").then(function (data) {
      var layer = L.geoJSON(data, { style: { color: "#777", weight: 1, fill: false, className: "district" },
        onEachFeature: function (f, l) { l.bindTooltip(el("span", named(f.properties, lang) + " (" + f.properties.kato + ")")); } });
      layer.addTo(map); layer.bringToBack();
      layers.addOverlay(layer, box.dataset.labelDistricts);
    }).catch(function () {});
    getJSON("/api/places").then(function (data) {
      var layer = L.geoJSON(data, {
        pointToLayer: function (f, latlng) {
          return L.circleMarker(latlng, { radius: 3, weight: 1, fillOpacity: 1, className: "place" })
            .bindTooltip(el("span", named(f.properties, lang)), { permanent: true, direction: "right", className: "place-label" });
        }
      });
      var towns = L.geoJSON({ type: "FeatureCollection", features: data.features.filter(function (f) { return f.properties.rank > 1; }) },
        { pointToLayer: layer.options.pointToLayer });
      layer = L.geoJSON({ type: "FeatureCollection", features: data.features.filter(function (f) { return f.properties.rank === 1; }) },
        { pointToLayer: layer.options.pointToLayer }).addTo(map);
      function showTowns() { if (map.getZoom() >= 7) { towns.addTo(map); } else { towns.remove(); } }
      map.on("zoomend", showTowns); showTowns();
      layers.addOverlay(layer, box.dataset.labelPlaces);
      box.dataset.placesLoaded = String(data.features.length);
    }).catch(function () {});
    getJSON("/api/zones").then(function (data) {
      var layer = L.geoJSON(data, { style: { color: "#2a6", weight: 2, fillOpacity: 0.08, className: "zone" },
        onEachFeature: function (f, l) { l.bindTooltip(el("span", f.properties.name)); } });
      layer.addTo(map);
      layers.addOverlay(layer, box.dataset.labelZones);
    }).catch(function () {});
    getJSON("/api/field/sites").then(function (data) {
      var layer = L.geoJSON(data, {
        style: function (f) {
          var regrowth = f.properties.regrowth_of ? " field-regrowth" : "";
          return { weight: 2, fillOpacity: 0.35, className: "field field-" + f.properties.status + regrowth };
        },
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
      box.dataset.loaded = String(data.features.length);  // the whole country stays in view; zoom in to a spot
    }).catch(function (e) { box.dataset.error = String(e); });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
