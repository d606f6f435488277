/* Auditor home: open discrepancies, every farmer, and a way to a block's page. */
"use strict";
(() => {
  const { el, show, api, table } = kp;
  let offset = 0;
  const rows = [];

  document.getElementById("block-form").addEventListener("submit", (event) => {
    event.preventDefault();
    window.location.assign(`/audit/blocks/${parseInt(document.getElementById("block-index").value, 10)}`);
  });

  async function moreFarmers() {
    const answer = await api("GET", `/farmers?limit=50&offset=${offset}`);
    if (!answer.ok) return;
    rows.push(...answer.data.farmers);
    offset += answer.data.farmers.length;
    document.getElementById("more").hidden = offset >= answer.data.total;
    show("farmers", table([
      ["Farmer", (f) => el("a", { href: `/audit/farmers/${f.farmer_id}` }, `#${f.farmer_id}`)],
      ["State", (f) => f.status], ["Pooler", (f) => String(f.pooler_id)],
      ["KALE", (f) => kp.amount(f.balances?.kale)],
    ], rows, "No farmer yet."));
  }
  document.getElementById("more").addEventListener("click", moreFarmers);
  moreFarmers();

  kp.poll(async () => {
    const answer = await api("GET", "/audit/discrepancies?limit=200");
    if (!answer.ok) return;
    show("discrepancies", table([
      ["Kind", (d) => d.kind], ["Farmer", (d) => (d.farmer_id ? el("a", { href: `/audit/farmers/${d.farmer_id}` },
        `#${d.farmer_id}`) : "—")],
      ["Block", (d) => (d.block_index !== null ? el("a", { href: `/audit/blocks/${d.block_index}` },
        String(d.block_index)) : "—")],
      ["Pool says", (d) => JSON.stringify(d.pool_side)], ["Chain says", (d) => JSON.stringify(d.chain_side)],
      ["Since", (d) => kp.when(d.detected_at)],
    ], answer.data.discrepancies.filter((d) => !d.resolved_at), "None open."));
  }, 10000);
})();
