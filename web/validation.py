"""Request schemas (pydantic, strict) and the parsing every endpoint's input goes through.

The same schemas produce the OpenAPI description, so each rule is written once.
Any violation is a 4xx naming the field; nothing is changed.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any, Literal, TypeVar

from flask import request
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, WithJsonSchema
from stellar_sdk import StrKey

from web.errors import ApiError

BIGINT_MAX = 2**63 - 1
MAX_JSON_DEPTH = 32  # far deeper than any schema here; bounds the work of parsing and validating
TOO_DEEP = object()
HISTORY_KINDS = ("planting", "work", "harvest", "payout")


def stellar_account(value: str) -> str:
    try:
        valid = StrKey.is_valid_ed25519_public_key(value)
    except Exception:  # the SDK raises on some malformed input instead of answering False
        valid = False
    if not valid:
        raise ValueError("not a valid Stellar account address (G..., 56 characters, valid checksum)")
    return value


StellarAccount = Annotated[str, AfterValidator(stellar_account), WithJsonSchema({
    "type": "string", "pattern": "^G[A-Z2-7]{55}$", "minLength": 56, "maxLength": 56,
    "description": "a Stellar account address (strkey, checksum verified)"})]
RowId = Annotated[int, Field(ge=1, le=BIGINT_MAX)]
BasisPoints = Annotated[int, Field(ge=0, le=10_000, description="basis points: 10000 = 100 %")]


class Body(BaseModel):
    """A JSON request body: exact types, no unknown fields."""

    model_config = ConfigDict(strict=True, extra="forbid")


class Query(BaseModel):
    """Query-string parameters: text converted to the declared types, no unknown parameters."""

    model_config = ConfigDict(extra="forbid")


class Empty(Body):
    """No parameters."""


class Page(Query):
    limit: Annotated[int, Field(ge=1, le=200)] = 50
    offset: Annotated[int, Field(ge=0, le=1_000_000)] = 0


class HistoryPage(Page):
    kind: Literal[HISTORY_KINDS] = None  # type: ignore[valid-type,assignment]


class LedgerRange(Query):
    """An optional range of ledgers, both ends included."""

    from_ledger: Annotated[int, Field(ge=1, le=2**32 - 1)] | None = None
    to_ledger: Annotated[int, Field(ge=1, le=2**32 - 1)] | None = None


class PlantRequest(Body):
    """Optionally, the block the pooler expects to plant in (the answer says the truth)."""

    block_index: Annotated[int, Field(ge=0, le=2**32 - 1)] | None = None


class WorkReport(Body):
    """The work a pooler submitted; each item is checked (and rejected) on its own."""

    results: Annotated[list[dict[str, Any]], Field(min_length=1, max_length=10_000, json_schema_extra={
        "items": {"type": "object", "required": ["farmer", "block_index", "nonce", "hash"],
                  "properties": {"farmer": {"type": "string"}, "block_index": {"type": "integer"},
                                 "nonce": {"type": "integer"}, "hash": {"type": "string"},
                                 "tx_hash": {"type": "string", "description": (
                                     "the work transaction: the pool reads it from the chain when its "
                                     "record and the pail cannot show the work yet (a resubmission, a "
                                     "pail already harvested)")}}}})]


class PoolerStatus(Body):
    """What a pooler agent reports about itself."""

    agent: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$",
                                description="the agent's name, unique within the pooler")]
    hash_rate: Annotated[int, Field(ge=0, le=10**15, description="hashes per second")]
    block_index: Annotated[int, Field(ge=0, le=2**32 - 1)] | None = None


ChallengeXdr = Annotated[str, Field(min_length=1, max_length=8_192,
                                   description="a SEP-10 challenge transaction (base64 XDR) signed by the "
                                               "account's master key")]


class ChallengeRequest(Body):
    """The account to prove: a farmer's payout address (any account gets a challenge)."""

    account: StellarAccount


class TokenRequest(Body):
    """A challenge signed by a payout address; farmer_id picks one of several farmers sharing it."""

    transaction: ChallengeXdr
    farmer_id: RowId | None = None


class PayoutAddressRequest(Body):
    """The new payout address; transaction: a challenge for the current one, signed by it (without it,
    allowed only when the current address never existed on chain, and delayed)."""

    address: StellarAccount
    transaction: ChallengeXdr | None = None


@dataclass(frozen=True)
class Schemas:
    """The request schemas of one pool (some bounds come from its settings)."""

    FarmerCreate: type[Body]
    FarmerUpdate: type[Body]
    Empty: type[Body] = Empty
    Page: type[Query] = Page
    HistoryPage: type[Query] = HistoryPage
    LedgerRange: type[Query] = LedgerRange
    PlantRequest: type[Body] = PlantRequest
    WorkReport: type[Body] = WorkReport
    PoolerStatus: type[Body] = PoolerStatus
    ChallengeRequest: type[Body] = ChallengeRequest
    TokenRequest: type[Body] = TokenRequest
    PayoutAddressRequest: type[Body] = PayoutAddressRequest

    def all(self) -> dict[str, type[BaseModel]]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@lru_cache(maxsize=8)
def schemas_for(max_harvest_interval_blocks: int, default_harvest_interval_blocks: int) -> Schemas:
    """The schemas for a pool whose harvest interval is bounded by the pails' ~24 h TTL."""
    interval = Annotated[int, Field(ge=1, le=max_harvest_interval_blocks,
                                    description="blocks between harvests (pails expire after ~288 blocks)")]

    class FarmerCreate(Body):
        payout_address: StellarAccount
        pooler_id: RowId
        stake_bps: BasisPoints
        harvest_interval_blocks: interval = default_harvest_interval_blocks  # type: ignore[valid-type]

    class FarmerUpdate(Body):
        """Only the fields present change; pooler_id only while nothing is planted."""

        pooler_id: RowId = None  # type: ignore[assignment]
        stake_bps: BasisPoints = None  # type: ignore[assignment]
        harvest_interval_blocks: interval = None  # type: ignore[assignment,valid-type]

    return Schemas(FarmerCreate=FarmerCreate, FarmerUpdate=FarmerUpdate)


M = TypeVar("M", bound=BaseModel)


def _field(location: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in location) or "body"


def validate(model: type[M], data: Any) -> M:
    """`data` checked against `model`, or an ApiError naming the first offending field."""
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_body", "the body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        field = _field(error["loc"])
        if error["type"] == "extra_forbidden":
            raise ApiError(400, "unknown_field", f"{field}: unknown field") from None
        if error["type"] == "missing":
            raise ApiError(400, "missing_field", f"{field}: required") from None
        message = error["msg"]
        raise ApiError(400, "invalid_field", f"{field}: {message[:1].lower()}{message[1:]}") from None


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def json_body(model: type[M]) -> M:
    """The request's JSON body validated against `model`; an empty body is {} for all-optional models."""
    raw = request.get_data(cache=True)
    if not raw.strip() and not any(f.is_required() for f in model.model_fields.values()):
        return validate(model, {})
    if request.mimetype != "application/json":
        raise ApiError(415, "not_json", "send the body as JSON with Content-Type: application/json")
    try:
        data = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "not_json", f"the body is not valid JSON: {str(exc)[:200]}") from None
    except RecursionError:  # nested deeper than the parser's stack: as refused as any too-deep body
        data = TOO_DEEP
    if data is TOO_DEEP or json_depth(data) > MAX_JSON_DEPTH:
        raise ApiError(400, "too_deep", f"the body nests arrays or objects deeper than {MAX_JSON_DEPTH} levels")
    return validate(model, data)


def json_depth(value: Any) -> int:
    """How deeply arrays and objects nest in a parsed JSON value (walked without recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_JSON_DEPTH:
            return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest


def query_args(model: type[M]) -> M:
    """The query string validated against `model`; a repeated parameter is refused."""
    data: dict[str, str] = {}
    for name, values in request.args.lists():
        if len(values) > 1:
            raise ApiError(400, "invalid_field", f"{name}: given more than once")
        data[name] = values[0]
    return validate(model, data)
