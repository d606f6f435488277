"""The web app for farmers, poolers and auditors, served by the API's Flask app on top of the JSON API."""
from __future__ import annotations

from flask import Flask

from web.pages.security import secure_headers
from web.pages.views import blueprint


def register_pages(app: Flask) -> None:
    """Mount the pages and give every response its security (and, on the API, CORS) headers."""
    app.register_blueprint(blueprint)
    app.after_request(secure_headers)
