"""The outbox: the one way the pool sends a transaction, exactly once.

An intent (one action: plant farmer F in block B, harvest, pay out settlement S...)
is written with its signed envelope, hash, source, sequence and time bound, and
committed, before the first submit. From then on only the chain decides:
`step` looks the hash up, resubmits the same envelope while it may still land,
and declares it dead only once a closed ledger is past its time bound and the
hash is not on chain. Only then may `send` sign a new envelope for the action.
A transaction that landed and failed is a fact to re-plan from, not an end: the
next `send` of the action builds a new envelope from fresh chain state (every
envelope stays in `tx_attempts` for the auditor).
A unique key per action and one live transaction per source account (both
enforced by PostgreSQL) make a second transaction for the same action, or a
sequence-number collision, impossible.
"""
from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable

from peewee import IntegrityError, fn
from stellar_sdk import TransactionEnvelope
from stellar_sdk.soroban_rpc import GetTransactionResponse, GetTransactionStatus

from chain.custody import CustodialRow, Signer
from chain.fee_bump import inner_envelope
from chain.rpc import ChainClient, RpcUnavailable
from chain.transactions import Failure, classify_failed, classify_send, envelope_max_time
from config import Settings
from db.attempts import TxAttempt
from db.connection import database
from db.chain_models import Discrepancy
from db.models import TxIntent
from jobs import faults
from jobs.fee_sponsor import fee_sponsor_for
from jobs.stopwatch import Stopwatch

log = logging.getLogger(__name__)

LIVE = ("new", "submitted")
FINAL = ("success", "failed")
REPLANNABLE = ("dead", "failed")  # the envelope can no longer land: a new one may be signed

# build(sequence, max_time, fee) -> unsigned envelope; the farmer's Signer then signs it in place.
Build = Callable[[int, int, int], TransactionEnvelope]
# Called inside the transaction that finalizes the intent, so its records are written once.
Handler = Callable[[TxIntent, GetTransactionResponse], None]
HANDLERS: dict[str, Handler] = {}


def handles(action: str) -> Callable[[Handler], Handler]:
    """Register the function that records `action`'s final result; it sits next to the action."""
    def register(handler: Handler) -> Handler:
        HANDLERS[action] = handler
        return handler
    return register


class SourceBusy(RuntimeError):
    """The source account has a live transaction; try this action again later."""


@dataclass(frozen=True)
class Action:
    """What an intent is for: its idempotency key and the columns that describe it."""

    key: str
    action: str
    source: str
    farmer_id: int | None = None
    pooler_id: int | None = None
    block_index: int | None = None
    settlement_id: int | None = None
    payout_id: int | None = None
    amount: int | None = None


class Outbox:
    """Sends and resolves intents against one chain; the handlers registered with `handles` record
    final results per action."""

    def __init__(self, client: ChainClient, settings: Settings):
        self.client = client
        self.settings = settings
        self.stopwatch = Stopwatch()
        self.sponsor = fee_sponsor_for(settings)  # None unless KALEPOOL_FEE_SPONSOR is on

    # -- sending -------------------------------------------------------------------------

    def send(self, action: Action, build: Build, sign: Signer, farmer: CustodialRow) -> TxIntent:
        """Make sure `action` has an envelope signed as `farmer`, recorded, and push it one step.

        An existing live or successful intent is only stepped; a dead or failed one gets a
        new envelope built from fresh chain state (its predecessor can no longer land).
        """
        intent = TxIntent.get_or_none(TxIntent.idempotency_key == action.key)
        if intent is None:
            intent = self._create(action, build, sign, farmer)
        elif intent.status in REPLANNABLE and intent.error_code != "frozen":
            intent = self._rebuild(intent, build, sign, farmer)
        return self.step(intent)

    def _signed(self, source: str, build: Build, sign: Signer, farmer: CustodialRow,
                attempt: int) -> TransactionEnvelope:
        account = self.client.account(source)
        if account is None:
            raise SourceBusy(f"source account {source} does not exist on chain")
        latest = self.client.latest_ledger()
        fee = self.settings.base_fee_stroops * (2 ** min(attempt - 1, 6))
        with self.stopwatch.phase("simulate"):
            envelope = build(account.sequence, latest.close_time + self.settings.tx_timeout_seconds, fee)
        with self.stopwatch.phase("sign"):
            sign(farmer, envelope)
        return self.sponsor.wrap(source, envelope) if self.sponsor else envelope

    def _create(self, action: Action, build: Build, sign: Signer, farmer: CustodialRow) -> TxIntent:
        envelope = self._signed(action.source, build, sign, farmer, attempt=1)
        try:
            with database.atomic():
                intent = TxIntent.create(
                    idempotency_key=action.key, action=action.action, source=action.source,
                    farmer=action.farmer_id, pooler=action.pooler_id, block_index=action.block_index,
                    settlement=action.settlement_id, payout=action.payout_id,
                    amount=action.amount, status="new", attempts=1, **_envelope_columns(envelope))
                _record_attempt(intent, envelope)
        except IntegrityError:
            existing = TxIntent.get_or_none(TxIntent.idempotency_key == action.key)
            if existing is not None:
                return existing  # another worker recorded this action first; ours is never sent
            raise SourceBusy(f"source {action.source} has a live transaction") from None
        faults.crash_point("after_intent_commit")
        return intent

    def _rebuild(self, intent: TxIntent, build: Build, sign: Signer, farmer: CustodialRow) -> TxIntent:
        envelope = self._signed(intent.source, build, sign, farmer, attempt=intent.attempts + 1)
        try:
            with database.atomic():
                updated = (TxIntent.update(status="new", attempts=TxIntent.attempts + 1,
                                           error_code=None, error_detail=None, submitted_at=None,
                                           ledger=None, resolved_at=None, **_envelope_columns(envelope))
                           .where(TxIntent.id == intent.id, TxIntent.status.in_(REPLANNABLE)).execute())
                if updated:
                    _record_attempt(TxIntent.get_by_id(intent.id), envelope)
        except IntegrityError:
            raise SourceBusy(f"source {intent.source} has a live transaction") from None
        faults.crash_point("after_intent_commit")
        return TxIntent.get_by_id(intent.id)

    # -- resolving -----------------------------------------------------------------------

    def step(self, intent: TxIntent) -> TxIntent:
        """Advance a live intent by what the chain says; final and dead intents are returned as they are."""
        if intent.status not in LIVE:
            return intent
        found = self.client.transaction(intent.tx_hash)
        if found.status != GetTransactionStatus.NOT_FOUND:
            return self._finalize(intent, found)
        if self.client.latest_ledger().close_time > intent.max_time:
            return self._mark_dead(intent)
        return self._submit(intent)

    def _submit(self, intent: TxIntent) -> TxIntent:
        with self.stopwatch.phase("submit"):
            response = self.client.send(intent.envelope_xdr)
        faults.crash_point("after_submit")
        failure = classify_send(response)
        if failure is not None and failure.kind == "frozen":
            return self._freeze(intent, failure)
        if failure is None:
            (TxIntent.update(status="submitted", submitted_at=fn.now(), error_code=None, error_detail=None)
             .where(TxIntent.id == intent.id, TxIntent.status.in_(LIVE)).execute())
        else:
            # Refused now (never queued): the same envelope is retried until its time bound
            # passes; only then is it dead and may be replaced.
            log.info("intent %s (%s) refused: %s", intent.id, intent.idempotency_key, failure.name)
            (TxIntent.update(error_code=failure.kind, error_detail=_detail(failure))
             .where(TxIntent.id == intent.id, TxIntent.status.in_(LIVE)).execute())
        return TxIntent.get_by_id(intent.id)

    def _finalize(self, intent: TxIntent, found: GetTransactionResponse) -> TxIntent:
        faults.crash_point("before_result_recorded")
        success = found.status == GetTransactionStatus.SUCCESS
        failure = None if success else classify_failed(found)
        with database.atomic():
            updated = (TxIntent.update(
                status="success" if success else "failed", ledger=found.ledger,
                error_code=None if failure is None else failure.kind,
                error_detail=None if failure is None else _detail(failure),
                resolved_at=fn.now())
                .where(TxIntent.id == intent.id, TxIntent.status.in_(LIVE)).execute())
            intent = TxIntent.get_by_id(intent.id)
            handler = HANDLERS.get(intent.action)
            if updated and handler is not None:
                handler(intent, found)
        if failure is not None:
            log.warning("intent %s (%s) failed on chain: %s", intent.id, intent.idempotency_key,
                        failure.name)
        return intent

    def _freeze(self, intent: TxIntent, failure: Failure) -> TxIntent:
        """A frozen ledger key (CAP-77) refused the envelope: the action is over, never rebuilt; an alarm."""
        with database.atomic():
            (TxIntent.update(status="dead", error_code="frozen", error_detail=_detail(failure))
             .where(TxIntent.id == intent.id, TxIntent.status.in_(LIVE)).execute())
            (Discrepancy.insert(fingerprint=f"frozen_key:intent:{intent.id}", kind="frozen_key",
                                farmer=intent.farmer_id, block_index=intent.block_index,
                                pool_side={"intent_id": intent.id, "key": intent.idempotency_key},
                                chain_side={"refused": _detail(failure)})
             .on_conflict_ignore().execute())
        log.error("intent %s (%s) touches a frozen ledger key: the action is terminal", intent.id,
                  intent.idempotency_key)
        return TxIntent.get_by_id(intent.id)

    def _mark_dead(self, intent: TxIntent) -> TxIntent:
        (TxIntent.update(status="dead", error_code=intent.error_code or "expired",
                         error_detail=intent.error_detail or "time bound passed, not on chain")
         .where(TxIntent.id == intent.id, TxIntent.status.in_(LIVE)).execute())
        log.info("intent %s (%s) is dead: its time bound passed and it is not on chain",
                 intent.id, intent.idempotency_key)
        return TxIntent.get_by_id(intent.id)

    def confirm(self, intents: list[TxIntent], wait_seconds: float,
                pool: ThreadPoolExecutor | None = None) -> list[TxIntent]:
        """Step `intents` once per new ledger until none is live or `wait_seconds` pass.

        Returns them as they ended up (live ones that ran out of time stay live).
        """
        final = [intent for intent in intents if intent.status not in LIVE]
        live = [intent for intent in intents if intent.status in LIVE]
        deadline = time.monotonic() + wait_seconds
        seen = self.client.latest_ledger().sequence if live else 0
        with self.stopwatch.phase("confirm"):
            while live and time.monotonic() < deadline:
                latest = self.client.latest_ledger().sequence
                if latest == seen:
                    time.sleep(0.05)
                    continue
                seen = latest
                stepped = list(pool.map(self._step_fresh, live) if pool else map(self._step_fresh, live))
                final += [intent for intent in stepped if intent.status not in LIVE]
                live = [intent for intent in stepped if intent.status in LIVE]
        return final + live

    def _step_fresh(self, intent: TxIntent) -> TxIntent:
        with database.connection_context():
            try:
                return self.step(TxIntent.get_by_id(intent.id))
            except RpcUnavailable:
                return intent

    def resolve_open(self, limit: int = 500) -> int:
        """Step every live intent once (oldest first); returns how many were stepped."""
        stepped = 0
        for intent in (TxIntent.select().where(TxIntent.status.in_(LIVE))
                       .order_by(TxIntent.id).limit(limit)):
            try:
                self.step(intent)
                stepped += 1
            except Exception:  # one intent's trouble never blocks the others
                log.exception("intent %s could not be stepped", intent.id)
        return stepped


def _envelope_columns(envelope: TransactionEnvelope) -> dict[str, Any]:
    inner = inner_envelope(envelope)  # a fee bump's sequence and time bound are its inner transaction's
    return {"envelope_xdr": envelope.to_xdr(), "tx_hash": envelope.hash_hex(),
            "sequence": inner.transaction.sequence, "max_time": envelope_max_time(inner),
            "fee": envelope.transaction.fee}


def _record_attempt(intent: TxIntent, envelope: TransactionEnvelope) -> None:
    columns = _envelope_columns(envelope)
    TxAttempt.create(intent=intent.id, attempt=intent.attempts, source=intent.source, **columns)


def _detail(failure: Failure) -> str:
    return f"{failure.name}: {failure.detail}" if failure.detail else failure.name
