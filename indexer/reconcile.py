"""Reconciliation: every pool record (planting, work, harvest, compensation, payout, intent,
settlement) matched with the chain's own record, every custodial wallet's custody ledger with
its balances on chain, and every mismatch stored as a discrepancy.

The chain is the truth; a mismatch is an alarm (an ERROR log line, the open-discrepancy
count, the audit API), never silently fixed. A record is checked only once the chain
record covers it: pool records that name a ledger, once the cursor has passed it; chain
rows the pool should have recorded, unless they belong to an intent the outbox is still
resolving (it records the result in the transaction that resolves it); works, once their
block has closed. Discrepancies are keyed by a fingerprint: finding an open one again adds
nothing, nor does finding a resolved one whose fault never went away (a movement nobody
explained stays on chain); a fault that went away after it was resolved (a check covering it
no longer found it: `cleared_at`) and comes back is raised again.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Iterable

import requests
from peewee import fn
from stellar_sdk import Keypair, xdr
from stellar_sdk.exceptions import ConnectionError as SdkConnectionError

from chain import storage
from chain.rpc import ChainClient, RpcUnavailable
from config import Network
from db.chain_models import ChainLedger, Discrepancy, IndexerCursor, newest_planted_block
from db.connection import database
from db.models import Farmer
from indexer.ingest import ledger_problems

log = logging.getLogger(__name__)

MAX_LEDGER_KEYS = 200  # per getLedgerEntries call
OPEN_BLOCK_LOOKBACK = 3  # blocks the farm may be ahead of the record for open_block to ask the RPC

# Each check yields (kind, farmer_id, block_index, detail, pool_side, chain_side) rows. Parameters:
# indexed (cursor), closed (blocks below it are closed),
# farmer (a farmer id or NULL for all), kale (the KALE asset as CODE:ISSUER).
_CHAIN_PLANT = ("c.kind = 'plant' AND c.successful AND c.farmer = f.custodial_address "
                "AND c.block_index = {record}.block_index")
_FARMER = "(%(farmer)s::bigint IS NULL OR f.id = %(farmer)s::bigint)"
# the chain row is a transaction of an intent the outbox has not resolved (and recorded) yet
_IN_FLIGHT = """c.hash IN (SELECT tx_hash FROM tx_intents WHERE status IN ('new', 'submitted')
                           UNION SELECT a.tx_hash FROM tx_attempts a JOIN tx_intents i ON i.id = a.intent_id
                           WHERE i.status IN ('new', 'submitted'))"""

CHECKS: dict[str, str] = {
    "planting": f"""
        SELECT CASE WHEN c.hash IS NULL THEN 'planting_not_on_chain' ELSE 'planting_mismatch' END,
               f.id, p.block_index, 'planting ' || p.id,
               json_build_object('planting_id', p.id, 'stake', p.amount, 'tx_hash', p.tx_hash, 'ledger', p.ledger),
               CASE WHEN c.hash IS NOT NULL THEN json_build_object('tx_hash', c.hash, 'stake', c.stake,
                                                                   'ledger', c.ledger) END
        FROM plantings p JOIN farmers f ON f.id = p.farmer_id
        LEFT JOIN chain_transactions c ON {_CHAIN_PLANT.format(record='p')}
        WHERE p.ledger <= %(indexed)s AND {_FARMER}
          AND (c.hash IS NULL OR c.stake <> p.amount OR c.hash <> coalesce(p.tx_hash, c.hash))""",
    "plant_not_recorded": f"""
        SELECT 'plant_not_recorded', f.id, c.block_index, c.hash, NULL::json,
               json_build_object('tx_hash', c.hash, 'stake', c.stake, 'ledger', c.ledger)
        FROM chain_transactions c JOIN farmers f ON f.custodial_address = c.farmer
        WHERE c.kind = 'plant' AND c.successful AND {_FARMER} AND NOT {_IN_FLIGHT}
          AND NOT EXISTS (SELECT 1 FROM plantings p WHERE p.farmer_id = f.id AND p.block_index = c.block_index)""",
    "harvest": f"""
        SELECT CASE WHEN c.hash IS NULL THEN 'harvest_not_on_chain' ELSE 'harvest_mismatch' END,
               f.id, h.block_index, 'harvest ' || h.id,
               json_build_object('harvest_id', h.id, 'reward', h.reward, 'tx_hash', h.tx_hash, 'ledger', h.ledger),
               CASE WHEN c.hash IS NOT NULL THEN json_build_object('tx_hash', c.hash, 'reward', c.reward,
                                                                   'minted', c.amount_minted, 'ledger', c.ledger) END
        FROM harvests h JOIN farmers f ON f.id = h.farmer_id
        LEFT JOIN chain_transactions c ON c.kind = 'harvest' AND c.successful
             AND c.farmer = f.custodial_address AND c.block_index = h.block_index
        WHERE h.ledger <= %(indexed)s AND {_FARMER}
          AND (c.hash IS NULL OR c.reward <> h.reward OR c.hash <> coalesce(h.tx_hash, c.hash))""",
    "compensation": f"""
        SELECT 'compensation_mismatch', f.id, cp.block_index, 'compensation ' || cp.id,
               json_build_object('compensation_id', cp.id, 'amount', cp.amount, 'announced', a.ledger IS NOT NULL),
               json_build_object('plant_tx', c.hash, 'stake', c.stake, 'work_txs',
                                 (SELECT json_agg(w.hash ORDER BY w.ledger) FROM chain_transactions w
                                  WHERE w.kind = 'work' AND w.successful AND w.farmer = f.custodial_address
                                    AND w.block_index = cp.block_index))
        FROM compensations cp JOIN farmers f ON f.id = cp.farmer_id
        LEFT JOIN plant_announcements a ON a.farmer_id = cp.farmer_id AND a.block_index = cp.block_index
        LEFT JOIN chain_transactions c ON {_CHAIN_PLANT.format(record='cp')}
        WHERE cp.block_index < %(closed)s AND {_FARMER}
          AND (c.hash IS NULL
               OR cp.amount <> CASE WHEN a.ledger IS NULL OR EXISTS (SELECT 1 FROM paused_blocks pb
                                    WHERE pb.block_index = cp.block_index) THEN 0 ELSE c.stake END OR EXISTS (
               SELECT 1 FROM chain_transactions w WHERE w.kind = 'work' AND w.successful
                 AND w.farmer = f.custodial_address AND w.block_index = cp.block_index))""",
    "payout": f"""
        SELECT CASE WHEN c.hash IS NULL THEN 'payout_not_on_chain' ELSE 'payout_mismatch' END,
               f.id, NULL::bigint, 'payout ' || py.id,
               json_build_object('payout_id', py.id, 'recipient', py.recipient, 'destination', py.destination,
                                 'asset', py.asset, 'amount', py.amount, 'tx_hash', py.tx_hash, 'ledger', py.ledger),
               CASE WHEN c.hash IS NOT NULL THEN json_build_object('tx_hash', c.hash, 'successful', c.successful,
                                                                   'operations', c.operations) END
        FROM payouts py JOIN farmers f ON f.id = py.farmer_id
        LEFT JOIN chain_transactions c ON c.hash = py.tx_hash
        WHERE py.status = 'confirmed' AND py.form = 'payment' AND py.asset = 'KALE'
          AND py.ledger <= %(indexed)s AND {_FARMER}
          AND (c.hash IS NULL OR NOT c.successful OR NOT EXISTS (
               SELECT 1 FROM jsonb_array_elements(c.operations) op
               WHERE op->>'destination' = py.destination AND (op->>'amount')::numeric = py.amount
                 AND op->>'asset' = CASE py.asset WHEN 'KALE' THEN %(kale)s ELSE 'native' END))""",
    "intent": """
        WITH hashes AS (SELECT id AS intent_id, tx_hash FROM tx_intents WHERE tx_hash IS NOT NULL
                        UNION SELECT intent_id, tx_hash FROM tx_attempts),
             landed AS (SELECT h.intent_id, array_agg(c.hash ORDER BY c.ledger) AS hashes
                        FROM hashes h JOIN chain_transactions c ON c.hash = h.tx_hash AND c.successful
                        GROUP BY h.intent_id)
        SELECT CASE WHEN coalesce(array_length(l.hashes, 1), 0) > 1 THEN 'sent_twice'
                    WHEN i.status = 'success' THEN 'intent_not_on_chain'
                    ELSE 'intent_outcome_mismatch' END,
               i.farmer_id, i.block_index, 'intent ' || i.id,
               json_build_object('intent_id', i.id, 'key', i.idempotency_key, 'action', i.action,
                                 'status', i.status, 'tx_hash', i.tx_hash, 'ledger', i.ledger),
               json_build_object('successful_transactions', coalesce(l.hashes, ARRAY[]::text[]))
        FROM tx_intents i LEFT JOIN landed l ON l.intent_id = i.id
        WHERE (%(farmer)s::bigint IS NULL OR i.farmer_id = %(farmer)s::bigint)
          AND (coalesce(array_length(l.hashes, 1), 0) > 1
               OR (i.status = 'success' AND i.ledger <= %(indexed)s AND l.hashes IS NULL)
               OR (i.status IN ('failed', 'dead') AND l.hashes IS NOT NULL))""",
    "unexplained": f"""
        SELECT 'unexplained_movement', f.id, e.block_index, e.entry_key, NULL::json,
               json_build_object('tx_hash', e.tx_hash, 'ledger', e.ledger, 'wallet', e.account, 'asset', e.asset,
                                 'amount', e.amount, 'counterparty', e.counterparty)
        FROM custody_entries e JOIN farmers f ON f.id = e.farmer_id AND f.custodial_address = e.account
        WHERE e.class = 'unexplained' AND {_FARMER}""",
    "tx_failed": """
        WITH hashes AS (SELECT id AS intent_id, tx_hash FROM tx_intents WHERE tx_hash IS NOT NULL
                        UNION SELECT intent_id, tx_hash FROM tx_attempts)
        SELECT 'tx_failed', i.farmer_id, i.block_index, c.hash,
               json_build_object('intent_id', i.id, 'key', i.idempotency_key, 'action', i.action,
                                 'status', i.status),
               json_build_object('tx_hash', c.hash, 'ledger', c.ledger, 'result_code', c.result_code,
                                 'contract_error', c.contract_error)
        FROM hashes h JOIN tx_intents i ON i.id = h.intent_id JOIN chain_transactions c ON c.hash = h.tx_hash
        WHERE NOT c.successful AND (%(farmer)s::bigint IS NULL OR i.farmer_id = %(farmer)s::bigint)""",
    "settlement_payouts": f"""
        WITH paid AS (
            SELECT py.settlement_id, py.asset, py.tx_hash, sum(py.amount) AS amount
            FROM payouts py JOIN farmers f ON f.id = py.farmer_id
            WHERE py.status = 'confirmed' AND py.ledger <= %(indexed)s AND {_FARMER}
            GROUP BY py.settlement_id, py.asset, py.tx_hash),
        moved AS (
            SELECT e.tx_hash, e.asset, -sum(e.amount) AS amount
            FROM custody_entries e JOIN farmers f ON f.custodial_address = e.account
            WHERE e.class = 'payout' AND {_FARMER}
            GROUP BY e.tx_hash, e.asset)
        SELECT 'payout_mismatch', s.farmer_id, NULL::bigint, 'settlement ' || s.id || ' ' || paid.asset || ' ' || paid.tx_hash,
               json_build_object('settlement_id', s.id, 'asset', paid.asset, 'tx_hash', paid.tx_hash,
                                 'payouts', paid.amount),
               json_build_object('moved_out_of_wallet', moved.amount)
        FROM paid JOIN settlements s ON s.id = paid.settlement_id
        LEFT JOIN moved ON moved.tx_hash = paid.tx_hash AND moved.asset = paid.asset
        WHERE moved.amount IS DISTINCT FROM paid.amount""",
    "settlement": f"""
        WITH chain AS (
            SELECT sp.id AS period_id,
                   coalesce(sum(h.reward), 0) AS rewards,
                   coalesce(sum(h.reward * coalesce(p.share_bps, po.share_bps)), 0) / 10000 AS share,
                   (SELECT coalesce(sum(cp.amount), 0) FROM compensations cp
                    WHERE cp.farmer_id = s.farmer_id AND cp.pooler_id = sp.pooler_id) AS compensation
            FROM settlement_periods sp JOIN settlements s ON s.id = sp.settlement_id
            JOIN farmers f ON f.id = s.farmer_id JOIN poolers po ON po.id = sp.pooler_id
            LEFT JOIN plantings p ON p.farmer_id = s.farmer_id AND p.pooler_id = sp.pooler_id
            LEFT JOIN chain_transactions h ON h.kind = 'harvest' AND h.successful
                 AND h.farmer = f.custodial_address AND h.block_index = p.block_index
            WHERE {_FARMER}
            GROUP BY sp.id, s.farmer_id, sp.pooler_id)
        SELECT 'settlement_mismatch', s.farmer_id, NULL::bigint, 'settlement period ' || sp.id,
               json_build_object('settlement_id', s.id, 'pooler_id', sp.pooler_id, 'rewards', sp.rewards,
                                 'share', sp.share, 'compensation', sp.compensation, 'offset', sp.offset_amount,
                                 'debt', sp.debt, 'debt_collected', sp.debt_collected, 'amount', sp.amount),
               json_build_object('rewards', chain.rewards, 'share', floor(chain.share),
                                 'compensation', chain.compensation)
        FROM settlement_periods sp JOIN settlements s ON s.id = sp.settlement_id
        JOIN chain ON chain.period_id = sp.id
        WHERE sp.rewards <> chain.rewards OR sp.share <> floor(chain.share) OR sp.compensation <> chain.compensation
           OR sp.offset_amount <> least(sp.share, sp.compensation) OR sp.debt <> sp.compensation - sp.offset_amount
           OR sp.amount <> sp.share - sp.offset_amount - sp.debt_collected""",
}

# Planted pails the chain shows neither harvested nor (if unworked) compensated: candidates
# for "expired", confirmed by asking the RPC whether the Pail entry still exists.
_UNSETTLED_PAILS = f"""
    SELECT f.id, f.custodial_address, c.block_index, c.hash, c.stake,
           EXISTS (SELECT 1 FROM chain_transactions w WHERE w.kind = 'work' AND w.successful
                     AND w.farmer = c.farmer AND w.block_index = c.block_index) AS worked
    FROM chain_transactions c JOIN farmers f ON f.custodial_address = c.farmer
    WHERE c.kind = 'plant' AND c.successful AND c.block_index < %(closed)s AND {_FARMER}
      AND NOT EXISTS (SELECT 1 FROM chain_transactions h WHERE h.kind = 'harvest' AND h.successful
                        AND h.farmer = c.farmer AND h.block_index = c.block_index)
      AND NOT EXISTS (SELECT 1 FROM compensations cp WHERE cp.farmer_id = f.id AND cp.block_index = c.block_index)"""


# Kinds found by checks of their own (check_balances, check_ledgers, expired_pails), not by CHECKS.
BALANCE_KINDS, LEDGER_KINDS, PAIL_KINDS = ("balance_mismatch",), ("ledger_gap",), ("pail_expired",)


@dataclass(frozen=True)
class Found:
    """One mismatch, before it is stored."""

    kind: str
    farmer_id: int | None
    block_index: int | None
    detail: str
    pool_side: Any
    chain_side: Any

    @property
    def fingerprint(self) -> str:
        return f"{self.kind}:{self.farmer_id}:{self.block_index}:{self.detail}"


def _standing(fingerprints: list[str]) -> set[str]:
    """Those fingerprints with a discrepancy open, or resolved while its fault has not gone away."""
    if not fingerprints:
        return set()
    return {row[0] for row in Discrepancy.select(Discrepancy.fingerprint).where(
        Discrepancy.fingerprint.in_(fingerprints), Discrepancy.cleared_at.is_null()).tuples()}


def clear(found: list[Found], kinds: Iterable[str] | None = None, other_than: Iterable[str] = ()) -> int:
    """Mark resolved discrepancies of the checked kinds (`kinds`, or every kind but `other_than`)
    that the check no longer finds as cleared: if their fault comes back, it is raised again."""
    query = Discrepancy.update(cleared_at=fn.now()).where(
        Discrepancy.resolved_at.is_null(False), Discrepancy.cleared_at.is_null(),
        Discrepancy.fingerprint.not_in([item.fingerprint for item in found] or [""]))
    if kinds is not None:
        query = query.where(Discrepancy.kind.in_(list(kinds)))
    if other_than:
        query = query.where(Discrepancy.kind.not_in(list(other_than)))
    return query.execute()


def record(found: list[Found]) -> list[Discrepancy]:
    """Store mismatches that are neither open nor resolved-and-still-there; log each new one as
    an ERROR (the alarm)."""
    new, standing = [], _standing([item.fingerprint for item in found])
    for item in found:
        if item.fingerprint in standing:
            continue
        inserted = (Discrepancy.insert(fingerprint=item.fingerprint, kind=item.kind, farmer=item.farmer_id,
                                       block_index=item.block_index, pool_side=item.pool_side,
                                       chain_side=item.chain_side)
                    .on_conflict_ignore().execute())
        if inserted:
            new.append(Discrepancy.get_by_id(inserted))
            log.error("DISCREPANCY %s: farmer %s block %s (%s): pool %s, chain %s", item.kind, item.farmer_id,
                      item.block_index, item.detail, json.dumps(item.pool_side), json.dumps(item.chain_side))
    return new


def indexed_ledger(scope: str = "pool") -> int | None:
    """The last ledger the chain record covers, or None when the indexer never ran."""
    cursor = IndexerCursor.get_or_none(IndexerCursor.scope == scope)
    return None if cursor is None else cursor.ledger


def open_block(client: ChainClient | None = None, indexed: int | None = None) -> int:
    """The block that was open at ledger `indexed`: every block below it had closed by then.

    From the chain record alone it is the newest block a stored plant went into (exact with
    --scope all; with --scope pool possibly behind, never ahead). With a client, blocks the
    farm opened since are counted once the record covers the ledger that opened them (a
    Block's timestamp is the close time of that ledger).
    """
    stored = newest_planted_block()
    if client is None or indexed is None:
        return stored
    covered = ChainLedger.get_or_none(ChainLedger.sequence == indexed)
    index = client.farm_state().index
    if index - stored > OPEN_BLOCK_LOOKBACK:  # the record is far behind the farm: rows are what it knows
        return stored
    while covered is not None and index > stored:
        block = client.block(index)
        if block is not None and block.value.timestamp <= covered.close_time:
            return index
        index -= 1
    return stored


def find(network: Network, indexed: int, closed: int, farmer_id: int | None = None) -> list[Found]:
    """Every mismatch between pool records and the chain record up to ledger `indexed`, where
    every block below `closed` has closed."""
    params = {"indexed": indexed, "closed": closed, "farmer": farmer_id, "kale": network.kale_asset}
    found = []
    for sql in CHECKS.values():
        for kind, farmer, block, detail, pool_side, chain_side in database.execute_sql(sql, params):
            found.append(Found(kind, farmer, block, detail, pool_side, chain_side))
    return found


def _entries(client: ChainClient, keys: list[xdr.LedgerKey]) -> tuple[dict[str, Any], int]:
    """getLedgerEntries for any number of keys: the entries by key XDR, and the latest ledger
    the RPC answered at (the state they show)."""
    found, answered_at = {}, 0
    for offset in range(0, len(keys), MAX_LEDGER_KEYS):
        try:
            response = client.server.get_ledger_entries(keys[offset:offset + MAX_LEDGER_KEYS])
        except (SdkConnectionError, requests.RequestException) as exc:
            raise RpcUnavailable(f"RPC {client.network.rpc_url} unreachable: {exc}") from None
        found.update((entry.key, entry) for entry in response.entries or [])
        answered_at = max(answered_at, response.latest_ledger)
    return found, answered_at


def expired_pails(client: ChainClient, indexed: int, closed: int, farmer_id: int | None = None) -> list[Found]:
    """Pails of closed blocks neither harvested nor compensated that are gone from the chain (only
    concluded when the record covers the ledger the RPC answered at: a fresh harvest is no expiry)."""
    rows = database.execute_sql(_UNSETTLED_PAILS, {"closed": closed, "farmer": farmer_id}).fetchall()
    if not rows:
        return []
    keys = [storage.pail_ledger_key(client.network.farm_contract, address, block) for _, address, block, *_ in rows]
    entries, answered_at = _entries(client, keys)
    present = {(row[1], row[2]) for row, key in zip(rows, keys) if key.to_xdr() in entries}
    if answered_at > indexed:
        return []
    return [Found("pail_expired", farmer, block, plant_hash,
                  {"compensation": None, "harvest": None},
                  {"plant_tx": plant_hash, "stake": int(stake), "worked": worked, "pail": "gone"})
            for farmer, address, block, plant_hash, stake, worked in rows if (address, block) not in present]


def reconcile(network: Network, farmer_id: int | None = None, client: ChainClient | None = None,
              scope: str = "pool") -> list[Discrepancy]:
    """Match pool records with the chain record (and, given a client, look for expired pails);
    store and return the discrepancies found for the first time. A reconciliation of every
    farmer records the ledger it covered (`indexer_cursor.reconciled_ledger`)."""
    indexed = indexed_ledger(scope)
    if indexed is None:
        return []
    closed = open_block(client, indexed)
    found = find(network, indexed, closed, farmer_id)
    if client is not None:
        found += expired_pails(client, indexed, closed, farmer_id)
    new = record(found)
    if farmer_id is None:
        clear(found, other_than=BALANCE_KINDS + LEDGER_KINDS + (() if client is not None else PAIL_KINDS))
        IndexerCursor.update(reconciled_ledger=indexed).where(IndexerCursor.scope == scope).execute()
    return new


def check_ledgers(scope: str = "pool") -> list[Discrepancy]:
    """Store each missing ledger marker or broken hash link of the record as a discrepancy
    (they cannot happen by construction; this checks anyway)."""
    found = [Found("ledger_gap", None, None, problem, None, {"problem": problem}) for problem in ledger_problems(scope)]
    new = record(found)
    clear(found, kinds=LEDGER_KINDS)
    return new


def check_balances(client: ChainClient, scope: str = "pool") -> list[Discrepancy]:
    """Compare each custodial wallet's KALE trustline and XLM account balance on chain with its
    custody ledger; store and return new mismatches. An entry changed after the cursor is left
    for the next run (its balance is not yet comparable)."""
    indexed = indexed_ledger(scope)
    if indexed is None:
        return []
    farmers = list(Farmer.select().order_by(Farmer.id))
    keys = {("KALE", f.id): client.kale_trustline_key(f.custodial_address) for f in farmers}
    keys.update({("XLM", f.id): account_key(f.custodial_address) for f in farmers})
    entries, answered_at = _entries(client, list(keys.values()))
    sums = {(account, asset): int(total) for account, asset, total in database.execute_sql(
        _LEDGER_SUMS, {"addresses": [f.custodial_address for f in farmers], "indexed": indexed})}
    found = []
    for farmer in farmers:
        for asset in ("KALE", "XLM"):
            entry = entries.get(keys[asset, farmer.id].to_xdr())
            modified = answered_at if entry is None else entry.last_modified_ledger
            if modified > indexed:
                continue
            balance = None if entry is None else _balance(asset, xdr.LedgerEntryData.from_xdr(entry.xdr))
            ledger_sum = sums.get((farmer.custodial_address, asset), 0)
            if (balance or 0) != ledger_sum:
                found.append(Found("balance_mismatch", farmer.id, None, f"{asset} ledger {modified}",
                                   {"asset": asset, "custody_ledger": ledger_sum, "through_ledger": indexed},
                                   {"asset": asset, "balance": balance, "last_modified_ledger": modified}))
    new = record(found)
    clear(found, kinds=BALANCE_KINDS)
    return new


def account_key(address: str) -> xdr.LedgerKey:
    """The LedgerKey of an account."""
    return xdr.LedgerKey(type=xdr.LedgerEntryType.ACCOUNT, account=xdr.LedgerKeyAccount(
        account_id=Keypair.from_public_key(address).xdr_account_id()))


def _balance(asset: str, data: xdr.LedgerEntryData) -> int:
    return data.trust_line.balance.int64 if asset == "KALE" else data.account.balance.int64


_LEDGER_SUMS = """
    SELECT account, asset, sum(amount) FROM custody_entries
    WHERE account = ANY(%(addresses)s) AND ledger <= %(indexed)s
    GROUP BY account, asset"""
