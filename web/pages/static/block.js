/* A block's page: every pool pail of the block next to the chain's transactions for it. */
"use strict";
(() => {
  const { el, show, api, amount, tx, table } = kp;
  const index = document.getElementById("block").dataset.block;
  const kale = (stroops) => (stroops === null || stroops === undefined ? "—" : `${amount(stroops)} KALE`);
  const short = (address) => (address ? el("code", { title: address }, `${address.slice(0, 6)}…`) : "—");

  kp.poll(async () => {
    const answer = await api("GET", `/audit/blocks/${index}`);
    if (!answer.ok) return show("block", el("p", { class: "error" }, kp.errorText(answer)));
    const { chain, pool, discrepancies } = answer.data;
    const farmer = (row) => el("a", { href: `/audit/farmers/${row.farmer_id}` }, `#${row.farmer_id}`);
    show("block",
      el("h2", {}, "Pool pails"),
      el("h3", {}, "Planted"), table([["Farmer", farmer], ["Stake", (p) => kale(p.stake)],
        ["Ledger", (p) => String(p.ledger ?? "—")], ["Transaction", (p) => tx(p.tx_hash)]], pool.plantings),
      el("h3", {}, "Worked"), table([["Farmer", farmer], ["Zeros", (w) => String(w.zeros)],
        ["Gap", (w) => String(w.gap)], ["Hash", (w) => el("code", { title: w.hash }, `${w.hash.slice(0, 12)}…`)],
        ["Transaction", (w) => tx(w.tx_hash)]], pool.works),
      el("h3", {}, "Harvested"), table([["Farmer", farmer], ["Reward", (h) => kale(h.reward)],
        ["Ledger", (h) => String(h.ledger ?? "—")], ["Transaction", (h) => tx(h.tx_hash)]], pool.harvests),
      el("h3", {}, "Compensations"), table([["Farmer", farmer], ["Amount", (c) => kale(c.amount)],
        ["Why", (c) => c.reason]], pool.compensations, "None."),
      el("h2", {}, "Chain transactions"),
      table([["Transaction", (c) => tx(c.hash)], ["Ledger", (c) => String(c.ledger)],
        ["Call", (c) => c.function || c.kind], ["OK", (c) => (c.successful ? "yes" : `no ${c.contract_error ?? ""}`)],
        ["Farmer", (c) => short(c.farmer)], ["Stake", (c) => kale(c.stake)], ["Zeros", (c) => String(c.zeros ?? "—")],
        ["Gap", (c) => String(c.gap ?? "—")], ["Reward", (c) => kale(c.reward)]], chain,
      "The indexer has recorded no transaction of this block yet."),
      el("h2", {}, "Open discrepancies"),
      table([["Kind", (d) => d.kind], ["Farmer", (d) => String(d.farmer_id ?? "—")],
        ["Pool says", (d) => JSON.stringify(d.pool_side)], ["Chain says", (d) => JSON.stringify(d.chain_side)]],
      discrepancies, "None."));
  }, 10000);
})();
