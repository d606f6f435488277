/* Pool home: the poolers side by side and the pool's recent blocks, refreshed every few seconds. */
"use strict";
(() => {
  const { el, show, api, percent, amount, table } = kp;

  function card(pooler) {
    const figures = pooler.performance || {};
    const full = pooler.open_slots <= 0;
    return el("article", { class: "card", "aria-labelledby": `pooler-${pooler.pooler_id}` },
      el("h3", { id: `pooler-${pooler.pooler_id}` }, pooler.name),
      el("dl", { class: "figures" }, kp.figures([
        ["Pooler's share", percent(pooler.share_bps)],
        ["Capacity left", `${pooler.open_slots} of ${pooler.capacity}`],
        ["Work rate", percent(figures.work_rate_bps)],
        ["Pails planted / worked / missed", `${figures.plantings ?? 0} / ${figures.works ?? 0} / ${figures.missed ?? 0}`],
        ["Farmers", String(figures.farmers ?? 0)],
        ["Rewards harvested", `${amount(figures.rewards_harvested ?? 0)} KALE`],
        ["Compensation owed", `${amount(figures.compensation_owed ?? 0)} KALE`],
        ["Compensation paid", `${amount(pooler.compensation_paid ?? 0)} KALE`],
      ])),
      full ? el("p", { class: "muted" }, "Full")
        : el("a", { class: "button", href: `/join?pooler=${pooler.pooler_id}` }, `Join ${pooler.name}`));
  }

  kp.poll(async () => {
    const answer = await api("GET", "/poolers", null, { session: false });
    if (!answer.ok) return show("poolers", el("p", { class: "error" }, kp.errorText(answer)));
    const poolers = answer.data.poolers;
    show("poolers", poolers.length ? poolers.map(card) : el("p", {}, "No pooler is taking farmers yet."));
  }, 10000);

  kp.poll(async () => {
    const answer = await api("GET", "/blocks?limit=10", null, { session: false });
    if (!answer.ok) return show("blocks", el("p", { class: "error" }, kp.errorText(answer)));
    show("blocks", table([
      ["Block", (b) => String(b.block_index)], ["Planted", (b) => String(b.planted)],
      ["Worked", (b) => String(b.worked)], ["Harvested", (b) => String(b.harvested)],
      ["Staked", (b) => `${amount(b.stake)} KALE`], ["Rewards", (b) => `${amount(b.rewards)} KALE`],
    ], answer.data.blocks, "The pool has not planted yet."));
  }, 10000);
})();
