/* An auditor's view of one farmer: its record and its statement recomputed from chain rows. */
"use strict";
(() => {
  const { el, show, api, amount, tx, table } = kp;
  const id = document.getElementById("farmer").dataset.farmer;
  const kale = (stroops) => `${amount(stroops)} KALE`;

  kp.poll(async () => {
    const [farmer, found] = await Promise.all([api("GET", `/farmers/${id}`),
      api("GET", `/audit/farmers/${id}/statement`)]);
    if (!farmer.ok) return show("farmer", el("p", { class: "error" }, kp.errorText(farmer)));
    const f = farmer.data;
    show("farmer", el("dl", { class: "figures" }, kp.figures([
      ["State", f.status], ["Pooler", String(f.pooler_id)], ["Custodial", el("code", {}, f.custodial_address)],
      ["Payout", el("code", {}, f.payout_address)], ["KALE", kale(f.balances?.kale)],
    ])));
    if (!found.ok) return show("statement", el("p", { class: "error" }, kp.errorText(found)));
    const s = found.data;
    show("statement", el("dl", { class: "figures" }, kp.figures([
      ["Blocks planted", String(s.blocks_planted)], ["Blocks worked", String(s.blocks_worked)],
      ["Planted", kale(s.planted)], ["Harvested", kale(s.harvested)], ["Compensations", kale(s.compensations)],
      ["KALE received", kale(s.kale_received)],
    ])), table([
      ["Block", (b) => el("a", { href: `/audit/blocks/${b.block_index}` }, String(b.block_index))],
      ["Stake", (b) => kale(b.stake)], ["Planted", (b) => tx(b.plant_tx)], ["Zeros", (b) => String(b.zeros ?? "—")],
      ["Gap", (b) => String(b.gap ?? "—")], ["Worked", (b) => tx(b.work_tx)], ["Reward", (b) => kale(b.reward)],
      ["Harvested", (b) => tx(b.harvest_tx)],
    ], s.blocks || [], "No block planted."),
    el("h3", {}, "Open discrepancies"), table([["Kind", (d) => d.kind], ["Block", (d) => String(d.block_index)]],
      s.discrepancies || [], "None."));
  }, 10000);
})();
