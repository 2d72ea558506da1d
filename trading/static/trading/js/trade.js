// The trader's page: watchlist and search, chart, depth, order ticket, and tabs for orders, positions,
// holdings, trades and funds, kept live by two websockets (/ws/market/ for prices, /ws/account/ for the
// user's own orders, fills and status). Everything that changes state goes through the REST API, as an
// integrator's script would.

import { apiClient, rowsOf, withAccount as accountPath } from "./api.js";
import { blotterMount, modifyChanges, priceText } from "./blotter.js";
import { chartMount, bucket } from "./chart.js";
import { depthRender } from "./depth.js";
import { compact, count, dec, decimals, money, plain, signClass, toNumber } from "./money.js";
import { exitOrder, fundsOf, positionFrom, positionsRender, totalsOf } from "./positions.js";
import { socketUrl, stream } from "./stream.js";
import { OrderAttempts, attemptSend, needsPrice, needsTrigger, orderBody, orderLine, ticketProblems } from "./ticket.js";
import { ask, shortcutsMount, tabsMount, toast } from "./ui.js";
import { instrumentFromApi, searchMount, watchMount } from "./watch.js";

const boot = JSON.parse(document.getElementById("trade-boot").textContent);
const account = boot.account;
const $ = (selector) => document.querySelector(selector);
const api = apiClient({ csrf: boot.csrf });
const withAccount = (path) => accountPath(path, account.id);
const LIVE = new Set(boot.live_statuses);
const dark = window.matchMedia("(prefers-color-scheme: dark)");
const toasts = $("#toasts");
const notify = (text, kind) => toast(toasts, text, kind);

// ---- state ----
const instruments = new Map(); // token -> {token, symbol, exchange, name, tick, lot, last, prev, quote}
for (const row of boot.instruments) instruments.set(row.token, { ...row, last: null, prev: null, quote: null });
// The watchlist is kept in the browser as instrument rows, so instruments the user added (which the
// page's starting list may not carry) come back after a reload.
const watchKey = `watchlist:${account.id}`;
let saved = null;
try {
  saved = JSON.parse(localStorage.getItem(watchKey) || "null");
} catch {
  saved = null;
}
const savedRows = Array.isArray(saved) ? saved.filter((row) => row && Number.isInteger(row.token)) : [];
for (const row of savedRows) {
  if (!instruments.has(row.token)) instruments.set(row.token, { ...row, last: null, prev: null, quote: null });
}
let watch = savedRows.length ? savedRows.map((row) => row.token) : boot.instruments.map((row) => row.token);
let selected = Number(localStorage.getItem(`chart:${account.id}`)) || null;
if (!instruments.has(selected)) selected = watch[0] ?? null;
let interval = localStorage.getItem("chart:interval") || "1m";
let positions = [];
let summary = null;

// ---- watchlist and search ----
const watchlist = watchMount($("#watchlist"), { instruments, onSelect: (token) => select(token), onRemove: watchRemove });
function watchSave() {
  const rows = watch.map((token) => {
    const { symbol, exchange, name, tick, lot } = instruments.get(token);
    return { token, symbol, exchange, name, tick, lot };
  });
  localStorage.setItem(watchKey, JSON.stringify(rows));
}
function watchRemove(token) {
  watch = watch.filter((t) => t !== token);
  watchSave();
  watchlist.render(watch, selected);
  if (token !== selected && !positions.some((p) => p.instrument_token === token)) {
    market.send({ action: "unsubscribe", instruments: [token] });
  }
}
function watchAdd(token, load = true) {
  if (!watch.includes(token)) watch.push(token);
  watchSave();
  watchlist.render(watch, selected);
  market.send({ action: "subscribe", instruments: [token] });
  if (load) quotesLoad([token]);
}
searchMount($("#search"), $("#search-results"), {
  async search(query) {
    const result = await api("GET", `/api/v1/instruments?search=${encodeURIComponent(query)}&limit=20`);
    return result.ok ? rowsOf(result.data) : [];
  },
  onChoose(row) {
    if (!instruments.has(row.instrument_token)) instruments.set(row.instrument_token, { ...instrumentFromApi(row), quote: null });
    watchAdd(row.instrument_token, false);
    select(row.instrument_token); // which reads its quote
  },
});
// Prices and previous closes; the feed's quote (OHLC, depth) only for the chosen instrument.
async function quotesLoad(tokens) {
  if (!tokens.length) return;
  const market = tokens.length === 1 && tokens[0] === selected;
  const result = await api("GET", `/api/v1/quotes?instruments=${tokens.join(",")}&market=${market}`);
  if (!result.ok) return;
  for (const quote of result.data) {
    const item = instruments.get(quote.instrument_token);
    if (!item) continue;
    if (item.last === null && quote.last_price !== null) item.last = dec(quote.last_price);
    item.prev = dec(quote.previous_close);
    if (quote.market) item.quote = quote.market;
    watchlist.quote(quote.instrument_token);
    if (quote.instrument_token === selected) headShow();
  }
  ticketRules();
}

// ---- chart ----
const chartBox = $("#chart");
const chart = chartMount(chartBox, { legend: $("#chart-legend"), dark: dark.matches, onDrag: orderDragged });
dark.addEventListener("change", () => chart.setColors(dark.matches));
// Where an order's line is, in pixels from the chart's top: what a test drags (a property, not a global).
chartBox.lineY = (orderId) => chart.lineY(orderId);
let chartToken = null;
for (const name of ["sma", "ema"]) {
  const box = $(`#show-${name}`);
  box.checked = localStorage.getItem(`chart:${name}`) !== "0";
  chart.setIndicator(name, box.checked);
  box.addEventListener("change", () => {
    localStorage.setItem(`chart:${name}`, box.checked ? "1" : "0");
    chart.setIndicator(name, box.checked);
  });
}
async function chartLoad() {
  const token = selected;
  if (token === null || !instruments.has(token)) return;
  const item = instruments.get(token);
  chartToken = token;
  headShow();
  chartBox.dataset.symbol = item.symbol; // for panels loaded after this script (the news panel)
  chartBox.dataset.token = String(token);
  document.dispatchEvent(new CustomEvent("trade:selected", { detail: { symbol: item.symbol, exchange: item.exchange } }));
  chart.setPriceFormat(item.tick, decimals(item.tick));
  const result = await api("GET", `/api/v1/instruments/${token}/bars?interval=${interval}&limit=1000`);
  if (token !== selected) return; // the user moved on while it loaded
  const bars = result.ok
    ? result.data.map((bar) => ({
        time: bucket(Date.parse(bar.ts) / 1000, interval),
        open: Number(bar.open),
        high: Number(bar.high),
        low: Number(bar.low),
        close: Number(bar.close),
        volume: bar.volume,
      }))
    : [];
  chart.setBars(bars, interval);
  ordersDraw();
  await fillsLoad();
}
function headShow() {
  const item = instruments.get(selected);
  if (!item) return;
  $("#chart-title").textContent = item.symbol;
  $("#chart-exchange").textContent = `${item.exchange}${item.name && item.name !== item.symbol ? " · " + item.name : ""}`;
  $("#chart-last").textContent = money(item.last);
  const change = item.last !== null && item.prev ? item.last - item.prev : null;
  const changeBox = $("#chart-change");
  changeBox.textContent = change === null ? "" : `${change > 0n ? "+" : ""}${money(change)} (${money((change * 100n * 10000n) / item.prev)}%)`;
  changeBox.className = signClass(change);
  depthRender($("#depth-panel"), item.quote);
}
async function fillsLoad() {
  const item = instruments.get(selected);
  const result = await api("GET", withAccount(`/api/v1/trades?symbol=${encodeURIComponent(item.symbol)}&limit=500`));
  chart.setFills(
    rowsOf(result.ok ? result.data : null)
      .filter((t) => t.exchange === item.exchange)
      .map((t) => ({ at: Date.parse(t.fill_timestamp) / 1000, side: t.transaction_type, quantity: t.quantity, price: t.price })),
  );
}
for (const button of document.querySelectorAll("#timeframes button")) {
  button.addEventListener("click", () => {
    interval = button.dataset.interval;
    localStorage.setItem("chart:interval", interval);
    for (const other of document.querySelectorAll("#timeframes button")) other.setAttribute("aria-pressed", String(other === button));
    chartLoad();
  });
  button.setAttribute("aria-pressed", String(button.dataset.interval === interval));
}
function select(token) {
  selected = token;
  localStorage.setItem(`chart:${account.id}`, String(token));
  watchlist.select(token);
  market.send({ action: "subscribe", instruments: [token] });
  ticketRules();
  chartLoad();
  quotesLoad([token]);
}
// The open orders of the instrument on the chart, as lines; dragging one modifies the order.
function ordersDraw() {
  const item = instruments.get(chartToken);
  chart.setOrders(
    blotter.open().filter((o) => o.instrument_token === chartToken && !o.pending_request).map((o) => ({ ...o, tick: item ? item.tick : "0.05" })),
  );
}
async function orderDragged(order, field, price) {
  const result = await api("PATCH", `/api/v1/orders/${order.id}`, { [field]: price });
  if (result.ok) {
    blotter.show(result.data);
    notify(`Order ${order.id} moved to ${money(dec(price))}`, "info");
    return true;
  }
  notify(`Order ${order.id} not modified: ${result.message}`, "bad");
  return false;
}

// ---- market stream ----
function marketTokens() {
  const tokens = new Set(watch);
  if (selected !== null) tokens.add(selected);
  for (const position of positions) tokens.add(position.instrument_token);
  return [...tokens];
}
const market = stream(socketUrl(location, "/ws/market/"), $("#market-state"), {
  open() {
    market.send({ action: "subscribe", instruments: marketTokens() });
  },
  message(message) {
    if (message.type === "subscribed") {
      for (const quote of message.quotes) priceSet(quote.i, dec(quote.p), null, 0, null);
    } else if (message.type === "ticks") {
      for (const tick of message.ticks) priceSet(tick.i, dec(tick.p), tick.t, tick.v, tick.q);
      positionsShow();
    }
  },
});
function priceSet(token, price, at, size, quote) {
  const item = instruments.get(token);
  if (item) {
    item.last = price;
    if (quote) item.quote = quote;
    watchlist.quote(token);
  }
  for (const position of positions) {
    if (position.instrument_token === token) position.ltp = price;
  }
  if (token === chartToken) {
    if (at !== null && chart.tick(toNumber(price), size, at)) {
      chartBox.dataset.liveUpdates = String(Number(chartBox.dataset.liveUpdates || 0) + 1);
    }
    chartBox.dataset.lastPrice = plain(price);
    headShow();
    if (ticket.order_type.value === "MARKET") ticketEstimate(); // its value moves with the price
  }
}

// ---- order ticket ----
const ticket = $("#ticket");
const attempts = new OrderAttempts();
let placedId = null;
function fields() {
  return {
    transaction_type: ticket.transaction_type.value,
    order_type: ticket.order_type.value,
    product: ticket.product.value,
    validity: ticket.validity.value,
    quantity: ticket.quantity.value,
    price: ticket.price.value,
    trigger_price: ticket.trigger_price.value,
  };
}
function ticketRules() {
  const item = instruments.get(selected);
  $("#ticket-symbol").textContent = item ? `${item.exchange}:${item.symbol}` : "Choose an instrument";
  $("#ticket-rules").textContent = item ? `tick ${item.tick} · lot ${item.lot}` : "";
  const type = ticket.order_type.value;
  ticket.querySelector('[data-for="price"]').hidden = !needsPrice(type);
  ticket.querySelector('[data-for="trigger_price"]').hidden = !needsTrigger(type);
  const side = ticket.transaction_type.value;
  ticket.dataset.side = side;
  $("#ticket-submit").textContent = `${side === "BUY" ? "Buy" : "Sell"}${item ? " " + item.symbol : ""}`;
  if (item && item.last !== null) ticket.price.placeholder = plain(item.last);
}
// What the order would be worth at its price (or the last price), for the confirmation; null if unknown.
function ticketValue() {
  const f = fields();
  const item = instruments.get(selected);
  const quantity = Number(f.quantity);
  if (!item || !Number.isInteger(quantity) || quantity < 1) return null;
  const price = needsPrice(f.order_type) ? dec(f.price) : f.order_type === "SL-M" ? dec(f.trigger_price) ?? item.last : item.last;
  return price === null ? null : price * BigInt(quantity);
}
let estimateTimer = null;
let estimateAsked = 0;
let estimateAt = 0;
function ticketEstimate(now = false) {
  clearTimeout(estimateTimer);
  // Live prices move a market order's value: re-asked at most every 5 s for ticks, at once for typing.
  const wait = now ? 250 : Math.max(250, 5000 - (Date.now() - estimateAt));
  estimateTimer = setTimeout(estimateLoad, wait);
}
async function estimateLoad() {
  const item = instruments.get(selected);
  const box = $("#ticket-estimate");
  const f = fields();
  if (!item || ticketProblems(f, item).length) {
    box.dataset.state = "incomplete";
    for (const cell of box.querySelectorAll("dd")) cell.textContent = "—";
    const value = ticketValue();
    if (value !== null) box.querySelector('[data-estimate="value"]').textContent = money(value);
    return;
  }
  const asked = ++estimateAsked;
  estimateAt = Date.now();
  const result = await api("POST", "/api/v1/orders/preview", orderBody(f, item, account.id));
  if (asked !== estimateAsked) return;
  if (!result.ok) {
    box.dataset.state = "error";
    box.querySelector('[data-estimate="value"]').textContent = money(ticketValue());
    const li = document.createElement("li");
    li.textContent = result.message;
    $("#ticket-warnings").replaceChildren(li);
    return;
  }
  const e = result.data;
  for (const name of ["value", "charges", "margin", "funds_available", "funds_after"]) {
    const cell = box.querySelector(`[data-estimate="${name}"]`);
    cell.textContent = money(dec(e[name]));
    cell.className = name === "funds_after" ? signClass(dec(e[name])) : "";
  }
  box.dataset.state = "ready";
  box.dataset.confirm = String(Boolean(e.confirm));
  $("#ticket-warnings").replaceChildren(
    ...(e.problems || []).map((text) => {
      const li = document.createElement("li");
      li.textContent = text;
      return li;
    }),
  );
}
function problemsShow(problems) {
  $("#ticket-problems").replaceChildren(
    ...problems.map((text) => {
      const li = document.createElement("li");
      li.textContent = text;
      return li;
    }),
  );
}
function ticketStatusShow(order) {
  const box = $("#ticket-result");
  const filled = order.filled_quantity ? ` · filled ${count(order.filled_quantity)}/${count(order.quantity)}${Number(order.average_price) ? " at " + money(dec(order.average_price)) : ""}` : "";
  const why = order.status === "REJECTED" && order.status_message ? `: ${order.status_message}` : "";
  box.textContent = `Order ${order.id} · ${orderLine(order, (p) => money(dec(p)))} · ${order.status}${filled}${why}`;
  box.dataset.status = order.status;
  box.dataset.orderId = String(order.id);
}
ticket.addEventListener("input", () => {
  ticketRules();
  if ($("#ticket-problems").childElementCount) problemsShow(ticketProblems(fields(), instruments.get(selected)));
  ticketEstimate(true);
});
ticket.addEventListener("change", () => {
  ticketRules();
  ticketEstimate(true);
});
ticket.addEventListener("submit", async (event) => {
  event.preventDefault();
  $("#ticket-error").textContent = "";
  const item = instruments.get(selected);
  const f = fields();
  const problems = ticketProblems(f, item);
  problemsShow(problems);
  if (problems.length) return;
  const body = orderBody(f, item, account.id);
  const value = ticketValue();
  if (value !== null && value >= dec(boot.confirm_above)) {
    $("#order-confirm-text").textContent = `${orderLine({ ...body, tradingsymbol: item.symbol }, (p) => money(dec(p)))}, quantity ${count(body.quantity)}: about ₹${money(value)} (${compact(value)}).`;
    if (!(await ask($("#order-confirm"), "place"))) return;
  }
  const submit = $("#ticket-submit");
  submit.disabled = true;
  const status = $("#ticket-result");
  status.textContent = "Sending…";
  status.dataset.status = "sending";
  delete status.dataset.orderId;
  const attempt = attempts.attemptFor(body);
  try {
    const result = await attemptSend(api, attempts, attempt);
    if (result.ok) {
      placedId = result.data.id;
      ticketStatusShow(blotter.show(result.data));
      summaryLoad();
    } else if (result.status === 0 || result.status >= 500) {
      status.textContent = "";
      $("#ticket-error").textContent = `Not known whether order was placed (${result.message}). Sending it again is safe: it is the same attempt.`;
    } else {
      // The server's reason, word for word: it names the rule and the numbers.
      $("#ticket-error").textContent = result.message;
      status.textContent = "";
      if (result.data && result.data.order) {
        blotter.show(result.data.order);
        ticketStatusShow(result.data.order);
      }
    }
  } finally {
    submit.disabled = false;
  }
});

// ---- blotter, with modify and cancel ----
const blotter = blotterMount($("#orders tbody"), {
  live: LIVE,
  canCancel: boot.can.cancel,
  canModify: boot.can.cancel,
  async onCancel(order, button) {
    button.disabled = true;
    const result = await api("DELETE", `/api/v1/orders/${order.id}`);
    if (result.ok) orderEvent(result.data);
    else notify(`Order ${order.id} not cancelled: ${result.message}`, "bad");
  },
  onModify: modifyOpen,
});
const modifyDialog = $("#modify-dialog");
async function modifyOpen(order) {
  const form = modifyDialog.querySelector("form");
  $("#modify-title").textContent = `Modify order ${order.id}: ${order.transaction_type} ${order.tradingsymbol} ${order.order_type}`;
  form.quantity.value = order.quantity;
  form.price.value = order.price ? plain(dec(order.price)) : "";
  form.trigger_price.value = order.trigger_price && Number(order.trigger_price) ? plain(dec(order.trigger_price)) : "";
  form.querySelector('[data-for="price"]').hidden = !needsPrice(order.order_type);
  form.querySelector('[data-for="trigger_price"]').hidden = !needsTrigger(order.order_type);
  $("#modify-error").textContent = "";
  if (!(await ask(modifyDialog, "modify"))) return;
  const changes = modifyChanges(order, { quantity: form.quantity.value, price: form.price.value, trigger_price: form.trigger_price.value });
  if (!Object.keys(changes).length) return;
  const result = await api("PATCH", `/api/v1/orders/${order.id}`, changes);
  if (result.ok) {
    orderEvent(result.data);
    notify(`Order ${order.id} modified: ${priceText(result.data)}, quantity ${count(result.data.quantity)}`, "info");
  } else {
    notify(`Order ${order.id} not modified: ${result.message}`, "bad");
  }
}
function orderEvent(order) {
  if (order.account !== account.id) return;
  const before = blotter.orders.get(order.id);
  const data = blotter.show(order);
  if (order.id === placedId) ticketStatusShow(data);
  if (data.status === "REJECTED" && (!before || before.status !== "REJECTED")) {
    notify(`Order ${data.id} rejected: ${data.status_message || "no reason given"}`, "bad");
  }
  $("#orders-count").textContent = String(blotter.open().length);
  ordersDraw();
  refreshSoon(); // blocked funds change when an order rests, is modified or cancelled
}
async function ordersLoad() {
  const result = await api("GET", withAccount("/api/v1/orders?limit=100"));
  if (!result.ok) return;
  blotter.clear();
  for (const order of rowsOf(result.data).slice().reverse()) blotter.show(order);
  $("#orders-count").textContent = String(blotter.open().length);
  ordersDraw();
}

// ---- positions, holdings, trades, funds and the account bar ----
async function positionsLoad() {
  const result = await api("GET", withAccount("/api/v1/positions"));
  if (!result.ok) return;
  const before = new Set(positions.map((p) => p.instrument_token));
  positions = result.data.map((row) => positionFrom(row, instruments.get(row.instrument_token)?.last ?? null));
  const added = positions.map((p) => p.instrument_token).filter((token) => !before.has(token));
  if (added.length) market.send({ action: "subscribe", instruments: added });
  positionsShow();
}
function positionsShow() {
  positionsRender($("#positions tbody"), positions, { canExit: boot.can.place, onExit: positionExit });
  const totals = totalsOf(positions);
  $("#pos-unrealised").textContent = money(totals.unrealised);
  $("#pos-unrealised").className = `num ${signClass(totals.unrealised)}`;
  $("#pos-realised").textContent = money(totals.realised);
  $("#pos-charges").textContent = money(totals.charges);
  $("#positions-count").textContent = String(positions.filter((p) => p.quantity !== 0).length);
  summaryShow();
}
async function positionExit(position, button) {
  const body = exitOrder(position, account.id);
  const price = position.ltp ?? position.avg;
  const value = price === null ? null : price * BigInt(body.quantity);
  $("#order-confirm-text").textContent = `Exit ${position.tradingsymbol} ${position.product}: ${body.transaction_type} ${count(body.quantity)} at market${value === null ? "" : `, about ₹${money(value)}`}.`;
  if (!(await ask($("#order-confirm"), "place"))) return;
  button.disabled = true;
  const attempt = attempts.attemptFor(body);
  const result = await attemptSend(api, attempts, attempt);
  button.disabled = false;
  if (result.ok) {
    orderEvent(result.data);
    notify(`Exit order ${result.data.id} placed: ${body.transaction_type} ${count(body.quantity)} ${position.tradingsymbol}`, "info");
  } else {
    notify(`Exit ${position.tradingsymbol}: ${result.message}`, "bad");
  }
}
async function summaryLoad() {
  const result = await api("GET", withAccount("/api/v1/portfolio/summary"));
  if (!result.ok) return;
  summary = result.data;
  summary.unrealisedAtLoad = totalsOf(positions).unrealised;
  summaryShow();
  holdingsShow();
}
function summaryShow() {
  if (!summary) return;
  const funds = fundsOf(summary, positions);
  const set = (id, units, signed = false) => {
    const el = $(id);
    el.textContent = money(units);
    if (signed) el.className = signClass(units);
  };
  set("#acct-available", funds.available);
  set("#acct-margin", funds.blocked);
  set("#acct-cash", funds.cash);
  set("#acct-daypnl", funds.day, true);
  set("#funds-available", funds.available);
  set("#funds-blocked", funds.blocked);
  set("#funds-cash", funds.cash);
  set("#funds-day", funds.day, true);
  const totals = totalsOf(positions);
  set("#funds-realised", totals.realised, true);
  set("#funds-unrealised", totals.unrealised, true);
  set("#funds-charges", totals.charges);
  set("#funds-net", totals.net, true);
  statusShow(summary.status);
}
function holdingsShow() {
  const body = $("#holdings tbody");
  const rows = (summary.holdings || []).map((h) => {
    const row = document.createElement("tr");
    const item = [...instruments.values()].find((i) => i.symbol === h.tradingsymbol);
    const last = item ? item.last : null;
    const avg = dec(h.average_price);
    const pnl = last === null ? null : (last - avg) * BigInt(h.quantity);
    for (const [text, className] of [[h.tradingsymbol, ""], [count(h.quantity), "num"], [money(avg), "num"], [money(last), "num"], [money(pnl), `num ${signClass(pnl)}`]]) {
      const td = document.createElement("td");
      td.className = className;
      td.textContent = text;
      row.append(td);
    }
    return row;
  });
  body.replaceChildren(...rows);
  $("#holdings-empty").hidden = rows.length > 0;
}
async function tradesLoad() {
  const result = await api("GET", withAccount("/api/v1/trades?limit=100"));
  if (!result.ok) return;
  $("#trades tbody").replaceChildren(
    ...rowsOf(result.data).map((t) => {
      const row = document.createElement("tr");
      const when = new Intl.DateTimeFormat("en-IN", { timeZone: "Asia/Kolkata", day: "2-digit", month: "short", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false }).format(new Date(t.fill_timestamp));
      for (const [text, className] of [[when, ""], [t.tradingsymbol, ""], [t.transaction_type, t.transaction_type === "BUY" ? "up" : "down"], [count(t.quantity), "num"], [money(dec(t.price)), "num"], [String(t.order), "num"]]) {
        const td = document.createElement("td");
        td.className = className;
        td.textContent = text;
        row.append(td);
      }
      return row;
    }),
  );
}
function statusShow(status, reason) {
  const badge = $("#acct-status");
  const changed = badge.dataset.status !== status;
  badge.textContent = status;
  badge.dataset.status = status;
  // Why the account is halted or reducing (the kill switch's reason, a reconciliation mismatch).
  if (reason !== undefined) $("#acct-status-reason").textContent = status === "active" ? "" : reason;
  $("#kill-switch").hidden = !boot.can.halt || status === "halted";
  $("#resume").hidden = !boot.can.resume || status === "active";
  return changed;
}
let refreshTimer = null;
function refreshSoon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(async () => {
    await positionsLoad();
    await summaryLoad();
  }, 150);
}

// ---- kill switch, behind a confirmation ----
$("#kill-switch").addEventListener("click", async () => {
  const dialog = $("#kill-confirm");
  if (!(await ask(dialog, "halt"))) return;
  const reason = dialog.querySelector("input[name=reason]").value.trim();
  const result = await api("POST", `/api/v1/accounts/${account.id}/halt`, { reason });
  if (!result.ok) notify(`Kill switch: ${result.message}`, "bad");
  await Promise.all([ordersLoad(), summaryLoad()]);
});
$("#resume").addEventListener("click", async () => {
  const result = await api("POST", `/api/v1/accounts/${account.id}/resume`, { reason: "resumed from the trade page" });
  if (!result.ok) notify(`Resume: ${result.message}`, "bad");
  // Resuming needs a second person (ops or admin): the account stays stopped until they approve.
  else if (result.status === 202) notify("Resume requested: it takes effect when ops approve it.", "info");
  await summaryLoad();
});

// ---- account stream: the user's own events only (the server picks the group from the session) ----
stream(socketUrl(location, "/ws/account/"), $("#account-state"), {
  open() {
    // Whatever happened while disconnected is read back, not replayed.
    ordersLoad();
    tradesLoad();
    refreshSoon();
  },
  message(message) {
    if (message.type === "order") {
      orderEvent(message.data);
    } else if (message.type === "fill" && message.data.account === account.id) {
      const fill = message.data;
      if (fill.instrument_token === chartToken) {
        chart.addFill({ at: Date.parse(fill.fill_timestamp) / 1000, side: fill.transaction_type, quantity: fill.quantity, price: fill.price });
      }
      notify(`${fill.transaction_type === "BUY" ? "Bought" : "Sold"} ${count(fill.quantity)} ${fill.tradingsymbol} at ${money(dec(fill.price))}`, "good");
      tradesLoad();
      refreshSoon();
    } else if (message.type === "cross" && message.data.account === account.id) {
      refreshSoon(); // sub-ledgers crossed at the square-off: realised P&L moved, no fill
    } else if (message.type === "account" && message.data.id === account.id) {
      if (statusShow(message.data.status, message.data.reason || "")) {
        const why = message.data.reason ? `: ${message.data.reason}` : "";
        notify(`Account ${message.data.status}${why}`, message.data.status === "active" ? "info" : "bad");
      }
      refreshSoon();
    }
  },
});

// ---- keyboard: B and S set the side and go to the quantity, / searches, Esc closes and leaves fields ----
function sideChoose(side) {
  ticket.querySelector(`input[name=transaction_type][value=${side}]`).checked = true;
  ticketRules();
  ticketEstimate(true);
  ticket.quantity.focus();
  ticket.quantity.select();
}
shortcutsMount({
  b: () => sideChoose("BUY"),
  s: () => sideChoose("SELL"),
  "/": () => $("#search").focus(),
  Escape: (event) => {
    if (event.target && event.target.blur) event.target.blur();
    return false;
  },
});

tabsMount($("#book-tabs"), `tab:${account.id}`);
statusShow(account.status, account.status_reason || "");
watchlist.render(watch, selected);
ticketRules();
quotesLoad(watch.filter((t) => t !== selected));
if (selected !== null) quotesLoad([selected]);
chartLoad();
