"""The interactive API documentation at /api/v1/docs: Swagger UI from the pinned swagger-ui-bundle
package, served by this app (no CDN), reading /api/v1/openapi.json. It works with no internet."""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, send_from_directory
from swagger_ui_bundle import swagger_ui_path

from web.api import API_PREFIX

blueprint = Blueprint("docs", __name__)
HERE = Path(__file__).parent / "docs_static"
VENDOR_FILES = ("swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png")  # all the page needs of it
CACHE_SECONDS = 86_400

PAGE = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>kalepool API</title>
<link rel="stylesheet" href="{API_PREFIX}/docs/static/swagger-ui.css">
<link rel="icon" type="image/png" href="{API_PREFIX}/docs/static/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui" data-spec="{API_PREFIX}/openapi.json"></div>
<script src="{API_PREFIX}/docs/static/swagger-ui-bundle.js"></script>
<script src="{API_PREFIX}/docs/static/docs.js"></script>
</body>
</html>
"""


@blueprint.get("/docs")
def docs_page() -> Response:
    return Response(PAGE, content_type="text/html; charset=utf-8")


@blueprint.get("/docs/static/<name>")
def docs_static(name: str) -> Response:
    """Swagger UI's script, style and icon, and the page's own script; nothing else of the bundle."""
    folder = str(swagger_ui_path) if name in VENDOR_FILES else str(HERE)
    return send_from_directory(folder, name, max_age=CACHE_SECONDS)
