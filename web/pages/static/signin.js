/* SEP-10 sign-in: get a challenge for the payout account, have the wallet sign it (or paste it signed),
   and exchange it for a new token (the old one stops working). */
"use strict";
(() => {
  const { post, errorText, wallet } = kp;
  const $ = (id) => document.getElementById(id);
  let passphrase = null;

  $("sep10-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("sep10-error").textContent = "";
    const answer = await kp.challenge($("account").value.trim());
    if (!answer.ok) { $("sep10-error").textContent = errorText(answer); return; }
    passphrase = answer.data.network_passphrase;
    $("challenge-xdr").value = answer.data.transaction;
    $("expires").textContent = kp.when(answer.data.expires_at);
    $("challenge").hidden = false;
    $("wallet-sign").hidden = !wallet;
    $("wallet-note").textContent = wallet ? " (or use the button)" : "";
    $("signed-xdr").focus();
  });

  $("wallet-sign").addEventListener("click", async () => {
    try {
      $("signed-xdr").value = await kp.walletSign($("challenge-xdr").value, passphrase, $("account").value.trim());
    } catch (error) {
      $("sep10-error").textContent = `The wallet did not sign: ${error.message || error}`;
    }
  });

  $("send-signed").addEventListener("click", async () => {
    const farmer = parseInt($("farmer-id").value, 10);
    const answer = await post("/signin/stellar", { transaction: $("signed-xdr").value.trim(),
      ...(Number.isInteger(farmer) ? { farmer_id: farmer } : {}) });
    if (!answer.ok) { $("sep10-error").textContent = errorText(answer); return; }
    $("challenge").hidden = true;
    $("new-token-value").textContent = answer.data.api_token;
    $("new-token").hidden = false;
  });
})();
