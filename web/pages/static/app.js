/* kalepool web app: shared helpers. Vanilla JS, no dependencies; everything comes from the JSON API. */
"use strict";
const kp = (() => {
  const body = document.body;
  let csrf = document.querySelector('meta[name="csrf-token"]').content;
  const STROOPS = 10000000n;

  /** Stroops (integer, number or string) as an exact decimal with 7 places: the app's one amount formatter. */
  function amount(stroops) {
    if (stroops === null || stroops === undefined) return "—";
    let value = BigInt(stroops);
    const sign = value < 0n ? "-" : "";
    if (value < 0n) value = -value;
    return `${sign}${value / STROOPS}.${(value % STROOPS).toString().padStart(7, "0")}`;
  }

  /** An element: el("td", {class: "x"}, "text", child...). Text is always text, never HTML. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function show(container, ...nodes) {
    const target = typeof container === "string" ? document.getElementById(container) : container;
    target.replaceChildren(...nodes.flat(Infinity).filter((node) => node !== null && node !== undefined));
    return target;
  }

  /** Call the JSON API: signed-in calls go through the session door (`/web/api`), others straight to /api/v1. */
  async function api(method, path, payload, { session = true } = {}) {
    const url = (session ? body.dataset.api : "/api/v1") + path;
    const options = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (method !== "GET") options.headers["X-CSRF-Token"] = csrf;
    if (method === "POST" || method === "PATCH") {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(payload || {});
    }
    const response = await fetch(url, options);
    const type = response.headers.get("Content-Type") || "";
    const data = type.includes("json") ? await response.json() : await response.text();
    if (response.status === 401 && session) window.location.assign("/signin");
    return { status: response.status, ok: response.ok, data };
  }

  /** POST to a page route (join, SEP-10 sign-in) with the CSRF token; one that signs in sends the next one. */
  async function post(url, payload) {
    const response = await fetch(url, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, Accept: "application/json" },
      body: JSON.stringify(payload) });
    const data = await response.json();
    if (response.ok && data.csrf_token) csrf = data.csrf_token;  // a sign-in: the session (and its token) changed
    return { status: response.status, ok: response.ok, data };
  }

  function errorText(answer) {
    return answer.data && answer.data.error ? answer.data.error.message : `error ${answer.status}`;
  }

  /** Run `refresh` now and every `ms` milliseconds while the page is visible (live status by polling). */
  function poll(refresh, ms) {
    let timer = null;
    const tick = async () => {
      try { await refresh(); } catch (error) { console.error(error); }
      timer = setTimeout(tick, ms);
    };
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden && timer !== null) { clearTimeout(timer); tick(); }
    });
    tick();
  }

  /** A transaction hash, linked to the network's explorer when it has one. */
  function tx(hash) {
    if (!hash) return "—";
    const short = `${hash.slice(0, 8)}…`;
    const pattern = body.dataset.explorer;
    if (!pattern) return el("code", { title: hash }, short);
    return el("a", { href: pattern.replace("{hash}", hash), rel: "noopener noreferrer", target: "_blank",
      title: hash }, short);
  }

  function percent(bps) {
    if (bps === null || bps === undefined) return "—";
    return `${Math.floor(bps / 100)}.${String(bps % 100).padStart(2, "0")} %`;
  }

  /** A table in a horizontally scrolling box: columns are [heading, row => cell]. */
  function table(columns, rows, empty = "Nothing yet.") {
    if (!rows.length) return el("p", { class: "empty" }, empty);
    return el("div", { class: "scroll", tabindex: "0" }, el("table", {},
      el("thead", {}, el("tr", {}, columns.map(([heading]) => el("th", { scope: "col" }, heading)))),
      el("tbody", {}, rows.map((row) => el("tr", {}, columns.map(([, cell]) => el("td", {}, cell(row))))))));
  }

  /** A description list of [label, value] pairs. */
  function figures(pairs) {
    return pairs.filter(Boolean).flatMap(([label, value]) => [el("dt", {}, label), el("dd", {}, value)]);
  }

  /** A bar chart drawn as SVG: points are [label, value (number)]. */
  function barChart(title, points, unit) {
    const width = 600, height = 160, pad = 24;
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("viewBox", `0 0 ${width} ${height + pad}`);
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", `${title}: ${points.length} bars`);
    const max = Math.max(1, ...points.map(([, value]) => value));
    const step = points.length ? Math.min(40, (width - pad) / points.length) : 0;
    points.forEach(([label, value], i) => {
      const bar = document.createElementNS(svg.namespaceURI, "rect");
      const h = Math.max(1, (value / max) * (height - pad));
      bar.setAttribute("x", pad + i * step + 1);
      bar.setAttribute("y", height - h);
      bar.setAttribute("width", Math.max(1, step - 2));
      bar.setAttribute("height", h);
      bar.setAttribute("class", "bar");
      const tip = document.createElementNS(svg.namespaceURI, "title");
      tip.textContent = `${label}: ${unit(value)}`;
      bar.append(tip);
      svg.append(bar);
    });
    if (points.length) {
      for (const [i, anchor] of [[0, "start"], [points.length - 1, "end"]]) {
        const text = document.createElementNS(svg.namespaceURI, "text");
        text.setAttribute("x", anchor === "start" ? pad : pad + points.length * step);
        text.setAttribute("y", height + pad - 6);
        text.setAttribute("text-anchor", anchor);
        text.textContent = points[i][0];
        svg.append(text);
      }
    }
    return el("figure", { class: "chart" }, el("figcaption", {}, title),
      points.length ? svg : el("p", { class: "empty" }, "No rewards yet."));
  }

  /** A time from the API: RFC 3339 text or unix seconds. */
  function when(time) {
    if (time === null || time === undefined) return "—";
    return new Date(typeof time === "number" ? time * 1000 : time).toLocaleString();
  }

  const wallet = window.freighterApi || null;

  /** A SEP-10 challenge for `account`: {transaction, network_passphrase, expires_at}, or an error answer. */
  function challenge(account) {
    return api("POST", "/auth/challenge", { account }, { session: false });
  }

  /** Have a Freighter-style wallet sign `xdr`; returns the signed XDR. */
  async function walletSign(xdr, passphrase, account) {
    const signed = await wallet.signTransaction(xdr, { networkPassphrase: passphrase, address: account });
    return typeof signed === "string" ? signed : signed.signedTxXdr;
  }

  return { amount, el, show, api, post, errorText, poll, tx, percent, table, figures, barChart, when, wallet,
    challenge, walletSign };
})();
