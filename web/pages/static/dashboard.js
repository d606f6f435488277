/* Farmer dashboard: balances, rewards, every pail, compensations, settings, exit and statement, kept live. */
"use strict";
(() => {
  const { el, show, api, amount, tx, percent, table, errorText } = kp;
  const kale = (stroops) => `${amount(stroops)} KALE`;
  const $ = (id) => document.getElementById(id);
  let poolerNames = {};
  let filled = false;
  let payoutChallenge = null;

  function statusLine(me) {
    const pooler = poolerNames[me.pooler_id] || `#${me.pooler_id}`;
    return [el("strong", {}, me.status.replace("_", " ")), ` · pooler ${pooler} · stake ${percent(me.stake_bps)}`,
      ` · harvest every ${me.harvest_interval_blocks} block(s)`, el("br"), "Custodial wallet ",
      el("code", { class: "address" }, me.custodial_address), el("br"), "Payout address ",
      el("code", { class: "address" }, me.payout_address),
      me.plant_problem ? [el("br"), el("span", { class: "error" }, `Not planted: ${me.plant_problem}`)] : null];
  }

  function balances(me) {
    const b = me.balances || {};
    const known = (value, unit) => (value === null || value === undefined ? "not known yet"
      : `${amount(value)} ${unit}`);
    return kp.figures([
      ["KALE", known(b.kale, "KALE")],
      "xlm" in b ? ["XLM", known(b.xlm, "XLM")] : null,
      "staked" in b ? ["Staked in open pails", kale(b.staked)] : null,
      "as_of_ledger" in b ? ["As of ledger", b.as_of_ledger === null ? "the chain record is not read yet"
        : String(b.as_of_ledger)] : null,
    ]);
  }

  /** Plantings, works and harvests of the history page, one row per block, newest first. */
  function pails(events) {
    const byBlock = new Map();
    for (const event of events) {
      if (event.block_index === null) continue;
      const pail = byBlock.get(event.block_index) || { block_index: event.block_index };
      pail[event.kind] = event;
      byBlock.set(event.block_index, pail);
    }
    return [...byBlock.values()].sort((a, b) => b.block_index - a.block_index);
  }

  function charts(events) {
    const harvests = events.filter((e) => e.kind === "harvest").sort((a, b) => a.block_index - b.block_index);
    const perBlock = harvests.slice(-48).map((h) => [`block ${h.block_index}`, Number(h.amount)]);
    const days = new Map();
    for (const h of harvests) {
      const day = h.created_at.slice(0, 10);
      days.set(day, (days.get(day) || 0n) + BigInt(h.amount));
    }
    const perDay = [...days.entries()].map(([day, total]) => [day, Number(total)]);
    return [kp.barChart("Rewards per block (KALE)", perBlock, kale),
      kp.barChart("Rewards per day (KALE)", perDay, kale)];
  }

  function pailTable(events) {
    return table([
      ["Block", (p) => String(p.block_index)],
      ["Stake", (p) => (p.planting ? kale(p.planting.amount) : "—")],
      ["Planted", (p) => (p.planting ? tx(p.planting.tx_hash) : "—")],
      ["Zeros", (p) => (p.work ? String(p.work.zeros) : "—")],
      ["Gap", (p) => (p.work ? String(p.work.gap) : "—")],
      ["Worked", (p) => (p.work ? tx(p.work.tx_hash) : "—")],
      ["Reward", (p) => (p.harvest ? kale(p.harvest.amount) : "—")],
      ["Harvested", (p) => (p.harvest ? tx(p.harvest.tx_hash) : "—")],
    ], pails(events), "No pails yet: the first is planted in the block after your KALE arrives.");
  }

  function rewardsByPooler(rows) {
    return table([
      ["Pooler", (r) => r.pooler_name || `#${r.pooler_id}`], ["Pails", (r) => String(r.pails)],
      ["Rewards", (r) => kale(r.rewards)], ["Share", (r) => percent(r.share_bps)],
      ["Pooler's share", (r) => kale(r.share)], ["Compensation owed to you", (r) => kale(r.compensation_owed)],
    ], rows);
  }

  function exitPreview(preview) {
    if (!preview) return el("p", { class: "hint" }, "On leaving, each pooler that worked your pails gets its share " +
      "of those pails' rewards, less what it owes you; you get everything else at your payout address.");
    return [el("p", {}, "If you left today, this would be paid:"), table([
      ["To", (r) => r.to], ["Amount", (r) => r.amount],
    ], [...preview.poolers.map((p) => ({ to: `pooler ${poolerNames[p.pooler_id] || `#${p.pooler_id}`}`,
      amount: kale(p.amount) })),
    { to: "you (KALE)", amount: kale(preview.farmer_kale) },
    { to: "you (XLM)", amount: `${amount(preview.farmer_xlm)} XLM` }])];
  }

  function statement(found) {
    if (!found) return el("p", { class: "status" }, "Leaving: no more plants. The statement appears here once the " +
      "last pails are harvested and the settlement is made.");
    return [el("h3", {}, `Final statement (${found.status})`), el("dl", { class: "figures" }, kp.figures([
      ["Rewards earned", kale(found.rewards_earned)], ["Pooler's share", kale(found.pooler_share)],
      ["Compensation owed to you", kale(found.compensation_owed)], ["Wallet balance", kale(found.wallet_balance)],
      ["Paid to the pooler", kale(found.pooler_amount)], ["Paid to you", kale(found.farmer_amount)],
    ])), found.periods ? [el("h4", {}, "Per pooler period"), table([
      ["Pooler", (p) => p.pooler_name || `#${p.pooler_id}`], ["Pails", (p) => String(p.pails.length)],
      ["Rewards", (p) => kale(p.rewards)], ["Pooler's share", (p) => kale(p.share)],
      ["Compensation", (p) => kale(p.compensation)], ["Paid to the pooler", (p) => kale(p.amount)],
    ], found.periods)] : null, el("h4", {}, "Payouts"), table([
      ["To", (p) => p.recipient], ["Address", (p) => el("code", { class: "address" }, p.destination)],
      ["Asset", (p) => p.asset.split(":")[0]], ["Amount", (p) => amount(p.amount)], ["Status", (p) => p.status],
      ["Transaction", (p) => tx(p.tx_hash)],
    ], found.payouts, "No payout yet."), found.attempts ? [el("h4", {}, "Transactions"), table([
      ["Action", (a) => a.action], ["Attempt", (a) => String(a.attempt)], ["Transaction", (a) => tx(a.tx_hash)],
      ["Ledger", (a) => String(a.ledger ?? "—")], ["Outcome", (a) => a.outcome],
    ], found.attempts)] : null];
  }

  function fillSettings(me) {
    if (filled) return;
    filled = true;
    document.getElementById("stake").value = (me.stake_bps / 100).toFixed(2);
    document.getElementById("interval").value = me.harvest_interval_blocks;
    document.getElementById("pooler").value = String(me.pooler_id);
  }

  async function refresh() {
    const [me, history, compensations] = await Promise.all([api("GET", "/farmers/me"),
      api("GET", "/farmers/me/history?limit=200"), api("GET", "/farmers/me/compensations")]);
    if (!me.ok) return show("status-line", errorText(me));
    const farmer = me.data;
    document.getElementById("farmer-title").textContent = `#${farmer.farmer_id}`;
    show("status-line", statusLine(farmer));
    show("balances", balances(farmer));
    const section = document.getElementById("rewards-by-pooler-section");
    section.hidden = !farmer.rewards_by_pooler;
    if (farmer.rewards_by_pooler) show("rewards-by-pooler", rewardsByPooler(farmer.rewards_by_pooler));
    const events = history.ok ? history.data.events : [];
    show("charts", charts(events));
    show("pails", pailTable(events));
    if (compensations.ok) {
      show("compensations", table([
        ["Block", (c) => String(c.block_index)], ["Pooler", (c) => poolerNames[c.pooler_id] || `#${c.pooler_id}`],
        ["Amount", (c) => kale(c.amount)], ["Why", (c) => c.reason],
        ["Settled", (c) => (c.settlement_id ? "yes" : "not yet")],
      ], compensations.data.compensations, "None: every planted pail was worked."));
    }
    const leaving = ["leaving", "departed"].includes(farmer.status);
    document.getElementById("exit-form").hidden = leaving;
    document.getElementById("settings-section").hidden = leaving;
    $("payout-pending").hidden = !farmer.pending_payout_address;
    if (farmer.pending_payout_address) {
      $("pending-address").textContent = farmer.pending_payout_address;
      $("pending-at").textContent = kp.when(farmer.payout_address_effective_at);
    }
    if (leaving) {
      const found = await api("GET", "/farmers/me/settlement");
      show("exit-preview");
      show("statement", statement(found.ok ? found.data : null));
      $("statement-csv").hidden = !found.ok;
    } else {
      show("exit-preview", exitPreview(farmer.exit_preview));
    }
    fillSettings(farmer);
  }

  async function loadPoolers() {
    const answer = await api("GET", "/poolers", null, { session: false });
    if (!answer.ok) return;
    poolerNames = Object.fromEntries(answer.data.poolers.map((p) => [p.pooler_id, p.name]));
    show("pooler", answer.data.poolers.map((p) => el("option", { value: p.pooler_id },
      `${p.name}: keeps ${percent(p.share_bps)}`)));
  }

  document.getElementById("settings-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const answer = await api("PATCH", "/farmers/me", {
      stake_bps: Math.round(parseFloat(document.getElementById("stake").value) * 100),
      harvest_interval_blocks: parseInt(document.getElementById("interval").value, 10),
      pooler_id: parseInt(document.getElementById("pooler").value, 10),
    });
    document.getElementById("settings-msg").textContent = answer.ok
      ? `Saved: stake ${percent(answer.data.stake_bps)}, harvest every ${answer.data.harvest_interval_blocks} block(s).`
      : errorText(answer);
    if (answer.ok) refresh();
  });

  $("payout-challenge-get").addEventListener("click", async () => {
    const me = await api("GET", "/farmers/me");
    if (!me.ok) return;
    const answer = await kp.challenge(me.data.payout_address);
    if (!answer.ok) { $("payout-msg").textContent = errorText(answer); return; }
    payoutChallenge = { ...answer.data, account: me.data.payout_address };
    $("payout-challenge").value = answer.data.transaction;
    $("payout-expires").textContent = kp.when(answer.data.expires_at);
    $("payout-challenge-box").hidden = false;
    $("payout-wallet-sign").hidden = !kp.wallet;
  });

  $("payout-wallet-sign").addEventListener("click", async () => {
    try {
      $("payout-xdr").value = await kp.walletSign(payoutChallenge.transaction, payoutChallenge.network_passphrase,
        payoutChallenge.account);
    } catch (error) {
      $("payout-msg").textContent = `The wallet did not sign: ${error.message || error}`;
    }
  });

  $("payout-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const signed = $("payout-xdr").value.trim();
    const answer = await api("POST", "/farmers/me/payout-address", {
      address: $("payout").value.trim(), ...(signed ? { transaction: signed } : {}),
    });
    if (!answer.ok) { $("payout-msg").textContent = errorText(answer); return; }
    $("payout-msg").textContent = answer.data.pending_payout_address
      ? "The change is pending: it takes effect after the delay shown below, unless you cancel it."
      : `Payout address changed to ${answer.data.payout_address}.`;
    $("payout-xdr").value = "";
    refresh();
  });

  $("pending-cancel").addEventListener("click", async () => {
    const answer = await api("DELETE", "/farmers/me/payout-address/pending");
    $("payout-msg").textContent = answer.ok ? "The pending change is cancelled." : errorText(answer);
    refresh();
  });

  document.getElementById("exit-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const answer = await api("POST", "/farmers/me/exit", {});
    document.getElementById("exit-msg").textContent = answer.ok ? "Leaving: settlement follows." : errorText(answer);
    refresh();
  });

  loadPoolers().then(() => kp.poll(refresh, 3000));
})();
