"""Posting the custody ledger: every KALE and XLM movement in or out of a custodial wallet, as
two rows (the wallet leg and the contra leg) that sum to zero, classified by what the chain
says happened, whoever sent the transaction.

The indexer posts each batch in the transaction that stores it, so at every stored ledger a
wallet's entries sum to its balance; `post_all` re-derives everything from stored chain rows
(for data stored before the ledger existed). Entries are keyed by movement and leg, so
posting twice adds nothing.

Classes (the wallet's side; the contra leg carries the same class):
- in: a harvest's mint is `stake_returned` (the pail's stake) and `reward` (the rest); from a
  pooler's payout address, `compensation`; anything else, `deposit`;
- out: the fee a transaction charged the wallet, `fee`; the burn of a successful plant,
  `stake`; anything in a pool payout transaction (`payout`/`close` intent), `payout`;
  anything else (a transaction the pool did not send: a leaked key), `unexplained`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Iterable

from config import Network
from db.connection import database
from db.custody_models import CustodyEntry
from db.models import Farmer, Pooler
from indexer.xlm_movements import Movement, fee_movement, operation_movements

log = logging.getLogger(__name__)

FARM_STAKE, FARM_MINT = "farm:stake", "farm:mint"
PAYOUT_ACTIONS = ("payout", "close")
INSERT_CHUNK = 1000
POST_ALL_LEDGERS = 10_000  # ledgers gathered at once by post_all

_KALE_MOVEMENTS = """
    SELECT id, ledger, tx_hash, kind, from_address, to_address, amount FROM chain_kale_movements
    WHERE ledger BETWEEN %(first)s AND %(last)s
      AND (from_address = ANY(%(wallets)s) OR to_address = ANY(%(wallets)s))"""
_TRANSACTIONS = """
    SELECT hash, ledger, application_order, source, fee_source, fee_charged, successful, kind, farmer,
           block_index, stake, operations
    FROM chain_transactions
    WHERE ledger BETWEEN %(first)s AND %(last)s
      AND (hash = ANY(%(hashes)s) OR kind = 'classic' OR coalesce(fee_source, source) = ANY(%(wallets)s))"""
_POOL_ACTIONS = """
    SELECT i.tx_hash, i.action FROM tx_intents i WHERE i.tx_hash = ANY(%(hashes)s)
    UNION SELECT a.tx_hash, i.action FROM tx_attempts a JOIN tx_intents i ON i.id = a.intent_id
    WHERE a.tx_hash = ANY(%(hashes)s)"""
# Each pail (farmer address, block): the stake its plant burned and the pooler that requested
# the plant (the plant intent whose transaction it is, else the planting row).
_PAILS = """
    SELECT c.farmer, c.block_index, c.stake,
           coalesce((SELECT i.pooler_id FROM tx_intents i
                     WHERE i.action = 'plant' AND (i.tx_hash = c.hash OR EXISTS (
                         SELECT 1 FROM tx_attempts a WHERE a.intent_id = i.id AND a.tx_hash = c.hash))
                     ORDER BY i.id LIMIT 1),
                    (SELECT p.pooler_id FROM plantings p JOIN farmers f ON f.id = p.farmer_id
                     WHERE f.custodial_address = c.farmer AND p.block_index = c.block_index
                     ORDER BY p.id LIMIT 1))
    FROM chain_transactions c
    JOIN unnest(%(farmers)s::text[], %(blocks)s::bigint[]) AS want (farmer, block_index)
      ON want.farmer = c.farmer AND want.block_index = c.block_index
    WHERE c.kind = 'plant' AND c.successful"""
_CLAIMABLE = """
    SELECT op->>'balance_id', op->>'asset', (op->>'amount')::numeric
    FROM chain_transactions c, jsonb_array_elements(c.operations) AS op
    WHERE c.successful AND op->>'type' = 'create_claimable_balance' AND op->>'balance_id' = ANY(%(ids)s)"""


@dataclass(frozen=True)
class Part:
    """A movement, or the share of one (a harvest's stake and reward), with its wallet class."""

    suffix: str
    amount: int
    block_index: int | None = None
    pooler_id: int | None = None


@dataclass
class Context:
    """What classification needs beyond the movement: wallets, the pool's transactions, pails,
    poolers' payout addresses, and the transactions the movements belong to."""

    network: Network
    wallets: dict[str, int]
    transactions: dict[str, dict[str, Any]]
    pool_actions: dict[str, str]
    pails: dict[tuple[str, int], tuple[int, int | None]]
    poolers: dict[str, int]


def _rows(sql: str, params: dict[str, Any]) -> list[tuple]:
    return list(database.execute_sql(sql, params).fetchall())


def _kale_movement(row: tuple) -> Movement:
    event, ledger, tx_hash, kind, sender, receiver, amount = row
    return Movement(event, event, ledger, tx_hash, "KALE", kind, sender, receiver, int(amount))


def _transaction(row: tuple) -> dict[str, Any]:
    names = ("hash", "ledger", "application_order", "source", "fee_source", "fee_charged", "successful", "kind",
             "farmer", "block_index", "stake", "operations")
    return dict(zip(names, row))


def gather(network: Network, first: int, last: int) -> tuple[list[Movement], Context] | None:
    """Every movement touching a custodial wallet in ledgers first..last, with its context."""
    wallets = dict(Farmer.select(Farmer.custodial_address, Farmer.id).tuples())
    if not wallets:
        return None
    addresses = list(wallets)
    bounds = {"first": first, "last": last, "wallets": addresses}
    kale = [_kale_movement(row) for row in _rows(_KALE_MOVEMENTS, bounds)]
    transactions = {row[0]: _transaction(row)
                    for row in _rows(_TRANSACTIONS, {**bounds, "hashes": sorted({m.tx_hash for m in kale})})}
    claim_ids = sorted({op["balance_id"] for tx in transactions.values() if tx["successful"]
                        for op in tx["operations"] or [] if op["type"] == "claim_claimable_balance"})
    created = {balance: (asset, int(amount))
               for balance, asset, amount in (_rows(_CLAIMABLE, {"ids": claim_ids}) if claim_ids else [])}
    movements = {m.id: m for m in kale}
    for tx in transactions.values():
        derived = operation_movements(tx, network.kale_asset, created.get)
        if (tx["fee_source"] or tx["source"]) in wallets:
            derived.append(fee_movement(tx))
        movements.update((m.id, m) for m in derived if m.sender in wallets or m.receiver in wallets)
    ordered = sorted(movements.values(), key=lambda m: (m.ledger, m.position, m.id))
    hashes = sorted({m.tx_hash for m in ordered})
    pool_actions = dict(_rows(_POOL_ACTIONS, {"hashes": hashes})) if hashes else {}
    wanted = sorted({(tx["farmer"], tx["block_index"]) for tx in transactions.values()
                     if tx["kind"] in ("plant", "harvest") and tx["farmer"] in wallets and tx["block_index"] is not None})
    pails = {(farmer, block): (int(stake or 0), pooler) for farmer, block, stake, pooler in _rows(
        _PAILS, {"farmers": [w[0] for w in wanted], "blocks": [w[1] for w in wanted]})} if wanted else {}
    poolers = dict(Pooler.select(Pooler.payout_address, Pooler.id).tuples())
    return ordered, Context(network, wallets, transactions, pool_actions, pails, poolers)


def _parts(movement: Movement, tx: dict[str, Any] | None, context: Context) -> list[Part]:
    """A harvest's mint splits into the pail's stake and its reward; anything else is one part."""
    harvest = tx is not None and tx["kind"] == "harvest" and tx["successful"] and movement.kind == "mint" \
        and movement.receiver == tx["farmer"]
    plant = tx is not None and tx["kind"] == "plant" and tx["successful"] and movement.kind == "burn" \
        and movement.sender == tx["farmer"]
    if not (harvest or plant):
        return [Part("", movement.amount)]
    block = tx["block_index"]
    planted, pooler = context.pails.get((tx["farmer"], block), (0, None))
    if plant:
        return [Part("", movement.amount, block, pooler)]
    stake = min(movement.amount, int(tx["stake"]) if tx["stake"] is not None else planted)
    parts = [Part("/stake", stake, block, pooler), Part("/reward", movement.amount - stake, block, pooler)]
    return [part for part in parts if part.amount]


def _wallet_class(movement: Movement, tx: dict[str, Any] | None, part: Part, incoming: bool,
                  context: Context) -> str:
    if incoming:
        if part.suffix == "/stake":
            return "stake_returned"
        if part.suffix == "/reward":
            return "reward"
        return "compensation" if movement.sender in context.poolers else "deposit"
    if movement.kind == "fee":
        return "fee"
    if part.block_index is not None and movement.kind == "burn":
        return "stake"
    return "payout" if context.pool_actions.get(movement.tx_hash) in PAYOUT_ACTIONS else "unexplained"


def _contra(party: str | None, part: Part, network: Network) -> str:
    """The contra account standing for a party that is not a custodial wallet."""
    if party is not None and ":" in party:
        return party  # network:fees, claimable:<id>
    if party is None:  # a mint's sender or a burn's receiver
        if part.block_index is not None:
            return FARM_STAKE if part.suffix in ("", "/stake") else FARM_MINT
        return f"external:{network.kale_asset_issuer}"
    return f"external:{party}"


def entries(movement: Movement, context: Context) -> list[dict[str, Any]]:
    """The custody rows of one movement: per part, a debit and a credit leg summing to zero."""
    tx = context.transactions.get(movement.tx_hash)
    rows = []
    for part in _parts(movement, tx, context):
        legs = (("debit", movement.sender, movement.receiver, -part.amount, False),
                ("credit", movement.receiver, movement.sender, part.amount, True))
        wallet_classes = {incoming: _wallet_class(movement, tx, part, incoming, context)
                          for _, party, _, _, incoming in legs if party in context.wallets}
        for leg, party, other, amount, incoming in legs:
            wallet = party in context.wallets
            entry_class = wallet_classes[incoming] if wallet else wallet_classes[not incoming]
            owner = party if wallet else other
            rows.append({
                "entry_key": f"{movement.id}{part.suffix}:{leg}", "movement_id": movement.id,
                "position": movement.position,
                "account": party if wallet else _contra(party, part, context.network),
                "farmer": context.wallets[owner], "asset": movement.asset, "amount": amount,
                "entry_class": entry_class, "tx_hash": movement.tx_hash, "ledger": movement.ledger,
                "block_index": part.block_index, "pooler": _pooler(entry_class, part, movement, context),
                "counterparty": other if other is None or ":" not in other else None,
            })
    return rows


def _pooler(entry_class: str, part: Part, movement: Movement, context: Context) -> int | None:
    if entry_class in ("stake", "stake_returned", "reward"):
        return part.pooler_id
    if entry_class == "compensation":
        return context.poolers.get(movement.sender)
    if entry_class == "payout":
        return context.poolers.get(movement.receiver)
    return None


def _insert(rows: Iterable[dict[str, Any]]) -> int:
    rows, inserted = list(rows), 0
    for start in range(0, len(rows), INSERT_CHUNK):
        chunk = rows[start:start + INSERT_CHUNK]
        inserted += CustodyEntry.insert_many(chunk).on_conflict_ignore().as_rowcount().execute()
    return inserted


def post_range(network: Network, first: int, last: int) -> int:
    """Post the movements of ledgers first..last (call inside the transaction that stored
    them); the number of new entries."""
    gathered = gather(network, first, last)
    if gathered is None:
        return 0
    movements, context = gathered
    return _insert(row for movement in movements for row in entries(movement, context))


def post_all(network: Network) -> int:
    """Re-derive the whole ledger from stored chain rows, a range of ledgers at a time
    (idempotent); the number of new entries."""
    first, last = database.execute_sql("SELECT min(sequence), max(sequence) FROM chain_ledgers").fetchone()
    posted = 0
    for start in range(first or 0, (last or -1) + 1, POST_ALL_LEDGERS):
        with database.atomic():
            posted += post_range(network, start, start + POST_ALL_LEDGERS - 1)
    if posted:
        log.info("custody ledger: %s entries posted from stored chain rows", posted)
    return posted


def post_if_empty(network: Network) -> int:
    """post_all when chain rows exist but the ledger has no entry yet (rows stored before the
    custody ledger existed); else nothing. Every batch stored since posts its own entries."""
    if CustodyEntry.select().exists():
        return 0
    return post_all(network)
