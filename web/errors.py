"""The API's one error shape, `{"error": {"code", "message"}}`, for every failure."""
from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from chain.rpc import RpcUnavailable
from db.connection import DATABASE_UNAVAILABLE

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5  # what an outage answer tells the caller to wait before trying again

# werkzeug's HTTP errors, by status, as our snake_case codes
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "not_json",
    429: "rate_limited",
}


class ApiError(Exception):
    """A request the API refuses: HTTP status, error code and a message naming the cause."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    """A JSON error response."""
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def unavailable(code: str, message: str) -> Response:
    """503 with Retry-After: the request was fine, a service it needs is down for now."""
    return error_response(503, code, message, {"Retry-After": str(RETRY_AFTER_SECONDS)})


def register_error_handlers(app: Flask) -> None:
    """Make every error, ours or werkzeug's or unexpected, answer in the one shape."""

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError) -> Response:
        return error_response(exc.status, exc.code, exc.message, exc.headers)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        message = {413: f"request body larger than {app.config.get('MAX_CONTENT_LENGTH')} bytes",
                   404: "no such endpoint",
                   405: "method not allowed on this endpoint"}.get(status, exc.description or exc.name)
        response = error_response(status, _HTTP_CODES.get(status, "http_error"), message)
        if status == 405 and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    def database_down(exc: Exception) -> Response:
        log.warning("database unavailable: %s", type(exc).__name__)
        return unavailable("database_unavailable", "the database is unavailable; try again shortly")

    for kind in DATABASE_UNAVAILABLE:
        app.register_error_handler(kind, database_down)

    @app.errorhandler(RpcUnavailable)
    def rpc_down(exc: RpcUnavailable) -> Response:
        log.warning("RPC unavailable: %s", exc)
        return unavailable("rpc_unavailable", "the Stellar RPC is unavailable; try again shortly")

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        log.error("unhandled %s in request", type(exc).__name__, exc_info=exc)
        return error_response(500, "internal_error", "internal error; it has been logged")
