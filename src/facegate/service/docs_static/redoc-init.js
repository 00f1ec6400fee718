// facegate: start ReDoc on the spec named by the page (no inline script, so the CSP holds).
"use strict";
window.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("redoc");
  Redoc.init(root.dataset.openapi, { disableSearch: false }, root);
});
