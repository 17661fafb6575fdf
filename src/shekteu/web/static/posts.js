// The checkpoint-plan page: flows drawn on the roads (width by share), the numbered posts, the sources
// and the ways out. Every text from the data goes in with textContent, never as HTML.
(function () {
  "use strict";
  var el = window.ShekteuMap.el, getJSON = window.ShekteuMap.getJSON;
  function start() {
    var box = document.getElementById("map");
    if (!box || !window.L) { return; }
    var base = window.ShekteuMap.withDistricts(box, [43.6, 73.8], 7), map = base.map, layers = base.layers;
    getJSON("/api/posts/plans/" + encodeURIComponent(box.dataset.plan)).then(function (data) {
      var kind = function (k) { return data.features.filter(function (f) { return f.properties.kind === k; }); };
      var top = Math.max.apply(null, kind("flow").map(function (f) { return f.properties.share; }).concat([0.001]));
      var flows = L.geoJSON({ type: "FeatureCollection", features: kind("flow") }, {
        style: function (f) { return { color: "#e07b00", weight: 1 + 9 * f.properties.share / top, opacity: 0.8, className: "flow" }; },
        onEachFeature: function (f, l) { l.bindTooltip(el("span", (f.properties.road || "") + " " + (100 * f.properties.share).toFixed(1) + " %")); }
      }).addTo(map);
      var sources = L.geoJSON({ type: "FeatureCollection", features: kind("source") }, {
        pointToLayer: function (f, ll) { return L.circleMarker(ll, { radius: 4, color: "#1e7a1e", fillOpacity: 0.8, className: "source" }); },
        onEachFeature: function (f, l) { l.bindTooltip(el("span", f.properties.name)); }
      }).addTo(map);
      var outs = kind("destination").filter(function (f) { return f.properties.type !== "settlement"; });
      var dests = L.geoJSON({ type: "FeatureCollection", features: outs }, {
        pointToLayer: function (f, ll) { return L.circleMarker(ll, { radius: 5, color: "#2850c8", fillOpacity: 0.8, className: "outlet" }); },
        onEachFeature: function (f, l) { l.bindTooltip(el("span", f.properties.name)); }
      }).addTo(map);
      var posts = L.geoJSON({ type: "FeatureCollection", features: kind("post") }, {
        pointToLayer: function (f, ll) {
          return L.marker(ll, { icon: L.divIcon({ className: "post-mark", html: "", iconSize: [24, 24] }) });
        },
        onEachFeature: function (f, l) {
          var p = f.properties, card = el("div", null, "popup");
          card.appendChild(el("strong", box.dataset.labelPost + " " + p.n));
          card.appendChild(el("div", p.road || ""));
          card.appendChild(el("div", (100 * p.intercepted).toFixed(1) + " %"));
          l.bindPopup(card);
          l.on("add", function () { var node = l.getElement(); if (node) { node.textContent = String(p.n); } });
        }
      }).addTo(map);
      layers.addOverlay(posts, box.dataset.labelPosts);
      layers.addOverlay(flows, box.dataset.labelFlows);
      layers.addOverlay(sources, box.dataset.labelSources);
      layers.addOverlay(dests, box.dataset.labelDestinations);
      var bounds = flows.getBounds().extend(posts.getBounds());
      if (bounds.isValid()) { map.fitBounds(bounds, { padding: [30, 30] }); }
      box.dataset.loaded = String(kind("post").length);
    }).catch(function (e) { box.dataset.error = String(e); });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
