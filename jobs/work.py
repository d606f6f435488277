"""Verify a pooler's work report: recompute each hash and check the pail on chain before recording."""
from __future__ import annotations

from typing import Any

from peewee import fn
from stellar_sdk import StrKey, scval

from chain.kale import U32_MAX, U64_MAX, count_zeros, kale_hash
from chain.rpc import ChainClient
from chain.transactions import invocation, return_value
from db.chain_models import ChainTransaction
from db.models import Farmer, Planting, Pooler, Work


class ReportError(ValueError):
    """One reported item is malformed; the message names the field."""


def _bytes32(value: Any) -> bytes | None:
    """The 32 bytes that 64 hex characters spell, or None for anything else."""
    if not isinstance(value, str) or len(value) != 64:
        return None
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        return None
    return raw if len(raw) == 32 else None


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
    digest = _bytes32(item.get("hash"))
    if digest is None:
        raise ReportError("hash must be 64 hex characters")
    tx_hash = item.get("tx_hash")
    if tx_hash is not None:
        raw_tx_hash = _bytes32(tx_hash)
        if raw_tx_hash is None:
            raise ReportError("tx_hash must be 64 hex characters")
        tx_hash = raw_tx_hash.hex()
    return farmer, index, nonce, digest, tx_hash


def verify_report(client: ChainClient, pooler: Pooler, items: list[Any]) -> dict[str, list]:
    """Check each reported (farmer, block, nonce, hash) against the chain and record the verified ones.

    Only pails this pooler had planted are looked at (one query), and the chain is read once per
    block (entropy) and once per report (all pails together), so a report costs what the
    pooler's planted farmers cost, not what its body holds. A report is checked by recomputing
    the KALE hash from the nonce and the chain's entropy and comparing it with the work the
    chain record shows (or, before the indexer has it, with the pail's zeros; where both lag,
    with the reported work transaction itself); what the pool believes about work comes from
    the chain, so a recorded report never decides money.
    """
    accepted, rejected, checks = [], [], []
    seen: set[tuple[str, int]] = set()
    for item in items:
        try:
            parsed = parse_item(item)
        except ReportError as exc:
            rejected.append({"farmer": item.get("farmer") if isinstance(item, dict) else None,
                             "block_index": item.get("block_index") if isinstance(item, dict) else None,
                             "reason": str(exc)})
            continue
        if (parsed[0], parsed[1]) in seen:
            rejected.append({"farmer": parsed[0], "block_index": parsed[1], "reason": "reported twice"})
            continue
        seen.add((parsed[0], parsed[1]))
        checks.append(parsed)
    plantings = _planted_by(pooler, checks)
    planted = [c for c in checks if (c[0], c[1]) in plantings]
    for farmer_address, index, *_ in checks:
        if (farmer_address, index) not in plantings:
            rejected.append({"farmer": farmer_address, "block_index": index,
                             "reason": "this pooler did not have that farmer planted in that block"})
    entropies = {index: _entropy(client, index) for index in {c[1] for c in planted}}
    chain_works = _chain_works(planted)
    pails = client.pails([(c[0], c[1]) for c in planted]) if planted else {}
    for farmer_address, index, nonce, digest, tx_hash in planted:
        reason = _hash_problem(entropies[index], farmer_address, index, nonce, digest)
        gap = None
        if reason is None:
            reason, gap = _chain_evidence(client, chain_works.get((farmer_address, index)),
                                          pails.get((farmer_address, index)), farmer_address, nonce, digest, tx_hash)
        if reason is not None:
            rejected.append({"farmer": farmer_address, "block_index": index, "reason": reason})
            continue
        planting = plantings[(farmer_address, index)]
        zeros = count_zeros(digest)
        (Work.insert(farmer=planting.farmer_id, pooler=pooler.id, block_index=index, hash=digest, nonce=nonce,
                     zeros=zeros, gap=gap, tx_hash=tx_hash, created_at=fn.now()).on_conflict_ignore().execute())
        accepted.append({"farmer": farmer_address, "block_index": index, "zeros": zeros, "gap": gap})
    return {"accepted": accepted, "rejected": rejected}


def _planted_by(pooler: Pooler, checks: list[tuple]) -> dict[tuple[str, int], Planting]:
    if not checks:
        return {}
    rows = (Planting.select(Planting, Farmer).join(Farmer)
            .where(Planting.pooler == pooler.id, Farmer.custodial_address.in_({c[0] for c in checks}),
                   Planting.block_index.in_({c[1] for c in checks})))
    return {(row.farmer.custodial_address, row.block_index): row for row in rows}


def _entropy(client: ChainClient, index: int) -> bytes | None:
    block = client.block(index)
    return None if block is None else block.value.entropy


def _chain_works(planted: list[tuple]) -> dict[tuple[str, int], dict[str, tuple[int, int | None]]]:
    """Successful work transactions in the chain record, by pail: {hash: (zeros, gap)}."""
    found: dict[tuple[str, int], dict[str, tuple[int, int | None]]] = {}
    if not planted:
        return found
    rows = (ChainTransaction.select(ChainTransaction.farmer, ChainTransaction.block_index,
                                    ChainTransaction.work_hash, ChainTransaction.zeros, ChainTransaction.gap)
            .where(ChainTransaction.kind == "work", ChainTransaction.successful,
                   ChainTransaction.farmer.in_({c[0] for c in planted}),
                   ChainTransaction.block_index.in_({c[1] for c in planted})))
    for row in rows:
        found.setdefault((row.farmer, row.block_index), {})[row.work_hash] = (row.zeros, row.gap)
    return found


def _landed_work(client: ChainClient, tx_hash: str, farmer_address: str, nonce: int,
                 digest: bytes) -> tuple[bool, int | None]:
    """(whether `tx_hash` is a successful `work(farmer, hash, nonce)` on the farm, the gap it returned).

    The chain itself, asked by transaction: a pail harvested before the indexer recorded its work
    (anyone may harvest the moment the next block opens) leaves no other trace of that work.
    """
    response = client.transaction(tx_hash)
    if response.status.value != "SUCCESS" or response.envelope_xdr is None:
        return False, None
    try:
        contract, function, (farmer, hash_arg, nonce_arg) = invocation(response.envelope_xdr)
        called = (contract, function, scval.from_address(farmer).address, scval.from_bytes(hash_arg),
                  scval.from_uint64(nonce_arg))
    except (AttributeError, TypeError, ValueError):  # not one contract call with three such arguments
        return False, None
    if called != (client.network.farm_contract, "work", farmer_address, digest, nonce):
        return False, None
    gap = return_value(response)
    return True, scval.from_uint32(gap) if gap is not None and gap.u32 is not None else None


def _hash_problem(entropy: bytes | None, farmer_address: str, index: int, nonce: int, digest: bytes) -> str | None:
    """Why the reported hash is not the KALE hash of (block, nonce, entropy, farmer), or None."""
    if entropy is None:
        return "block not found on chain"
    if kale_hash(index, nonce, entropy, farmer_address) != digest:
        return "hash does not match the KALE hash of (block, nonce, entropy, farmer)"
    return None


def _chain_evidence(client: ChainClient, chain_works: dict | None, pail, farmer_address: str, nonce: int,
                    digest: bytes, tx_hash: str | None) -> tuple[str | None, int | None]:
    """(why the chain does not show this work or None, its gap): the chain record, else the pail.

    Both can lag a work that just landed (the indexer is a ledger or two behind; a resubmission
    supersedes the work it recorded; anyone may harvest the pail the moment the next block
    opens), so a refusal is overturned by the reported work transaction itself, when it is one.
    """
    zeros = count_zeros(digest)
    if chain_works:
        gap = chain_works.get(digest.hex(), (0, None))[1]
        reason = None if digest.hex() in chain_works else "the chain shows other work for this pail"
    elif pail is None:
        reason, gap = "no work for this pail on chain yet (and the pail is gone)", None
    elif pail.value.zeros != zeros or pail.value.gap is None:
        reason, gap = "this hash is not the work on chain for that pail", None
    else:
        reason, gap = None, pail.value.gap
    if reason is not None and tx_hash is not None:
        landed, landed_gap = _landed_work(client, tx_hash, farmer_address, nonce, digest)
        if landed:
            return None, landed_gap
    return reason, gap
