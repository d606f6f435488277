"""Declaring an endpoint once: its route, who may call it, its body, query and response schemas.

`operation(...)` registers the Flask route and records an `Operation`, from
which web.openapi describes the API, so the description cannot drift from what
the endpoints enforce. The wrapper authenticates first, then validates input,
and hands the view `principal`, `body` and `query` as keyword arguments.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from flask import Blueprint, current_app

from web.auth import bearer_token, require
from web.schemas import RESPONSE_MODELS
from web.validation import Query, json_body, query_args

API_PREFIX = "/api/v1"


class NoQuery(Query):
    """No query parameters."""


@dataclass(frozen=True)
class Operation:
    """One endpoint as the API promises it."""

    method: str
    rule: str
    name: str
    summary: str
    tag: str
    roles: tuple[str, ...] | None
    body: str | None
    query: str | None
    responses: dict[int, str] = field(default_factory=dict)
    status: int = 200
    produces: str = "application/json"
    models: dict[int, str] = field(default_factory=dict)

    @property
    def path(self) -> str:
        """The OpenAPI path: `/api/v1/farmers/{farmer_id}` for `/farmers/<int:farmer_id>`."""
        return API_PREFIX + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", self.rule)

    @property
    def path_parameters(self) -> list[str]:
        return re.findall(r"<(?:\w+:)?(\w+)>", self.rule)


OPERATIONS: list[Operation] = []


def operation(blueprint: Blueprint, method: str, rule: str, summary: str, *, tag: str,
              roles: tuple[str, ...] | None = None, body: str | None = None, query: str | None = None,
              responses: dict[int, str] | None = None, status: int = 200,
              produces: str = "application/json",
              response: str | dict[int, str] | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register `view` at `rule` on `blueprint`; `body`/`query` name schemas of web.validation.Schemas,
    `status` is the success status and `produces` its content type; `response` names the model (in
    web.schemas*) of the success body, or maps statuses to models when several statuses have a body."""
    models = response if isinstance(response, dict) else {status: response} if response else {}
    unknown = set(models.values()) - set(RESPONSE_MODELS)
    if unknown:
        raise ValueError(f"{rule}: no response model named {', '.join(sorted(unknown))}")

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        OPERATIONS.append(Operation(method, rule, view.__name__, summary, tag, roles, body, query,
                                    responses or {}, status, produces, models))

        @functools.wraps(view)
        def handler(**path: Any) -> Any:
            arguments = dict(path)
            token = bearer_token()
            if roles is not None:
                arguments["principal"] = require(token, roles)
            schemas = current_app.extensions["kalepool"].schemas
            if query is not None:
                arguments["query"] = query_args(getattr(schemas, query))
            else:
                query_args(NoQuery)
            if body is not None:
                arguments["body"] = json_body(getattr(schemas, body))
            return view(**arguments)

        blueprint.add_url_rule(rule, endpoint=view.__name__, view_func=handler, methods=[method])
        return view

    return decorate
