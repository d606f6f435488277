"""The pages reach the JSON API and nothing else: each call is dispatched inside this process
through the API's own routes (authentication, validation, rate limits), with the session's token."""
from __future__ import annotations

from typing import Any

from flask import Response, current_app, request

from web.api import API_PREFIX


def call_api(method: str, path: str, token: str | None, body: Any = None,
             query_string: str = "") -> Response:
    """The API's response to `method` `path` (under /api/v1) as `token`, from this request's client address."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    client = current_app.test_client(use_cookies=False)
    return client.open(API_PREFIX + path, method=method, headers=headers, json=body,
                       query_string=query_string,
                       environ_base={"REMOTE_ADDR": request.remote_addr or "127.0.0.1"})


def relay(answer: Response) -> Response:
    """The API's answer as this request's response (status, body and content headers)."""
    kept = {name: value for name, value in answer.headers.items()
            if name in ("Content-Type", "Content-Disposition", "Retry-After", "WWW-Authenticate")}
    return Response(answer.get_data(), status=answer.status_code, headers=kept)
