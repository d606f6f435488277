"""Response schemas (pydantic): what each answer holds, named by the endpoints and described in the
OpenAPI document. Every model forbids unknown fields, so a response that gains, loses or retypes a
field no longer matches its documented schema (tests/test_api_response_schemas.py checks real
responses against it). Amounts are integer stroops; times are RFC 3339 in UTC."""
from __future__ import annotations

from types import ModuleType

from pydantic import BaseModel

from web import schemas_farmers, schemas_pool


def _models(*modules: ModuleType) -> dict[str, type[BaseModel]]:
    """The pydantic models defined in `modules`, by class name (the name endpoints use)."""
    return {name: value for module in modules for name, value in vars(module).items()
            if isinstance(value, type) and issubclass(value, BaseModel) and value.__module__ == module.__name__
            and value.__name__ == name}


RESPONSE_MODELS = _models(schemas_farmers, schemas_pool)
