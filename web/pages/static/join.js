/* Join: register, then show the custodial address with a QR code and a live funding status. */
"use strict";
(() => {
  const { el, show, api, post, amount, errorText } = kp;
  const form = document.getElementById("join-form");
  const wanted = new URLSearchParams(window.location.search).get("pooler");

  async function fillPoolers() {
    const [poolers, info] = await Promise.all([api("GET", "/poolers", null, { session: false }),
      api("GET", "/info", null, { session: false })]);
    if (poolers.ok) {
      show("pooler", poolers.data.poolers.filter((p) => p.open_slots > 0).map((p) => el("option",
        { value: p.pooler_id, selected: String(p.pooler_id) === wanted },
        `${p.name}: keeps ${kp.percent(p.share_bps)}, ${p.open_slots} places left`)));
    }
    if (info.ok) {
      const interval = document.getElementById("interval");
      interval.max = info.data.max_harvest_interval_blocks;
      interval.value = info.data.default_harvest_interval_blocks;
      document.getElementById("min-xlm").textContent = amount(info.data.min_account_xlm_stroops);
      document.getElementById("kale-asset").textContent = info.data.kale_asset;
    }
  }

  function setStep(id, text, done) {
    const step = document.getElementById(id);
    step.querySelector(".state").textContent = text;
    step.classList.toggle("done", done);
  }

  /** Move the funding steps on by themselves: ask the pool to activate until it can, then wait for KALE. */
  function follow() {
    kp.poll(async () => {
      let me = await api("GET", "/farmers/me");
      if (!me.ok) return;
      if (me.data.status === "awaiting_funding") {
        const activated = await api("POST", "/farmers/me/activate", {});
        if (activated.ok) me = activated;
        else if (["not_funded", "insufficient_xlm"].includes(activated.data.error?.code)) {
          return setStep("step-xlm", activated.data.error.code === "not_funded" ? "waiting for XLM…"
            : "not enough XLM yet…", false);
        } else {
          setStep("step-xlm", "received", true);
          return setStep("step-activate", errorText(activated), false);
        }
      }
      setStep("step-xlm", "received", true);
      setStep("step-activate", me.data.status === "active" ? "active" : me.data.status, true);
      const kale = me.data.balances?.kale;
      if (kale) setStep("step-kale", `${amount(kale)} KALE received, farming from the next block`, true);
      else setStep("step-kale", "waiting for KALE…", false);
    }, 3000);
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const stake = Math.round(parseFloat(document.getElementById("stake").value) * 100);
    const answer = await post("/join", {
      payout_address: document.getElementById("payout").value.trim(),
      pooler_id: parseInt(document.getElementById("pooler").value, 10),
      stake_bps: stake,
      harvest_interval_blocks: parseInt(document.getElementById("interval").value, 10),
    });
    if (!answer.ok) {
      document.getElementById("join-error").textContent = errorText(answer);
      return;
    }
    const farmer = answer.data;
    form.hidden = true;
    document.getElementById("joined").hidden = false;
    document.getElementById("farmer-id").textContent = farmer.farmer_id;
    document.getElementById("token").textContent = farmer.api_token;
    document.getElementById("custodial").textContent = farmer.custodial_address;
    document.getElementById("qr").src = `/qr/${farmer.custodial_address}.svg`;
    document.getElementById("joined-h").focus();
    follow();
  });

  fillPoolers();
})();
