"""The web app in a real browser on the devnet: a farmer's whole journey, a pooler's console and an
auditor's block page. Pages change by themselves (polling the API); the tests never reload them."""
from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from chain.kale import STROOPS_PER_KALE
from db.models import Farmer
from tests.fixtures.browser import text_of, wait_for
from web.accounts import create_auditor


def _sign_in(browser, harness, token: str) -> None:
    browser.get(f"{harness.api_url}/signin")
    browser.find_element(By.ID, "token").send_keys(token)
    browser.find_element(By.CSS_SELECTOR, "form[action='/signin'] button").click()


def _settle(harness, farmer_id: int, rounds: int = 20) -> None:
    """What the scheduler and the indexer do until the farmer has departed."""
    for _ in range(rounds):
        harness.pool.harvester.run_pass()
        harness.resolve_all()
        harness.index_and_reconcile()
        harness.pool.settler.run_pass()
        harness.resolve_all()
        if Farmer.get_by_id(farmer_id).status == "departed":
            return
    raise AssertionError(f"farmer {farmer_id} did not depart")


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
    harness.wait_until_block_can_open()
    harness.plant(pooler)  # the next block opens, so the worked one can be harvested
    harness.pool.harvester.run_pass()
    harness.resolve_all()
    wait_for(browser, lambda b: any(str(block) == row.text.split(" ")[0] and "KALE" in row.text.split(" ", 2)[2]
                                    for row in b.find_elements(By.CSS_SELECTOR, "#pails tbody tr")
                                    if row.text.count("KALE") >= 2),
             what="the harvested pail with its reward")
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
    harness.wait_until_block_can_open()
    harness.plant(pooler)
    _settle(harness, Farmer.get(Farmer.custodial_address == custodial).id)
    wait_for(browser, lambda b: "Final statement" in text_of(b, "statement"), what="the final statement")
    assert "Paid to you" in text_of(browser, "statement")
    screenshot("statement")


def test_a_pooler_signs_in_to_its_console_and_an_auditor_opens_a_block_page(pool_harness, browser, screenshot):
    harness = pool_harness
    pooler = harness.new_pooler()
    farmer = harness.new_farmer(pooler)
    index = harness.plant_and_work(pooler)["plant"]["block"]["index"]
    harness.index_and_reconcile()

    _sign_in(browser, harness, pooler.api_key)
    wait_for(browser, lambda b: b.current_url.endswith("/pooler") and str(farmer.id) in text_of(b, "farmers"),
             what="the pooler's farmers")
    assert "Blocks planted\n1" in text_of(browser, "figures") and pooler.api_key not in browser.page_source
    screenshot("pooler-console")

    browser.find_element(By.CSS_SELECTOR, "form[action='/signout'] button").click()
    _, auditor_token = create_auditor("auditor-pages")
    _sign_in(browser, harness, auditor_token)
    wait_for(browser, lambda b: b.current_url.endswith("/audit"), what="the audit page")
    browser.find_element(By.ID, "block-index").send_keys(str(index))
    browser.find_element(By.CSS_SELECTOR, "#block-form button").click()
    wait_for(browser, lambda b: f"#{farmer.id}" in text_of(b, "block") and "plant" in text_of(b, "block"),
             what="the block's pails and chain transactions")
    screenshot("audit-block")
