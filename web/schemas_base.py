"""What every response schema is built from: an object with exactly its fields, pages, amounts, times."""
from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Stroops = Annotated[int, Field(description="an amount in stroops (1 KALE or XLM = 10^7)")]
Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
Address = Annotated[str, Field(description="a Stellar account address (G...)")]


class Out(BaseModel):
    """A response object: exactly these fields."""

    model_config = ConfigDict(extra="forbid")


class Pagination(Out):
    total: int
    limit: int
    offset: int
