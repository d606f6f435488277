"""A long randomized run: 30 farmers, 3 poolers, 20 blocks of switches, exits, outsider harvests,
deposits, transactions made to fail on chain and a scheduler killed at random; afterwards the
money adds up to the stroop, by the chain."""
import contextlib
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from stellar_sdk import Asset, Payment

from chain import calls
from chain.kale import STROOPS_PER_KALE
from chain.transactions import SimulationFailed
from db.chain_models import ChainKaleMovement, ChainTransaction, Discrepancy
from db.custody_ledger import wallet_balance
from db.models import Farmer, Harvest, Payout, Settlement, SettlementPeriod, TxIntent
from db.settlement_figures import pails
from chain.amounts import format_stroops
from jobs.settlement import waiting_for

ROOT = Path(__file__).resolve().parents[1]
BLOCKS = 20
SEED = int(os.environ.get("KALEPOOL_LONG_RUN_SEED", "20261130"))
NOT_ABOUT_MONEY = ("tx_failed",)  # informational: failed transactions are rebuilt


class Scheduler:
    """`manage.py scheduler` as the deployment runs it, killable at any moment."""

    def __init__(self, harness, log_dir: Path):
        self.env = {**os.environ, "DATABASE_URL": harness.settings.database_url,
                    "KALEPOOL_STATE_DIR": str(harness.settings.state_dir),
                    "KALEPOOL_RPC_URL": harness.settings.network.rpc_url, "KALEPOOL_JOB_INTERVAL_SECONDS": "0.3"}
        self.log_dir, self.starts, self.process = log_dir, 0, None

    def start(self) -> None:
        self.starts += 1
        log = open(self.log_dir / f"scheduler-{self.starts}.log", "wb")
        self.process = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "scheduler"], env=self.env,
                                        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()


@pytest.fixture
def scheduler(pool_harness, tmp_path):
    process = Scheduler(pool_harness, tmp_path)
    process.start()
    yield process
    process.kill()


def work_planted(harness, pooler, answer: dict, rng: random.Random, skip_share: float) -> None:
    """Work the planted pails from the pooler's account, leaving a random share unworked."""
    entropy = bytes.fromhex(answer["block"]["entropy"])
    for planted in answer["planted"]:
        if rng.random() >= skip_share:
            harness.work(pooler, planted["address"], planted["block_index"], entropy)


def kale_left_in_payouts(settlement: Settlement) -> int:
    """KALE that left the wallet in the settlement's landed payout transactions, by the chain record."""
    wallet = settlement.farmer.custodial_address
    hashes = [i.tx_hash for i in TxIntent.select().where(TxIntent.settlement == settlement.id,
                                                         TxIntent.status == "success")]
    return sum(m.amount for m in ChainKaleMovement.select().where(ChainKaleMovement.tx_hash.in_(hashes),
                                                                  ChainKaleMovement.from_address == wallet))


@pytest.mark.slow
def test_thirty_farmers_three_poolers_twenty_blocks_of_chaos_settle_to_the_stroop(pool_harness, scheduler):
    harness, rng = pool_harness, random.Random(SEED)
    poolers = [harness.new_pooler(share_bps=share) for share in (5000, 3000, 1000)]
    # Keepers never leave, so blocks keep opening. The first harvests only every 240 blocks, so the
    # pool's schedule leaves its pails alone and an outsider's harvest of one never races the scheduler.
    keepers = [harness.new_farmer(pooler, harvest_interval_blocks=240 if pooler is poolers[0] else 1)
               for pooler in poolers]
    hoarder = keepers[0]
    farmers = [harness.new_farmer(poolers[n % 3], kale=rng.randint(50, 500) * STROOPS_PER_KALE,
                                  stake_bps=rng.choice((1000, 5000, 10_000)),
                                  harvest_interval_blocks=rng.choice((1, 1, 2, 3)))
               for n in range(27)]
    everyone = keepers + farmers
    # Draws whose number depends on timing (what got planted, what is harvestable yet) use their own
    # generators, so the decisions below (switches, exits, kills) are the same on a busy machine.
    work_rng, harvest_rng = random.Random(SEED + 1), random.Random(SEED + 2)
    kill_blocks, exit_blocks = set(rng.sample(range(1, BLOCKS), 5)), set(rng.sample(range(BLOCKS - 2), 8))
    hoard_blocks = set(random.Random(SEED + 3).sample(range(2, BLOCKS - 2), 4))
    outsider_harvests = 0
    outsider = harness.outsider(kale=1_000 * STROOPS_PER_KALE)
    leaving: dict[int, object] = {}
    network = harness.settings.network
    contract, kale = network.farm_contract, Asset(network.kale_asset_code, network.kale_asset_issuer)

    for block in range(BLOCKS):
        harness.wait_until_block_can_open()
        answers = [(pooler, harness.plant(pooler)) for pooler in poolers]
        harness.devnet.wait_ledgers(2)
        for pooler, answer in answers:
            work_planted(harness, pooler, answer, work_rng, skip_share=0.1)
        active = [f for f in farmers if f.id not in leaving]
        if active and rng.random() < 0.5:
            mover = rng.choice(active)
            harness.api("PATCH", "/farmers/me", token=mover.token, json={"pooler_id": rng.choice(poolers).id})
        if active and block in exit_blocks:
            quitter = rng.choice(active)
            if harness.api("POST", "/farmers/me/exit", token=quitter.token, json={}).status_code == 202:
                leaving[quitter.id] = quitter
        current = answers[0][1]["block"]["index"]
        harvestable = [(f, p) for f in everyone for p in pails(f.id)
                       if p.work_tx and not p.closed and p.block_index < current]
        if harvestable and harvest_rng.random() < 0.5:
            farmer, pail = harvest_rng.choice(harvestable)
            with contextlib.suppress(SimulationFailed):  # the pool's scheduler may have harvested it first
                harness.invoke_as(outsider, calls.harvest(contract, farmer.address, pail.block_index))
        hoarded = [p for p in pails(hoarder.id) if p.work_tx and not p.closed and p.block_index < current]
        if block in hoard_blocks and hoarded:
            newest = max(hoarded, key=lambda p: p.block_index)
            harvested = harness.invoke_as(outsider, calls.harvest(contract, hoarder.address, newest.block_index))
            outsider_harvests += harvested.status.value == "SUCCESS"
        harness.classic(outsider, [Payment(rng.choice(everyone).address, kale,
                                           format_stroops(rng.randint(1, 10 * STROOPS_PER_KALE)))])
        if rng.random() < 0.5:
            harness.devnet.fail_next(rng.choice(everyone).address, 1)
        if block in kill_blocks:
            scheduler.kill()
            scheduler.start()
        harness.index_and_reconcile()

    for _ in range(10):  # keepers open blocks until every leaving farmer has settled
        if all(Farmer.get_by_id(f).status == "departed" for f in leaving):
            break
        harness.wait_until_block_can_open()
        for pooler in poolers:
            harness.plant(pooler)
        harness.index_and_reconcile()
    harness.devnet.wait_ledgers(5)
    harness.index_and_reconcile()

    assert len(leaving) >= 5 and scheduler.starts > 1  # the run was as rough as it claims
    assert ChainTransaction.select().where(~ChainTransaction.successful).exists()  # failures landed
    assert outsider_harvests > 0 and Harvest.select().where(Harvest.intent.is_null()).exists()  # and were adopted
    still_leaving = [f for f in leaving if Farmer.get_by_id(f).status != "departed"]
    assert still_leaving == [], [waiting_for(Farmer.get_by_id(f)) for f in still_leaving]
    for settlement in Settlement.select():
        kale_paid = sum(p.amount for p in Payout.select().where(Payout.settlement == settlement.id,
                                                                Payout.asset == "KALE"))
        assert kale_paid == kale_left_in_payouts(settlement)
    for pooler in poolers:
        owed = sum(p.amount for p in SettlementPeriod.select().where(SettlementPeriod.pooler == pooler.id))
        assert harness.client.kale_balance(pooler.keypair.public_key) == owed
    for farmer in everyone:
        row = Farmer.get_by_id(farmer.id)
        if row.status != "departed":
            assert wallet_balance(row.custodial_address, "KALE") == (harness.client.kale_balance(row.custodial_address) or 0)
            assert wallet_balance(row.custodial_address, "XLM") == harness.client.account(row.custodial_address).balance
    problems = [(d.kind, d.farmer_id, d.pool_side, d.chain_side) for d in Discrepancy.select()
                if d.kind not in NOT_ABOUT_MONEY]
    assert problems == []
