// The sensors page: sensors (and field sites) on the map, and the alert list refreshed every 10 s.
// Every text from the data goes in with textContent, never as HTML.
(function () {
  "use strict";
  var el = window.ShekteuMap.el, getJSON = window.ShekteuMap.getJSON;
  var openSites = {};
  var markers = [];
  function paint() {
    markers.forEach(function (m) {
      var alarmed = !!openSites[m.siteKey];
      m.setStyle({ className: "sensor" });
      if (m._path) { m._path.setAttribute("class", "leaflet-interactive sensor " + (alarmed ? "alert-open" : (m.muted ? "sensor-muted" : "sensor-ok"))); }
    });
  }
  function refreshAlerts() {
    var table = document.getElementById("seismic-alerts");
    if (!table) { return; }
    getJSON("/api/seismic/alerts?limit=100").then(function (rows) {
      openSites = {};
      rows.forEach(function (a) { if (a.state === "open") { openSites[a.site_key] = a; } });
      var known = {};
      Array.prototype.forEach.call(table.tBodies[0].rows, function (tr) { known[tr.dataset.id] = true; });
      var fresh = rows.filter(function (a) { return !known[String(a.id)]; });
      if (fresh.length) { table.dataset.fresh = String(fresh.length); window.location.reload(); return; }
      table.dataset.polled = String(rows.length);
      paint();
    }).catch(function (e) { table.dataset.error = String(e); });
  }
  function start() {
    var box = document.getElementById("map");
    if (!box || !window.L) { return; }
    var base = window.ShekteuMap.withDistricts(box, [43.6, 73.8], 8), map = base.map, layers = base.layers;
    getJSON("/api/field/sites").then(function (data) {
      var layer = L.geoJSON(data, { style: { weight: 2, fillOpacity: 0.3, className: "field" } }).addTo(map);
      layers.addOverlay(layer, box.dataset.labelField);
    }).catch(function () {});
    getJSON("/api/seismic/sensors").then(function (data) {
      var layer = L.geoJSON(data, {
        pointToLayer: function (f, latlng) {
          var m = L.circleMarker(latlng, { radius: 8, weight: 2, fillOpacity: 0.9, className: "sensor sensor-ok" });
          m.siteKey = f.properties.site_key; m.muted = f.properties.muted; markers.push(m);
          return m;
        },
        onEachFeature: function (f, l) {
          var box2 = el("div", null, "popup");
          box2.appendChild(el("strong", f.properties.seed_id));
          var a = el("a", f.properties.site_key);
          a.href = "/dash/sensors/site?site=" + encodeURIComponent(f.properties.site_key);
          box2.appendChild(el("div")).appendChild(a);
          l.bindPopup(box2);
        }
      }).addTo(map);
      layers.addOverlay(layer, box.dataset.labelSensors);
      if (data.features.length) { map.fitBounds(layer.getBounds(), { maxZoom: 15, padding: [40, 40] }); }
      box.dataset.loaded = String(data.features.length);
      refreshAlerts();
    }).catch(function (e) { box.dataset.error = String(e); });
    setInterval(refreshAlerts, 10000);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
