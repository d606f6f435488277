"""The pooler agent's parts wired together on stand-ins (no servers): restart, sending and failures."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from stellar_sdk import Keypair

from chain.kale import count_zeros, kale_hash
from chain.rpc import Ledger
from chain.storage import FarmState
from chain.transactions import Failure
from config.networks import DEVNET
from gpu_miner.agent.board import AgentConfig, BlockRun
from gpu_miner.agent.coordinator import Agent
from gpu_miner.agent.decisions import MAX_FAILURES
from gpu_miner.agent.pool_client import OpenBlock, PlantAnswer, Planted
from gpu_miner.agent.state_file import SUCCESS, Attempt, BlockWork, FarmerWork, Found, StateFile

T = 1_000_000
ENTROPY = bytes(range(32))
INDEX = 12


class Channels:
    """Channel accounts that always exist: `acquire` hands out 0, 1, 2 ..."""

    def __init__(self, count: int = 8) -> None:
        self.count, self.held, self.keypairs = count, set(), []

    def acquire(self) -> int | None:
        free = [i for i in range(self.count) if i not in self.held]
        if free:
            self.held.add(free[0])
            return free[0]
        return None

    def hold(self, index: int) -> None:
        self.held.add(index)

    def release(self, index: int) -> None:
        self.held.discard(index)

    def ensure(self, count: int) -> None:
        pass


class Events:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict]] = []

    def emit(self, event: str, **fields) -> None:
        self.events.append((event, fields))

    def show(self, snapshot) -> None:
        pass

    def named(self, name: str) -> list[dict]:
        return [fields for event, fields in self.events if event == name]


class Pool:
    """The pool's pooler API, never called: background work is recorded, not run."""

    def plant_request(self, block_index: int | None = None) -> None: ...


class Spawned:
    """Background work, recorded instead of run."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple]] = []

    def __call__(self, function, *args):
        self.calls.append((function.__name__, args))

    def sends(self) -> list[tuple[str, int]]:
        """(farmer, nonce) of each work the agent set out to send."""
        return sorted((args[1].address, args[2].nonce) for name, args in self.calls if name == "send_work")


def found(farmer: str, nonce: int) -> Found:
    digest = kale_hash(INDEX, nonce, ENTROPY, farmer)
    return Found(nonce, digest.hex(), count_zeros(digest))


@pytest.fixture
def spawned():
    return Spawned()


@pytest.fixture
def agent(tmp_path, spawned):
    agent = Agent(SimpleNamespace(network=DEVNET), pool=Pool(), searcher=SimpleNamespace(description="stand-in"),
                  pooler=Keypair.random(), channels=Channels(), state=StateFile(tmp_path / "state.json"),
                  events=Events(), config=AgentConfig(margin_ledgers=2), spawn=spawned)
    agent.board.farm = FarmState(index=INDEX, farm_block=None, paused=False, homesteader=None, asset=None)
    return agent


def a_block(*farmers: FarmerWork) -> BlockWork:
    return BlockWork(index=INDEX, entropy=ENTROPY.hex(), timestamp=T, farmers={f.address: f for f in farmers})


def working(agent: Agent, block: BlockWork) -> None:
    """The agent hashes for `block`, whose plants the pool has answered."""
    agent.board.blocks = {block.index: block}
    agent.board.current, agent.board.runs = block.index, {block.index: BlockRun(seen_at=0.0, answered=True)}


def at_ledger(agent: Agent, sequence: int, close_time: int) -> None:
    """The latest ledger is `sequence`, closed at `close_time`; ledgers are 5 s and land in the next one."""
    agent.board.latest = Ledger(sequence, close_time)
    agent.board.clock.observe(sequence - 1, close_time - 5, wall=0.0)
    agent.board.clock.observe(sequence, close_time, wall=5.0)
    agent.settling.landing.observe(0, 1)


def test_a_restart_keeps_verified_nonces_drops_others_and_holds_busy_channels(agent):
    good, bad = Keypair.random().public_key, Keypair.random().public_key
    tampered = found(bad, 5)
    tampered.nonce = 6  # the saved hash is not this nonce's hash
    pending = Attempt("aa" * 32, 1, "00" * 32, 1, channel=3, max_time=T + 299)
    agent.board.blocks = {INDEX: a_block(FarmerWork(good, plant_ledger=40, best=found(good, 7), attempts=[pending]),
                                         FarmerWork(bad, plant_ledger=40, best=tampered)),
                          INDEX - 1: BlockWork(index=INDEX - 1, entropy=ENTROPY.hex(), timestamp=T - 300)}
    agent.board.latest = Ledger(100, T + 100)
    agent.restore()
    farmers = agent.board.blocks[INDEX].farmers
    assert farmers[good].best == found(good, 7) and farmers[bad].best is None
    assert [e["where"] for e in agent.board.events.named("error")] == ["verify"]
    assert agent.board.current == INDEX and 3 in agent.sending.channels.held
    assert agent.board.runs[INDEX - 1].mining_done and not agent.board.runs[INDEX].mining_done


def test_first_works_wait_for_the_target_ledger(agent, spawned):
    farmer = Keypair.random().public_key
    working(agent, a_block(FarmerWork(farmer, plant_ledger=41, best=found(farmer, 1))))
    at_ledger(agent, 150, T + 250)  # last safe ledger 159, target 157
    agent.sending.submit_due()
    assert spawned.sends() == []
    at_ledger(agent, 156, T + 280)  # a work sent now lands in 157
    agent.sending.submit_due()
    assert spawned.sends() == [(farmer, 1)]


def test_a_better_hash_is_resubmitted_while_it_can_still_land(agent, spawned):
    better, same, late = (Keypair.random().public_key for _ in range(3))
    landed = lambda zeros: [Attempt("bb" * 32, 0, "00" * 32, zeros, 0, T + 299, status=SUCCESS)]
    working(agent, a_block(
        FarmerWork(better, plant_ledger=41, best=Found(9, "00", 6), attempts=landed(5), chain_zeros=5),
        FarmerWork(same, plant_ledger=41, best=Found(9, "00", 5), attempts=landed(5), chain_zeros=5)))
    at_ledger(agent, 157, T + 285)
    agent.sending.submit_due()
    assert spawned.sends() == [(better, 9)]
    spawned.calls.clear()
    agent.board.blocks[INDEX].farmers[late] = FarmerWork(late, plant_ledger=41, best=Found(9, "00", 6),
                                                         attempts=landed(5), chain_zeros=5)
    at_ledger(agent, 159, T + 295)  # nothing sent now can land before T + 300
    agent.sending.submit_due()
    assert spawned.sends() == []


def test_a_farmer_is_never_sent_in_its_plant_ledger(agent, spawned):
    farmer = Keypair.random().public_key
    working(agent, a_block(FarmerWork(farmer, plant_ledger=160, best=found(farmer, 1))))
    at_ledger(agent, 160, T + 310)
    agent.sending.submit_due()
    assert spawned.sends() == []


def planted_block(agent: Agent) -> tuple[BlockWork, FarmerWork]:
    address = Keypair.random().public_key
    farmer = FarmerWork(address, plant_ledger=41, best=found(address, 1))
    working(agent, a_block(farmer))
    at_ledger(agent, 157, T + 285)
    return agent.board.blocks[INDEX], farmer


def test_a_missing_pail_closes_the_farmer_for_the_block(agent, spawned):
    block, farmer = planted_block(agent)
    agent.settling.after_failure(block, farmer, Failure("contract", "simulation", contract_code=9))
    assert farmer.closed == "#9 PailMissing"
    agent.sending.submit_due()
    assert spawned.sends() == []


def test_a_failed_work_is_tried_again_next_ledger_and_given_up_after_a_few(agent, spawned):
    block, farmer = planted_block(agent)
    refused = Failure("rejected", "txMALFORMED")
    agent.settling.after_failure(block, farmer, refused)
    agent.sending.submit_due()
    assert spawned.sends() == []  # not in the same ledger
    at_ledger(agent, 158, T + 290)
    agent.sending.submit_due()
    assert spawned.sends() == [(farmer.address, 1)]
    for _ in range(MAX_FAILURES - 1):
        agent.settling.after_failure(block, farmer, refused)
    assert farmer.closed == f"{MAX_FAILURES} failed works, last txMALFORMED"


def test_a_fee_refusal_doubles_the_inclusion_fee_and_never_gives_up(agent):
    block, farmer = planted_block(agent)
    for _ in range(MAX_FAILURES + 1):
        agent.settling.after_failure(block, farmer, Failure("fee_too_low", "txINSUFFICIENT_FEE"))
    assert farmer.closed is None and agent.settling.fee == 100 * 2 ** (MAX_FAILURES + 1)


def test_each_search_call_covers_the_farmers_with_the_fewest_zeros_on_fresh_nonces(agent):
    low, high = Keypair.random().public_key, Keypair.random().public_key
    working(agent, a_block(FarmerWork(low, plant_ledger=41, best=Found(1, "00", 2)),
                           FarmerWork(high, plant_ledger=41, best=Found(2, "00", 5))))
    agent.board.latest = Ledger(100, T + 100)
    _, _, farmers, start, count = agent.hashing.next_search()
    _, _, _, next_start, _ = agent.hashing.next_search()
    assert farmers == [low] and next_start == start + count


def test_a_plant_answer_switches_to_its_block_and_lists_the_planted_farmers(agent, spawned):
    farmer = Keypair.random().public_key
    agent.board.latest = Ledger(100, T + 10)
    agent.planting.request_plant()
    assert [(name, args) for name, args in spawned.calls] == [("plant_request", (None,))]
    answer = PlantAnswer(block=OpenBlock(INDEX, ENTROPY, T), planted=[Planted(farmer, INDEX, 99, 500, 1)], failed=[])
    agent.planting.on_planted(answer)
    assert agent.board.current == INDEX and agent.board.blocks[INDEX].farmers[farmer].plant_ledger == 99
    assert [e["block"] for e in agent.board.events.named("planted")] == [INDEX]
    assert agent.board.runs[INDEX].answered
