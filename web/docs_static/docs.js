// Starts Swagger UI on the API's OpenAPI document (a file of its own: the content security policy
// allows no inline script).
"use strict";
(function () {
  const root = document.getElementById("swagger-ui");
  fetch(root.dataset.spec).then((response) => response.json()).then((spec) => {
    // Swagger UI 4.15.5 (the newest swagger-ui-bundle) renders OpenAPI 3.0.x documents only. This
    // document is 3.1; the few JSON Schema words of its schemas that 3.0 lacks (null as a type,
    // const) Swagger UI shows as written, so the page hands it over labelled 3.0.3. The document
    // itself stays 3.1.
    spec.openapi = "3.0.3";
    window.ui = SwaggerUIBundle({spec: spec, dom_id: "#swagger-ui", deepLinking: true});
  });
})();
