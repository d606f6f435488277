"""Bearer tokens: random, shown once, stored as sha256; the prefix names the role.

`kpf_` farmer, `kpp_` pooler, `kpa_` auditor: a leaked token is recognisable,
and a request is looked up in its role's table by the token's hash only.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from flask import request

from db.models import Auditor, Farmer, Pooler
from web.errors import ApiError

PREFIXES = {"farmer": "kpf_", "pooler": "kpp_", "auditor": "kpa_"}
ROLE_OF_PREFIX = {prefix: role for role, prefix in PREFIXES.items()}
_TOKEN = re.compile(r"^(kp[fpa]_)[A-Za-z0-9_-]{43}$")
# Every request runs one of these, so they are plain SQL rather than built per request.
_LOOKUPS = {"farmer": (Farmer, "SELECT * FROM farmers WHERE api_token_hash = %s"),
            "pooler": (Pooler, "SELECT * FROM poolers WHERE api_key_hash = %s"),
            "auditor": (Auditor, "SELECT * FROM auditors WHERE token_hash = %s")}


@dataclass(frozen=True)
class Principal:
    """Who is calling: a role and that role's row."""

    role: str
    row: Farmer | Pooler | Auditor

    @property
    def id(self) -> int:
        return self.row.id


def new_token(role: str) -> tuple[str, str]:
    """(token, hash) for a new credential of `role`; show the token once, store the hash."""
    token = PREFIXES[role] + secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def bearer_token() -> str | None:
    """The request's bearer token, None when it sends no Authorization header."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "Authorization must be 'Bearer <token>'",
                       {"WWW-Authenticate": "Bearer"})
    return token.strip()


def authenticate(token: str) -> Principal:
    """The principal a token belongs to; 401 when it belongs to nobody."""
    match = _TOKEN.match(token)
    if match is None:
        raise ApiError(401, "unauthorized", "the token is malformed", {"WWW-Authenticate": "Bearer"})
    role = ROLE_OF_PREFIX[match.group(1)]
    model, sql = _LOOKUPS[role]
    row = next(iter(model.raw(sql, hash_token(token))), None)
    if row is None:
        raise ApiError(401, "unauthorized", "the token is not valid", {"WWW-Authenticate": "Bearer"})
    return Principal(role, row)


def require(token: str | None, roles: tuple[str, ...]) -> Principal:
    """The caller, who must hold one of `roles`: 401 without a valid token, 403 with another role."""
    if token is None:
        raise ApiError(401, "unauthorized", "this endpoint needs 'Authorization: Bearer <token>'",
                       {"WWW-Authenticate": "Bearer"})
    principal = authenticate(token)
    if principal.role not in roles:
        raise ApiError(403, "forbidden", f"a {principal.role} token cannot use this endpoint "
                                         f"(it is for: {', '.join(roles)})")
    return principal
