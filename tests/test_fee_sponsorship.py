"""Fee sponsorship: with KALEPOOL_FEE_SPONSOR on, the operator's sponsor account pays custodial
wallets' fees through fee bumps, so a farmer holding only its reserve XLM is activated, planted,
worked and harvested; every sponsored fee is recorded and totals, to the stroop, what the chain
charged the sponsor."""
from __future__ import annotations

import pytest
from stellar_sdk import Keypair, TransactionBuilder

from chain.fee_bump import SECRET_ENV, SponsorUnavailable, load_sponsor
from config import load_settings
from db.chain_models import ChainTransaction
from db.models import Farmer, Harvest, Planting, TxIntent
from jobs.statement import settlement_statement
from db.sponsored_fees import SponsoredFee, sponsored_fees_total
from tests.fixtures.pool import serve_pool

RESERVE = 15_000_000  # two base reserves for the account, one for its KALE trustline
KALE = 10_000_000


def reserve_only_farmer(harness, pooler) -> tuple[int, str]:
    """A farmer registered through the API whose custodial wallet holds exactly its reserve."""
    payout = harness.account_with_trustline()
    created = harness.api("POST", "/farmers", json={"payout_address": payout.public_key, "pooler_id": pooler.id,
                                                    "stake_bps": 5000, "harvest_interval_blocks": 1})
    assert created.status_code == 201, created.text
    body = created.json()
    funder = Keypair.random()
    harness.devnet.fund(funder.public_key)
    server = harness.devnet.server()
    create = (TransactionBuilder(server.load_account(funder.public_key), harness.devnet.passphrase, base_fee=100)
              .append_create_account_op(body["custodial_address"], "1.5").set_timeout(300).build())
    create.sign(funder)
    assert server.send_transaction(create).status.value == "PENDING"
    harness.client.wait_for(create.hash_hex())
    activated = harness.api("POST", "/farmers/me/activate", token=body["api_token"])
    assert activated.status_code == 200, activated.text
    harness.devnet.mint(body["custodial_address"], 100 * KALE)
    return body["farmer_id"], body["custodial_address"]


@pytest.fixture
def sponsor(devnet, monkeypatch) -> Keypair:
    keypair = Keypair.random()
    devnet.fund(keypair.public_key)
    monkeypatch.setenv(SECRET_ENV, keypair.secret)
    return keypair


def test_a_sponsored_farmer_with_only_its_reserve_is_planted_worked_and_harvested(
        devnet, postgres, db, tmp_path, sponsor):
    with serve_pool(devnet, postgres, tmp_path / "state", fee_sponsor=True,
                    min_account_xlm_stroops=RESERVE) as harness:
        pooler = harness.new_pooler()
        sponsor_before = harness.client.account(sponsor.public_key).balance
        farmer_id, address = reserve_only_farmer(harness, pooler)  # its trustline's fee is sponsored too
        block = harness.plant_and_work(pooler)
        index = block["items"][0]["block_index"]
        harness.wait_until_block_can_open()
        harness.plant(pooler)
        harness.pool.harvester.run_pass()
        harness.resolve_all()
        harness.index_and_reconcile()

        assert Planting.get(Planting.farmer == farmer_id, Planting.block_index == index)
        assert Harvest.get(Harvest.farmer == farmer_id, Harvest.block_index == index).reward > 0
        assert harness.client.account(address).balance == RESERVE  # not one stroop of fees
        paid = sponsor_before - harness.client.account(sponsor.public_key).balance
        assert paid > 0 and sponsored_fees_total(farmer_id) == paid
        assert SponsoredFee.select().where(SponsoredFee.farmer == farmer_id).count() >= 4  # trustline, plants, harvest


def test_a_sponsored_farmer_is_settled_and_its_statement_charges_it_the_sponsored_fees(
        devnet, postgres, db, tmp_path, sponsor):
    with serve_pool(devnet, postgres, tmp_path / "state", fee_sponsor=True,
                    min_account_xlm_stroops=RESERVE) as harness:
        pooler = harness.new_pooler()
        harness.new_farmer(pooler)  # keeps blocks opening
        farmer_id, address = reserve_only_farmer(harness, pooler)
        harness.plant_and_work(pooler)
        Farmer.update(status="leaving").where(Farmer.id == farmer_id).execute()
        harness.close_block(pooler)
        harness.settle(farmer_id)
        harness.index_and_reconcile()

        payout = TxIntent.get(TxIntent.farmer == farmer_id, TxIntent.action == "payout")
        before_payout = sponsored_fees_total(farmer_id) - ChainTransaction.get_by_id(payout.tx_hash).fee_charged
        found = settlement_statement(Farmer.get_by_id(farmer_id))
        assert found["sponsored_fees"] == before_payout > 0
        assert found["sponsored_fees_charged"] == before_payout
        [repaid] = [p for p in found["payouts"] if p["recipient"] == "sponsor"]
        assert (repaid["destination"], repaid["asset"], repaid["amount"]) == (sponsor.public_key, "XLM", before_payout)



def test_past_its_cap_a_farmers_wallet_pays_its_own_fees(devnet, postgres, db, tmp_path, sponsor):
    with serve_pool(devnet, postgres, tmp_path / "state", fee_sponsor=True, fee_sponsor_cap_stroops=0,
                    min_account_xlm_stroops=RESERVE) as harness:
        pooler = harness.new_pooler()
        farmer = harness.new_farmer(pooler)
        before = harness.client.account(farmer.address).balance
        harness.plant_and_work(pooler)
        assert harness.client.account(farmer.address).balance < before
        assert SponsoredFee.select().count() == 0


def test_sponsorship_is_off_by_default_and_its_secret_never_shows_in_errors():
    assert load_settings({}).fee_sponsor is False
    with pytest.raises(SponsorUnavailable, match="neither"):
        load_sponsor(lambda name: None, {})
    secret = "SBADSECRETVALUE"
    with pytest.raises(SponsorUnavailable) as raised:
        load_sponsor(lambda name: None, {SECRET_ENV: secret})
    assert secret not in str(raised.value)
    keypair = Keypair.random()
    assert load_sponsor(lambda name: keypair.secret if name == "fee-sponsor" else None, {}).public_key \
        == keypair.public_key
