"""Sending work: each planted farmer's best hash goes out as `work` from its own channel account, timed to
land `margin` ledgers before the block's last safe ledger, and again when a clearly better hash can still land.

Every hash is recomputed on the host before it is sent. What becomes of a sent work
is settling.py's; when to send is decisions.due_works on the board's figures.
"""
from __future__ import annotations

import time
from concurrent.futures import Future
from dataclasses import replace

from chain import calls
from chain.kale import count_zeros, kale_hash
from chain.rpc import ChainClient
from chain.transactions import SimulationFailed, build_invocation, classify_send, sign_with
from gpu_miner.agent import decisions, policy
from gpu_miner.agent.board import AgentConfig, Board, Spawn
from gpu_miner.agent.channels import Channels, FundingError
from gpu_miner.agent.settling import TRANSIENT, Settling
from gpu_miner.agent.state_file import FAILED, Attempt, BlockWork, FarmerWork, Found

CHANNELS_RETRY_SECONDS = 5.0


class Sending:
    """Decides which works are due, sends them in the background, and keeps enough channel accounts."""

    def __init__(self, board: Board, client: ChainClient, channels: Channels, settling: Settling,
                 config: AgentConfig, spawn: Spawn) -> None:
        self.board, self.client, self.channels, self.settling = board, client, channels, settling
        self.config, self.spawn = config, spawn
        self.contract = client.network.farm_contract
        self.submit_seconds = 0.3  # build + send latency, learned from each send
        self._channels_job: Future | None = None
        self._channels_wanted = 0  # how many the ensure in flight makes
        self._channels_retry_at = 0.0

    # -- channels ------------------------------------------------------------------------------------
    def restore(self) -> None:
        """After a (re)start: drop saved nonces that do not verify, hold the channels of pending works."""
        highest = 0
        with self.board.lock:
            for block in self.board.blocks.values():
                for farmer in block.farmers.values():
                    if farmer.best is not None and not self.verified(block, farmer.address, farmer.best):
                        farmer.best = None
                    if farmer.pending is not None:
                        self.channels.hold(farmer.pending.channel)
                        highest = max(highest, farmer.pending.channel + 1)
        if highest:
            self.ensure_channels(highest)

    def ensure_channels(self, count: int) -> None:
        """Create (or top up, after a channel ran out of XLM) up to `count` channels in the background."""
        count = min(max(count, self.channels.count), self.config.max_channels)
        if (count <= self.channels.count and not self.settling.top_up) or self._channels_job is not None:
            return
        if count == 0 or time.monotonic() < self._channels_retry_at:
            return
        self.settling.top_up = False
        self._channels_wanted = count
        self._channels_job = self.spawn(self.channels.ensure, count)

    def collect_channels(self) -> None:
        """Take the outcome of a finished channel job; a failure is said and retried a little later."""
        future = self._channels_job
        if future is None or not future.done():
            return
        self._channels_job = None
        try:
            future.result()
        except (FundingError, *TRANSIENT) as exc:
            self._channels_retry_at = time.monotonic() + CHANNELS_RETRY_SECONDS
            self.board.events.emit("error", where="channels", message=str(exc)[:300],
                                   retry_in=CHANNELS_RETRY_SECONDS)

    # -- when ----------------------------------------------------------------------------------------
    def lead(self, block: BlockWork) -> int:
        """Ledgers ahead of the target to send: the send latency, plus waves when channels are few."""
        channels = max(self.channels.count, self._channels_wanted if self._channels_job else 0)
        fallback = policy.lead_ledgers(self.submit_seconds, self.board.clock.wall_seconds)
        return decisions.send_lead(self.settling.landing.lead(fallback), decisions.unsent(block), channels)

    def unfinished(self, block: BlockWork) -> bool:
        """Works of this block still in flight, or found and never sent, while it is still open."""
        if not self.board.is_open(block):
            return False
        with self.board.lock:
            return decisions.unfinished_sends(block, self.settling.in_flight)

    def submit_due(self) -> None:
        """Send every due work of the open block, one channel each, first works before resubmissions."""
        block = self.board.current_block()
        if block is None or not self.board.is_open(block):
            return
        self.ensure_channels(sum(1 for f in block.farmers.values() if f.plant_ledger is not None))
        if self.channels.count == 0:
            return
        latest = self.board.latest
        with self.board.lock:
            limit = self.board.deadline(block, self.config.margin_ledgers)
            due = decisions.due_works(block, latest.sequence, limit, self.lead(block), self.config.min_extra_zeros,
                                      self.settling.in_flight, self.settling.not_before)
            for farmer, again in due:
                channel = self.channels.acquire()
                if channel is None:
                    break
                self.settling.in_flight.add((block.index, farmer.address))
                self.spawn(self.send_work, block, farmer, replace(farmer.best), channel, limit.target, again,
                           latest.sequence)

    # -- how -----------------------------------------------------------------------------------------
    def verified(self, block: BlockWork, address: str, found: Found) -> bool:
        """Recompute the hash on the host; a mismatch is reported and never sent."""
        digest = kale_hash(block.index, found.nonce, block.entropy_bytes, address)
        if digest.hex() == found.hash and count_zeros(digest) == found.zeros:
            return True
        self.board.events.emit("error", where="verify", message=f"block {block.index} farmer {address}: nonce "
                                                                f"{found.nonce} does not give the hash found; dropped")
        return False

    def send_work(self, block: BlockWork, farmer: FarmerWork, found: Found, channel: int, target: int,
                  again: bool, decided: int) -> None:
        """Build, record, sign and send one `work` from a channel (in the background)."""
        began = time.monotonic()
        release = True
        try:
            if not self.verified(block, farmer.address, found):
                with self.board.lock:
                    if farmer.best is not None and farmer.best.nonce == found.nonce:
                        farmer.best = None
                return
            keypair = self.channels.keypairs[channel]
            account = self.client.account(keypair.public_key)
            if account is None:
                raise FundingError(f"channel {channel} ({keypair.public_key}) does not exist")
            latest = self.client.latest_ledger()
            max_time = policy.work_max_time(block.timestamp, latest.close_time, self.board.clock.ledger_seconds,
                                            self.config.tx_timeout)
            operation = calls.work(self.contract, farmer.address, bytes.fromhex(found.hash), found.nonce)
            envelope = build_invocation(self.client, keypair.public_key, account.sequence, operation,
                                        self.settling.fee, max_time)
            signed = sign_with(envelope, keypair)
            attempt = Attempt(tx_hash=envelope.hash_hex(), nonce=found.nonce, hash=found.hash, zeros=found.zeros,
                              channel=channel, max_time=max_time)
            self.settling.record(farmer, attempt, signed, latest.sequence, decided)
            release = False
            failure = classify_send(self.client.send(signed))
            self.submit_seconds = 0.7 * self.submit_seconds + 0.3 * (time.monotonic() - began)
            if failure is not None:
                self.settling.settle(block, farmer, attempt, FAILED, failure=failure)
                return
            self.board.events.emit("submitted", block=block.index, farmer=farmer.address, zeros=found.zeros,
                                   nonce=found.nonce, hash=found.hash, tx_hash=attempt.tx_hash, channel=channel,
                                   ledger=latest.sequence, target=target, resubmission=again)
        except SimulationFailed as exc:
            self.settling.after_failure(block, farmer, exc.failure)
            self.board.events.emit("error", where="submit", message=f"block {block.index} farmer {farmer.address}: "
                                                                    f"{exc.failure.name} {exc.failure.detail}"[:300])
        except (FundingError, *TRANSIENT) as exc:
            self.settling.wait_a_ledger(block, farmer)
            self.board.events.emit("error", where="submit", message=f"block {block.index} farmer {farmer.address}: "
                                                                    f"{exc}"[:300])
        finally:
            if release:
                self.channels.release(channel)
            with self.board.lock:
                self.settling.in_flight.discard((block.index, farmer.address))
