"""Operator-created credentials: poolers and auditors, each with a token shown once."""
from __future__ import annotations

from peewee import IntegrityError

from db.connection import database
from db.models import Auditor, Pooler
from web.auth import new_token


class AccountError(ValueError):
    """The account cannot be created as asked; the message says why."""


def create_pooler(name: str, payout_address: str, share_bps: int, capacity: int) -> tuple[Pooler, str]:
    """A new pooler and its API key (store nothing but the key's hash)."""
    api_key, key_hash = new_token("pooler")
    try:
        with database.atomic():
            pooler = Pooler.create(name=name, payout_address=payout_address, share_bps=share_bps,
                                   capacity=capacity, api_key_hash=key_hash)
    except IntegrityError:
        raise AccountError(f"a pooler named {name!r} already exists") from None
    return pooler, api_key


def create_auditor(name: str) -> tuple[Auditor, str]:
    """A new read-only auditor and its token."""
    token, token_hash = new_token("auditor")
    try:
        with database.atomic():
            auditor = Auditor.create(name=name, token_hash=token_hash)
    except IntegrityError:
        raise AccountError(f"an auditor named {name!r} already exists") from None
    return auditor, token
