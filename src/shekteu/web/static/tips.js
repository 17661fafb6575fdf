// The tips queue: "tick all" ticks every row's box (for the bulk change below the filters).
(function () {
  "use strict";
  function start() {
    var all = document.getElementById("tick-all");
    if (!all) { return; }
    all.addEventListener("change", function () {
      document.querySelectorAll("input[name=ticket]").forEach(function (box) { box.checked = all.checked; });
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
