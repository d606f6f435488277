"""Headers every response carries: a content security policy and friends, and CORS on the JSON
API for the origins the operator allows (none by default)."""
from __future__ import annotations

from flask import Response, request

from web.api import API_PREFIX
from web.services import services

CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; "
                           "base-uri 'none'")
_HEADERS = {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"}
CORS_MAX_AGE_SECONDS = 600


def secure_headers(response: Response) -> Response:
    """Add the security headers, and CORS headers when an allowed origin calls the API."""
    for name, value in _HEADERS.items():
        response.headers.setdefault(name, value)
    if request.path.startswith(API_PREFIX + "/"):
        _cors(response)
    return response


def _cors(response: Response) -> None:
    response.vary.add("Origin")
    origin = request.headers.get("Origin")
    if origin is None or origin not in services().settings.cors_origins:
        return
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Expose-Headers"] = "Location, Retry-After"
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, PATCH, DELETE"
        response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
        response.headers["Access-Control-Max-Age"] = str(CORS_MAX_AGE_SECONDS)
