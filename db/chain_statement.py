"""A farmer's statement recomputed from chain rows alone: what it planted, worked, harvested,
what it lost to unworked pails (the compensation its pooler owes), what left its wallet at
settlement, and its KALE ledger movement by movement (`kale_net`, received less sent, is the
wallet balance when the range starts before the wallet existed).

Nothing here reads a pool record except the farmer's and poolers' addresses: every figure
the pool shows a farmer can be checked against these.
"""
from __future__ import annotations

from typing import Any

from db.chain_models import newest_planted_block
from db.connection import database
from db.models import Farmer, Pooler

_BLOCKS = """
    SELECT p.block_index, p.stake, p.hash, p.ledger,
           w.hash, w.zeros, w.gap, h.hash, h.reward, h.amount_minted, h.ledger
    FROM chain_transactions p
    LEFT JOIN LATERAL (SELECT hash, zeros, gap FROM chain_transactions
                       WHERE kind = 'work' AND successful AND farmer = p.farmer AND block_index = p.block_index
                       ORDER BY zeros DESC, ledger DESC LIMIT 1) w ON true
    LEFT JOIN chain_transactions h ON h.kind = 'harvest' AND h.successful AND h.farmer = p.farmer
         AND h.block_index = p.block_index
    WHERE p.kind = 'plant' AND p.successful AND p.farmer = %(address)s
      AND p.ledger BETWEEN %(first)s AND %(last)s
    ORDER BY p.block_index"""

_PAYMENTS = """
    SELECT c.hash, c.ledger, op->>'type', op->>'destination', op->>'asset', (op->>'amount')::numeric
    FROM chain_transactions c, jsonb_array_elements(c.operations) AS op
    WHERE c.successful AND c.kind = 'classic' AND coalesce(op->>'source', c.source) = %(address)s
      AND op->>'type' IN ('payment', 'account_merge') AND c.ledger BETWEEN %(first)s AND %(last)s
    ORDER BY c.ledger, c.application_order"""

_MOVEMENTS = """
    SELECT m.ledger, l.close_time, m.tx_hash, m.id, m.kind, c.kind, c.block_index,
           CASE WHEN m.to_address = %(address)s THEN m.from_address ELSE m.to_address END,
           CASE WHEN m.to_address = %(address)s THEN m.amount ELSE -m.amount END
    FROM chain_kale_movements m
    LEFT JOIN chain_ledgers l ON l.sequence = m.ledger
    LEFT JOIN chain_transactions c ON c.hash = m.tx_hash
    WHERE (m.to_address = %(address)s OR m.from_address = %(address)s) AND m.ledger BETWEEN %(first)s AND %(last)s
    ORDER BY m.id"""

LEDGER_COLUMNS = ("ledger", "close_time", "tx_hash", "event_id", "movement", "cause", "block_index",
                  "counterparty", "amount", "balance")


def _bounds(from_ledger: int | None, to_ledger: int | None) -> dict[str, int]:
    return {"first": from_ledger or 0, "last": to_ledger if to_ledger is not None else 2**62}


def kale_ledger(farmer: Farmer, from_ledger: int | None = None, to_ledger: int | None = None) -> list[dict[str, Any]]:
    """Every KALE movement of the farmer's wallet, what caused it, and the running balance."""
    rows, balance = [], 0
    params = {"address": farmer.custodial_address, **_bounds(from_ledger, to_ledger)}
    for ledger, close_time, tx_hash, event, movement, cause, block, counterparty, amount in \
            database.execute_sql(_MOVEMENTS, params):
        balance += int(amount)
        rows.append(dict(zip(LEDGER_COLUMNS, (ledger, close_time, tx_hash, event, movement,
                                               cause or "transfer", block, counterparty, int(amount), balance))))
    return rows


def chain_statement(farmer: Farmer, from_ledger: int | None = None, to_ledger: int | None = None) -> dict[str, Any]:
    """The farmer's statement from chain rows in [from_ledger, to_ledger] (everything by default)."""
    params = {"address": farmer.custodial_address, **_bounds(from_ledger, to_ledger)}
    closed = newest_planted_block()
    blocks = []
    for (index, stake, plant_tx, plant_ledger, work_tx, zeros, gap, harvest_tx, reward, minted,
         harvest_ledger) in database.execute_sql(_BLOCKS, params):
        stake = int(stake)
        lost = stake if work_tx is None and index < closed else 0
        blocks.append({"block_index": index, "stake": stake, "plant_tx": plant_tx, "plant_ledger": plant_ledger,
                       "worked": work_tx is not None, "zeros": zeros, "gap": gap, "work_tx": work_tx,
                       "reward": None if reward is None else int(reward),
                       "minted": None if minted is None else int(minted), "harvest_tx": harvest_tx,
                       "harvest_ledger": harvest_ledger, "compensation": lost})
    poolers = {p.payout_address for p in Pooler.select(Pooler.payout_address)}
    payments = []
    for tx_hash, ledger, kind, destination, asset, amount in database.execute_sql(_PAYMENTS, params):
        recipient = ("farmer" if destination == farmer.payout_address
                     else "pooler" if destination in poolers else "other")
        payments.append({"tx_hash": tx_hash, "ledger": ledger, "type": kind, "recipient": recipient,
                         "destination": destination, "asset": asset,
                         "amount": None if amount is None else int(amount)})
    movements = kale_ledger(farmer, from_ledger, to_ledger)
    return {
        "farmer_id": farmer.id, "custodial_address": farmer.custodial_address,
        "payout_address": farmer.payout_address, "from_ledger": from_ledger, "to_ledger": to_ledger,
        "planted": sum(b["stake"] for b in blocks), "blocks_planted": len(blocks),
        "blocks_worked": sum(1 for b in blocks if b["worked"]),
        "harvested": sum(b["reward"] or 0 for b in blocks), "minted": sum(b["minted"] or 0 for b in blocks),
        "compensations": sum(b["compensation"] for b in blocks),
        "kale_received": sum(m["amount"] for m in movements if m["amount"] > 0),
        "kale_sent": -sum(m["amount"] for m in movements if m["amount"] < 0),
        "kale_net": movements[-1]["balance"] if movements else 0,
        "settlement": payments, "blocks": blocks,
    }
