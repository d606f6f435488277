"""Verify a pooler's work report: recompute each hash and check the pail on chain before recording."""
from __future__ import annotations

from typing import Any

from peewee import IntegrityError
from stellar_sdk import StrKey

from chain.kale import U32_MAX, U64_MAX, count_zeros, kale_hash
from chain.rpc import ChainClient
from db.connection import database
from db.models import Farmer, Planting, Pooler, Work


class ReportError(ValueError):
    """One reported item is malformed; the message names the field."""


def parse_item(item: Any) -> tuple[str, int, int, bytes, str | None]:
    """(farmer, block_index, nonce, hash, tx_hash) of one report item, validated."""
    if not isinstance(item, dict):
        raise ReportError("each result must be an object")
    unknown = set(item) - {"farmer", "block_index", "nonce", "hash", "tx_hash"}
    if unknown:
        raise ReportError(f"unknown field(s): {', '.join(sorted(unknown))}")
    farmer = item.get("farmer")
    if not isinstance(farmer, str) or not StrKey.is_valid_ed25519_public_key(farmer):
        raise ReportError("farmer must be a valid G... address")
    index, nonce = item.get("block_index"), item.get("nonce")
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index <= U32_MAX:
        raise ReportError("block_index must be an integer between 0 and 4294967295")
    if isinstance(nonce, bool) or not isinstance(nonce, int) or not 0 <= nonce <= U64_MAX:
        raise ReportError("nonce must be an integer between 0 and 18446744073709551615")
    try:
        digest = bytes.fromhex(item.get("hash") or "")
    except (TypeError, ValueError):
        digest = b""
    if len(digest) != 32:
        raise ReportError("hash must be 64 hex characters")
    tx_hash = item.get("tx_hash")
    if tx_hash is not None and (not isinstance(tx_hash, str) or len(tx_hash) != 64):
        raise ReportError("tx_hash must be 64 hex characters")
    return farmer, index, nonce, digest, tx_hash


def verify_report(client: ChainClient, pooler: Pooler, items: list[Any]) -> dict[str, list]:
    """Check each reported (farmer, block, nonce, hash) and record the verified ones as Works."""
    accepted, rejected = [], []
    entropies: dict[int, bytes | None] = {}
    for item in items:
        try:
            farmer_address, index, nonce, digest, tx_hash = parse_item(item)
        except ReportError as exc:
            rejected.append({"farmer": item.get("farmer") if isinstance(item, dict) else None,
                             "block_index": item.get("block_index") if isinstance(item, dict) else None,
                             "reason": str(exc)})
            continue
        reason, record = _verify_one(client, pooler, entropies, farmer_address, index, nonce, digest,
                                     tx_hash)
        if reason is None:
            accepted.append(record)
        else:
            rejected.append({"farmer": farmer_address, "block_index": index, "reason": reason})
    return {"accepted": accepted, "rejected": rejected}


def _verify_one(client: ChainClient, pooler: Pooler, entropies: dict[int, bytes | None], farmer_address: str,
                index: int, nonce: int, digest: bytes, tx_hash: str | None) -> tuple[str | None, dict]:
    farmer = Farmer.get_or_none(Farmer.custodial_address == farmer_address)
    if farmer is None or farmer.pooler_id != pooler.id:
        return "not a farmer of this pooler", {}
    planting = Planting.get_or_none(Planting.farmer == farmer.id, Planting.block_index == index)
    if planting is None or planting.pooler_id != pooler.id:
        return "farmer was not planted in that block by this pool", {}
    if index not in entropies:
        block = client.block(index)
        entropies[index] = None if block is None else block.value.entropy
    if entropies[index] is None:
        return "block not found on chain", {}
    if kale_hash(index, nonce, entropies[index], farmer_address) != digest:
        return "hash does not match the KALE hash of (block, nonce, entropy, farmer)", {}
    zeros = count_zeros(digest)
    pail = client.pails([(farmer_address, index)]).get((farmer_address, index))
    if pail is None:
        return "pail not found on chain (harvested or expired)", {}
    if pail.value.zeros != zeros or pail.value.gap is None:
        return "this hash is not the work on chain for that pail", {}
    record = {"farmer": farmer_address, "block_index": index, "zeros": zeros, "gap": pail.value.gap}
    existing = Work.get_or_none(Work.farmer == farmer.id, Work.block_index == index)
    if existing is not None:
        return (None, record) if bytes(existing.hash) == digest else ("a different work is already recorded", {})
    try:
        with database.atomic():
            Work.create(farmer=farmer.id, pooler=pooler.id, block_index=index, hash=digest, nonce=nonce,
                        zeros=zeros, gap=pail.value.gap, tx_hash=tx_hash)
    except IntegrityError:  # a concurrent report of the same work
        pass
    return None, record
