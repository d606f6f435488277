"""The web app in a real browser on the devnet: a farmer's whole journey, a pooler's console and an
auditor's block page. Pages change by themselves (polling the API); the tests never reload them."""
from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from stellar_sdk import Keypair, TransactionEnvelope

from chain.kale import STROOPS_PER_KALE
from db.models import Farmer
from gpu_miner.agent.pool_client import PoolClient
from tests.fixtures.browser import text_of, wait_for
from tests.signing import registered_farmer
from web.accounts import create_auditor


def _sign_in(browser, harness, token: str) -> None:
    browser.get(f"{harness.api_url}/signin")
    field = wait_for(browser, lambda b: b.find_elements(By.ID, "token"), what="the sign-in form")
    field[0].send_keys(token)
    browser.find_element(By.CSS_SELECTOR, "form[action='/signin'] button").click()


def test_a_farmer_joins_funds_farms_changes_its_stake_and_leaves_with_a_statement(pool_harness, browser,
                                                                                  screenshot):
    harness = pool_harness
    pooler = harness.new_pooler()
    harness.new_farmer(pooler)  # another farmer stays, so the pool keeps opening blocks
    payout = harness.account_with_trustline()

    browser.get(f"{harness.api_url}/")
    join = wait_for(browser, lambda b: b.find_elements(By.LINK_TEXT, f"Join pooler-{pooler.keypair.public_key[:8]}"),
                    what="the pooler's card on the pool home")
    screenshot("pool-home")
    join[0].click()

    wait_for(browser, lambda b: Select(b.find_element(By.ID, "pooler")).first_selected_option.get_attribute(
        "value") == str(pooler.id), what="the pooler chosen on the home page")
    browser.find_element(By.ID, "payout").send_keys(payout.public_key)
    interval = browser.find_element(By.ID, "interval")
    interval.clear()
    interval.send_keys("1", Keys.ENTER)  # the keyboard is enough
    wait_for(browser, lambda b: b.find_element(By.ID, "joined").is_displayed(), what="the join answer")
    assert text_of(browser, "token").startswith("kpf_")  # the new token, shown this once
    custodial = text_of(browser, "custodial")
    assert browser.find_element(By.ID, "qr").get_attribute("src").endswith(f"/qr/{custodial}.svg")
    screenshot("joined")

    harness.devnet.fund(custodial)  # friendbot: XLM arrives; the page activates the farmer by itself
    wait_for(browser, lambda b: "active" in text_of(b, "step-activate"), what="activation shown")
    harness.devnet.mint(custodial, 100 * STROOPS_PER_KALE)
    screenshot("activated")

    browser.find_element(By.LINK_TEXT, "Go to my farm").click()
    wait_for(browser, lambda b: "active" in text_of(b, "status-line"), what="the dashboard")
    block = harness.plant_and_work(pooler)["plant"]["block"]["index"]
    wait_for(browser, lambda b: "No pails yet" not in text_of(b, "pails") and text_of(b, "pails"),
             what="the planted and worked pail")
    harness.close_block(pooler)  # the next block opens, so the worked one can be harvested
    harness.pool.harvester.run_pass()
    harness.resolve_all()
    harness.index_and_reconcile()  # what the indexer does: the chain's record, from which balances come
    wait_for(browser, lambda b: any(str(block) == row.text.split(" ")[0] and "KALE" in row.text.split(" ", 2)[2]
                                    for row in b.find_elements(By.CSS_SELECTOR, "#pails tbody tr")
                                    if row.text.count("KALE") >= 2),
             what="the harvested pail with its reward")
    wait_for(browser, lambda b: "not read yet" not in text_of(b, "balances") and "KALE\n0.0000000" not in
             text_of(b, "balances"), what="the wallet's balances from the chain record")
    screenshot("harvested")
    browser.set_window_size(390, 844)  # a phone
    screenshot("phone")
    browser.set_window_size(1280, 1000)

    stake = browser.find_element(By.ID, "stake")
    stake.clear()
    stake.send_keys("25")
    browser.find_element(By.CSS_SELECTOR, "#settings-form button[type=submit]").click()
    wait_for(browser, lambda b: "Saved: stake 25.00 %" in text_of(b, "settings-msg"), what="the stake saved")
    assert Farmer.get(Farmer.custodial_address == custodial).stake_bps == 2500

    browser.find_element(By.ID, "exit-confirm").click()
    browser.find_element(By.CSS_SELECTOR, "#exit-form button[type=submit]").click()
    wait_for(browser, lambda b: "Leaving" in text_of(b, "statement"), what="leaving shown")
    harness.close_block(pooler)
    harness.settle(Farmer.get(Farmer.custodial_address == custodial).id)
    wait_for(browser, lambda b: "Final statement (done)" in text_of(b, "statement"), what="the final statement")
    statement = text_of(browser, "statement")
    assert "Paid to you" in statement and "Per pooler period" in statement and "confirmed" in statement
    screenshot("statement")


def test_a_pooler_signs_in_to_its_console_and_an_auditor_opens_a_block_page(pool_harness, browser, screenshot):
    harness = pool_harness
    pooler = harness.new_pooler()
    farmer = harness.new_farmer(pooler)
    index = harness.plant_and_work(pooler)["plant"]["block"]["index"]
    harness.index_and_reconcile()
    PoolClient(harness.api_url, pooler.api_key).report_status("rig-1", 1_500, block_index=index)

    browser.get(harness.api_url)
    wait_for(browser, lambda b: str(index) in text_of(b, "blocks"), what="the block on the pool home")
    _sign_in(browser, harness, pooler.api_key)
    wait_for(browser, lambda b: b.current_url.endswith("/pooler") and str(farmer.id) in text_of(b, "farmers"),
             what="the pooler's farmers")
    assert "Blocks planted\n1" in text_of(browser, "figures") and pooler.api_key not in browser.page_source
    assert "Hash rate\n1.50 kH/s" in text_of(browser, "figures") and "rig-1" in text_of(browser, "agents")
    assert "Share accrued" in text_of(browser, "money")
    screenshot("pooler-console")

    browser.find_element(By.CSS_SELECTOR, "form[action='/signout'] button").click()
    wait_for(browser, lambda b: not b.current_url.endswith("/pooler"), what="the page after signing out")
    _, auditor_token = create_auditor("auditor-pages")
    _sign_in(browser, harness, auditor_token)
    wait_for(browser, lambda b: b.current_url.endswith("/audit"), what="the audit page")
    browser.find_element(By.ID, "block-index").send_keys(str(index))
    browser.find_element(By.CSS_SELECTOR, "#block-form button").click()
    wait_for(browser, lambda b: f"#{farmer.id}" in text_of(b, "block") and "plant" in text_of(b, "block"),
             what="the block's pails and chain transactions")
    screenshot("audit-block")


def _signed(challenge: str, signer: Keypair, passphrase: str) -> str:
    """The challenge as the farmer's wallet returns it: signed by `signer`."""
    envelope = TransactionEnvelope.from_xdr(challenge, passphrase)
    envelope.sign(signer)
    return envelope.to_xdr()


def test_a_farmer_with_a_lost_token_signs_in_with_its_payout_key_and_changes_its_payout_address(
        pool_harness, browser, screenshot):
    harness = pool_harness
    passphrase = harness.settings.network.passphrase
    payout = Keypair.random()
    lost_token = registered_farmer(harness, payout.public_key)["api_token"]

    browser.get(f"{harness.api_url}/signin")
    browser.find_element(By.ID, "account").send_keys(payout.public_key, Keys.ENTER)
    challenge = wait_for(browser, lambda b: b.find_element(By.ID, "challenge-xdr").get_attribute("value"),
                         what="the challenge")
    browser.find_element(By.ID, "signed-xdr").send_keys(_signed(challenge, Keypair.random(), passphrase))
    browser.find_element(By.ID, "send-signed").click()
    wait_for(browser, lambda b: text_of(b, "sep10-error"), what="a wrong signature refused")
    screenshot("wrong-signature")

    signed = _signed(challenge, payout, passphrase)
    browser.find_element(By.ID, "signed-xdr").clear()
    browser.find_element(By.ID, "signed-xdr").send_keys(signed)
    browser.find_element(By.ID, "send-signed").click()
    wait_for(browser, lambda b: b.find_element(By.ID, "new-token").is_displayed(), what="the new token")
    new_token = text_of(browser, "new-token-value")
    assert new_token.startswith("kpf_") and new_token != lost_token
    assert harness.api("GET", "/farmers/me", token=lost_token).status_code == 401
    assert harness.api("POST", "/auth/token", json={"transaction": signed}).status_code == 401  # no replay
    screenshot("new-token")

    browser.find_element(By.LINK_TEXT, "Go to my farm").click()
    wait_for(browser, lambda b: "awaiting funding" in text_of(b, "status-line"), what="the dashboard")
    new_payout = Keypair.random().public_key
    browser.find_element(By.ID, "payout").send_keys(new_payout)
    browser.find_element(By.ID, "payout-challenge-get").click()
    challenge = wait_for(browser, lambda b: b.find_element(By.ID, "payout-challenge").get_attribute("value"),
                         what="the payout account's challenge")
    browser.find_element(By.ID, "payout-xdr").send_keys(_signed(challenge, payout, passphrase))
    browser.find_element(By.CSS_SELECTOR, "#payout-form button[type=submit]").click()
    wait_for(browser, lambda b: new_payout in text_of(b, "status-line"), what="the new payout address")
    assert "Payout address changed" in text_of(browser, "payout-msg")
    screenshot("payout-changed")
