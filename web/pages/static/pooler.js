/* Pooler console: its figures, money (share accrued and paid, compensation owed and paid), the hash rate its
   agents report, its farmers one page at a time, and the compensations it owes. */
"use strict";
(() => {
  const { el, show, api, amount, percent, table } = kp;
  const kale = (stroops) => `${amount(stroops)} KALE`;
  const PAGE = 50;
  let offset = 0;

  function hashRate(perSecond) {
    const units = [["GH/s", 1e9], ["MH/s", 1e6], ["kH/s", 1e3]];
    const [unit, size] = units.find(([, s]) => perSecond >= s) || ["H/s", 1];
    return `${(perSecond / size).toFixed(size === 1 ? 0 : 2)} ${unit}`;
  }

  async function farmersPage() {
    const answer = await api("GET", `/pooler/farmers?limit=${PAGE}&offset=${offset}`);
    if (!answer.ok) return show("farmers", el("p", { class: "error" }, kp.errorText(answer)));
    const { farmers, total } = answer.data;
    show("farmers", table([
      ["Farmer", (r) => String(r.farmer_id)], ["Custodial address", (r) => el("code", { class: "address" },
        r.custodial_address)], ["State", (r) => r.status], ["Stake", (r) => percent(r.stake_bps)],
      ["Harvest every", (r) => `${r.harvest_interval_blocks} block(s)`],
    ], farmers, "No active farmer yet."));
    document.getElementById("farmers-range").textContent =
      total ? `${offset + 1}–${offset + farmers.length} of ${total}` : "";
    document.getElementById("farmers-prev").hidden = offset === 0;
    document.getElementById("farmers-next").hidden = offset + farmers.length >= total;
  }
  document.getElementById("farmers-prev").addEventListener("click", () => {
    offset = Math.max(0, offset - PAGE);
    farmersPage();
  });
  document.getElementById("farmers-next").addEventListener("click", () => {
    offset += PAGE;
    farmersPage();
  });

  kp.poll(async () => {
    const [me, compensations] = await Promise.all([api("GET", "/pooler/me"), api("GET", "/pooler/compensations")]);
    if (!me.ok) return show("figures", el("p", { class: "error" }, kp.errorText(me)));
    const pooler = me.data;
    const f = pooler.performance || {};
    const m = pooler.money || {};
    document.getElementById("pooler-name").textContent = pooler.name;
    show("figures", kp.figures([
      ["Share of rewards", percent(pooler.share_bps)], ["Capacity", `${f.farmers ?? 0} of ${pooler.capacity}`],
      ["Active farmers", String(f.active_farmers ?? 0)], ["Blocks planted", String(f.plantings ?? 0)],
      ["Worked", String(f.works ?? 0)], ["Missed", String(f.missed ?? 0)], ["Work rate", percent(f.work_rate_bps)],
      ["Hash rate", hashRate(pooler.hash_rate ?? 0)],
      ["Rewards of its pails", kale(f.rewards_harvested ?? 0)],
    ]));
    show("money", kp.figures([
      ["Share accrued", kale(m.share_accrued ?? 0)], ["Share paid", kale(m.share_paid ?? 0)],
      ["Compensation owed", kale(m.compensation_owed ?? 0)], ["Compensation paid", kale(m.compensation_paid ?? 0)],
      ["Debt owed", kale(m.debt_owed ?? 0)], ["Debt paid", kale(m.debt_paid ?? 0)],
    ]));
    document.getElementById("agent-window").textContent = String(Math.round((pooler.window_seconds ?? 900) / 60));
    show("agents", table([
      ["Agent", (a) => a.agent], ["Hash rate", (a) => hashRate(a.hash_rate)],
      ["Block", (a) => (a.block_index === null ? "—" : String(a.block_index))],
      ["Reported", (a) => kp.when(a.reported_at)], ["Counted", (a) => (a.current ? "yes" : "no: silent")],
    ], pooler.agents || [], "No agent has reported yet."));
    if (compensations.ok) {
      show("compensations", table([
        ["Block", (c) => String(c.block_index)], ["Farmer", (c) => String(c.farmer_id)],
        ["Amount", (c) => kale(c.amount)], ["Why", (c) => c.reason],
        ["Settled", (c) => (c.settlement_id ? "yes" : "not yet")],
      ], compensations.data.compensations, "None owed."));
    }
    await farmersPage();  // after the figures, so a page showing its farmers shows its figures too
  }, 5000);
})();
