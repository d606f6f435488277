"""The OpenAPI 3.1 description of every endpoint, derived from web.api's operations, the pydantic
schemas the endpoints validate with (one source for both) and the response models they name."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from web import __version__
from web.api import OPERATIONS, NoQuery, Operation
from web.schemas import RESPONSE_MODELS
from web.validation import Schemas

REF = "#/components/schemas/{model}"
ERROR_SCHEMA = {
    "type": "object", "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["code", "message"],
                             "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}},
}


def _error(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": REF.format(model="Error")}}}}


def _body(op: Operation, status: int, description: str) -> dict[str, Any]:
    """A response with a body: the model the operation names for `status`, or text."""
    model = op.models.get(status)
    schema = {"$ref": REF.format(model=model)} if model else {"type": "string"}
    return {"description": description, "content": {op.produces: {"schema": schema}}}


def _responses(op: Operation) -> dict[str, Any]:
    responses = {str(op.status): _body(op, op.status, op.responses.get(op.status, "success"))}
    for status, description in op.responses.items():
        if status in op.models or status < 300:
            responses[str(status)] = _body(op, status, description)
        elif status >= 400:
            responses[str(status)] = _error(description)
    responses["400"] = _error("invalid input: the message names the field")
    if op.roles:
        responses["401"] = _error("no valid bearer token")
        responses["403"] = _error(f"a token of another role (this is for: {', '.join(op.roles)})")
    if op.body:
        responses["413"] = _error("the body is too large")
        responses["415"] = _error("the body is not JSON")
    if op.path_parameters:
        responses["404"] = _error("not found, or not visible to this token")
    responses["429"] = {**_error("rate limited; see Retry-After"),
                        "headers": {"Retry-After": {"schema": {"type": "integer"}}}}
    return responses


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    return [{"name": name, "in": "query", "required": name in required,
             "schema": {key: value for key, value in prop.items() if key not in ("title", "default")}}
            for name, prop in schema.get("properties", {}).items()]


def _operation(op: Operation, schemas: Schemas) -> dict[str, Any]:
    query_model = getattr(schemas, op.query) if op.query else NoQuery
    spec: dict[str, Any] = {
        "operationId": op.name,
        "summary": op.summary,
        "tags": [op.tag],
        "parameters": [{"name": name, "in": "path", "required": True,
                        "schema": {"type": "integer", "minimum": 0}} for name in op.path_parameters]
        + _query_parameters(query_model),
        "responses": _responses(op),
        "security": [{"bearer": []}] if op.roles else [],
    }
    if op.roles:
        spec["description"] = f"Roles: {', '.join(op.roles)}."
    if op.body:
        body_model = getattr(schemas, op.body)
        required = any(field.is_required() for field in body_model.model_fields.values())
        spec["requestBody"] = {"required": required, "content": {"application/json": {
            "schema": {"$ref": REF.format(model=op.body)}}}}
    return spec


def _component_schemas(schemas: Schemas) -> dict[str, Any]:
    """Request schemas, the response models the operations name (and the models inside them), Error."""
    components: dict[str, Any] = {"Error": ERROR_SCHEMA}
    named = {name for op in OPERATIONS for name in op.models.values()}
    models = {**schemas.all(), **{name: RESPONSE_MODELS[name] for name in sorted(named)}}
    for name, model in models.items():
        schema = model.model_json_schema(ref_template=REF)
        for inner, inner_schema in {**schema.pop("$defs", {}), name: {**schema, "title": name}}.items():
            if components.setdefault(inner, inner_schema) != inner_schema:
                raise ValueError(f"two different schemas are named {inner}")
    return components


def openapi_spec(schemas: Schemas) -> dict[str, Any]:
    """The whole description."""
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, schemas)
    return {
        "openapi": "3.1.0",
        "info": {"title": "kalepool API", "version": __version__,
                 "description": "A KALE mining pool on Stellar: farmers, poolers and auditors. "
                                "Amounts are integer stroops. Errors are {\"error\": {\"code\", \"message\"}}."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": _component_schemas(schemas),
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                                      "description": "kpf_ farmer, kpp_ pooler, kpa_ auditor"}}},
    }
