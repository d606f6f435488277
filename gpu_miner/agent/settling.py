"""What becomes of each sent work: resolved from the chain once per ledger, resent while missing, recorded
when it lands, fails or expires; and after a failure, whether and when to try again and at what fee."""
from __future__ import annotations

import requests
from stellar_sdk import scval
from stellar_sdk.exceptions import BaseRequestError
from stellar_sdk.soroban_rpc import GetTransactionStatus

from chain.rpc import ChainClient, RpcUnavailable
from chain.transactions import Failure, classify_failed, return_value
from gpu_miner.agent import decisions, policy
from gpu_miner.agent.board import AgentConfig, Board, Spawn
from gpu_miner.agent.channels import Channels
from gpu_miner.agent.state_file import EXPIRED, FAILED, SUCCESS, Attempt, BlockWork, FarmerWork

TRANSIENT = (RpcUnavailable, BaseRequestError, requests.RequestException)


class Settling:
    """The agent's sent works and fee state.

    in_flight: (block, farmer) being sent or resolved right now; not_before: the first
    ledger a farmer may be sent again after a failure; fee: the inclusion fee for new works.
    """

    def __init__(self, board: Board, client: ChainClient, channels: Channels, config: AgentConfig,
                 spawn: Spawn) -> None:
        self.board, self.client, self.channels, self.config, self.spawn = board, client, channels, config, spawn
        self.in_flight: set[decisions.Key] = set()
        self.not_before: dict[decisions.Key, int] = {}
        self.failures: dict[decisions.Key, int] = {}
        self.fee = config.base_fee
        self.top_up = False  # a channel ran out of XLM
        self.landing = policy.LandingDelay()
        self._envelopes: dict[str, tuple[str, int]] = {}  # tx hash -> (signed XDR, ledger when last sent)
        self._decided: dict[str, int] = {}  # tx hash -> latest ledger when sending it was decided

    def record(self, farmer: FarmerWork, attempt: Attempt, signed: str, ledger: int, decided: int) -> None:
        """Write an attempt down before it is sent, so a restart resolves it from the chain."""
        with self.board.lock:
            farmer.attempts.append(attempt)
            self._envelopes[attempt.tx_hash] = (signed, ledger)
            self._decided[attempt.tx_hash] = decided
        self.board.save()

    def wait_a_ledger(self, block: BlockWork, farmer: FarmerWork) -> None:
        """Try this farmer again from the next ledger on (after a send that did not go out)."""
        with self.board.lock:
            self.not_before[(block.index, farmer.address)] = self.board.latest.sequence + 1

    def busy(self, block: BlockWork) -> bool:
        """Some work of this block is pending on chain or being sent or resolved."""
        with self.board.lock:
            return any(f.pending is not None or (block.index, f.address) in self.in_flight
                       for f in block.farmers.values())

    def resolve_pending(self) -> None:
        """Look up every pending work transaction once per new ledger (each in the background)."""
        with self.board.lock:
            for block in self.board.blocks.values():
                for farmer in block.farmers.values():
                    attempt = farmer.pending
                    key = (block.index, farmer.address)
                    if attempt is not None and key not in self.in_flight:
                        self.in_flight.add(key)
                        self.spawn(self.resolve, block, farmer, attempt)

    def resolve(self, block: BlockWork, farmer: FarmerWork, attempt: Attempt) -> None:
        """Settle one attempt from the chain's answer, or resend it while it is missing."""
        try:
            found = self.client.transaction(attempt.tx_hash)
            if found.status == GetTransactionStatus.SUCCESS:
                value = return_value(found)
                gap = scval.from_uint32(value) if value is not None else None
                self.settle(block, farmer, attempt, SUCCESS, ledger=found.ledger, gap=gap)
            elif found.status == GetTransactionStatus.FAILED:
                self.settle(block, farmer, attempt, FAILED, ledger=found.ledger, failure=classify_failed(found))
            elif found.latest_ledger_close_time is not None and int(found.latest_ledger_close_time) > attempt.max_time:
                self.settle(block, farmer, attempt, EXPIRED)
            else:
                self._resend(attempt, found.latest_ledger)
        except TRANSIENT as exc:
            self.board.events.emit("error", where="rpc", message=str(exc)[:300])
        finally:
            with self.board.lock:
                self.in_flight.discard((block.index, farmer.address))

    def _resend(self, attempt: Attempt, latest: int) -> None:
        """A transaction missing from the chain a while after sending is sent again (same envelope)."""
        with self.board.lock:
            kept = self._envelopes.get(attempt.tx_hash)
            if kept is None or not decisions.should_resend(latest, kept[1]):
                return
            self._envelopes[attempt.tx_hash] = (kept[0], latest)
        self.client.send(kept[0])

    def settle(self, block: BlockWork, farmer: FarmerWork, attempt: Attempt, status: str,
               ledger: int | None = None, gap: int | None = None, failure: Failure | None = None) -> None:
        """Record what became of an attempt, free its channel, and say so."""
        with self.board.lock:
            attempt.status, attempt.ledger, attempt.gap = status, ledger, gap
            attempt.reason = failure.name if failure is not None else None
            if status == SUCCESS:
                farmer.chain_zeros = max(farmer.chain_zeros or 0, attempt.zeros)
            decided = self._decided.pop(attempt.tx_hash, None)
            if decided is not None and ledger is not None:
                self.landing.observe(decided, ledger)
            self._envelopes.pop(attempt.tx_hash, None)
            self.board.changed()
        self.channels.release(attempt.channel)
        if failure is not None:
            self.after_failure(block, farmer, failure)
        self.board.events.emit("confirmed", block=block.index, farmer=farmer.address, tx_hash=attempt.tx_hash,
                               status=status, ledger=ledger, gap=gap, zeros=attempt.zeros, reason=attempt.reason)

    def after_failure(self, block: BlockWork, farmer: FarmerWork, failure: Failure) -> None:
        """Apply decisions.after_failure: at most one try per ledger, the fee, top-ups, giving up."""
        key = (block.index, farmer.address)
        with self.board.lock:
            self.failures[key] = self.failures.get(key, 0) + 1
            self.not_before[key] = self.board.latest.sequence + 1
            outcome = decisions.after_failure(failure, self.failures[key], self.fee, self.config.base_fee)
            self.fee = outcome.fee
            self.top_up = self.top_up or outcome.top_up
            if outcome.closed is not None:
                farmer.closed = outcome.closed
            self.board.changed()
        if outcome.learn_pail_zeros:
            pail = self.client.pails([(farmer.address, block.index)]).get((farmer.address, block.index))
            if pail is not None and pail.value.zeros is not None:
                with self.board.lock:
                    farmer.chain_zeros = max(farmer.chain_zeros or 0, pail.value.zeros)

    def forget(self) -> None:
        """Drop failure counts of blocks no longer kept (lock held)."""
        for tries in (self.failures, self.not_before):
            for key in [k for k in tries if k[0] not in self.board.blocks]:
                del tries[key]
