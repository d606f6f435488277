/* Pooler console: its farmers, blocks worked and missed, rewards of its pails, compensation owed. */
"use strict";
(() => {
  const { el, show, api, amount, percent, table } = kp;
  const kale = (stroops) => `${amount(stroops)} KALE`;

  kp.poll(async () => {
    const [me, farmers, compensations] = await Promise.all([api("GET", "/pooler/me"), api("GET", "/pooler/farmers"),
      api("GET", "/pooler/compensations")]);
    if (!me.ok) return show("figures", el("p", { class: "error" }, kp.errorText(me)));
    const pooler = me.data;
    const f = pooler.performance || {};
    document.getElementById("pooler-name").textContent = pooler.name;
    show("figures", kp.figures([
      ["Share of rewards", percent(pooler.share_bps)], ["Capacity", `${f.farmers ?? 0} of ${pooler.capacity}`],
      ["Active farmers", String(f.active_farmers ?? 0)], ["Blocks planted", String(f.plantings ?? 0)],
      ["Worked", String(f.works ?? 0)], ["Missed", String(f.missed ?? 0)], ["Work rate", percent(f.work_rate_bps)],
      ["Rewards of its pails", kale(f.rewards_harvested ?? 0)],
      ["Compensation owed", kale(f.compensation_owed ?? 0)],
    ]));
    if (farmers.ok) {
      show("farmers", table([
        ["Farmer", (r) => String(r.farmer_id)], ["Custodial address", (r) => el("code", { class: "address" },
          r.custodial_address)], ["State", (r) => r.status], ["Stake", (r) => percent(r.stake_bps)],
        ["Harvest every", (r) => `${r.harvest_interval_blocks} block(s)`],
      ], farmers.data.farmers, "No active farmer yet."));
    }
    if (compensations.ok) {
      show("compensations", table([
        ["Block", (c) => String(c.block_index)], ["Farmer", (c) => String(c.farmer_id)],
        ["Amount", (c) => kale(c.amount)], ["Why", (c) => c.reason],
        ["Settled", (c) => (c.settlement_id ? "yes" : "not yet")],
      ], compensations.data.compensations, "None owed."));
    }
  }, 5000);
})();
