// The trader's page: watchlist and search, chart, depth, order ticket, and tabs for orders, positions,
// holdings, trades and funds, kept live by two websockets (/ws/market/ for prices, /ws/account/ for the
// user's own orders, fills and status). Everything that changes state goes through the REST API, as an
// integrator's script would.

import { apiClient, rowsOf, withAccount as accountPath } from "./api.js";
import { blotterMount, modifyChanges, priceText } from "./blotter.js";
import { chartMount, bucket } from "./chart.js";
import { depthRender } from "./depth.js";
import { compact, count, dec, decimals, money, percent, plain, signClass, toNumber } from "./money.js";
import { exitOrder, fundsOf, positionFrom, positionsRender, totalsOf } from "./positions.js";
import { socketUrl, stream } from "./stream.js";
import { OrderAttempts, attemptSend, inDoubt, needsPrice, needsTrigger, orderBody, orderLine, ticketProblems } from "./ticket.js";
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
// Open orders' lines can be dragged by those who may modify orders.
const chart = chartMount(chartBox, { legend: $("#chart-legend"), dark: dark.matches, onDrag: boot.can.cancel ? orderDragged : null });
dark.addEventListener("change", () => chart.setColors(dark.matches));
// Where an order's line is, in pixels from the chart's top: what a test drags (a property, not a global).
chartBox.lineY = (orderId) => chart.lineY(orderId);
chartBox.priceY = (price) => chart.priceY(price);
let chartToken = null; // the instrument whose bars are on the chart
let chartSeq = 0; // the latest chart load: answers to older ones are dropped
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
  const wanted = interval;
  const seq = ++chartSeq;
  if (token === null || !instruments.has(token)) return;
  const item = instruments.get(token);
  headShow();
  chartBox.dataset.symbol = item.symbol; // for panels loaded after this script (the news panel)
  chartBox.dataset.token = String(token);
  document.dispatchEvent(new CustomEvent("trade:selected", { detail: { symbol: item.symbol, exchange: item.exchange } }));
  chart.setPriceFormat(item.tick, decimals(item.tick));
  const result = await api("GET", `/api/v1/instruments/${token}/bars?interval=${wanted}&limit=1000`);
  if (seq !== chartSeq) return; // the user moved on (another instrument or timeframe) while it loaded
  const bars = result.ok
    ? result.data.map((bar) => ({
        time: bucket(Date.parse(bar.ts) / 1000, wanted),
        open: Number(bar.open),
        high: Number(bar.high),
        low: Number(bar.low),
        close: Number(bar.close),
        volume: bar.volume,
      }))
    : [];
  chartToken = token;
  chart.setBars(bars, wanted);
  ordersDraw();
  await fillsLoad(token, seq);
}
function headShow() {
  const item = instruments.get(selected);
  if (!item) return;
  $("#chart-title").textContent = item.symbol;
  $("#chart-exchange").textContent = `${item.exchange}${item.name && item.name !== item.symbol ? " · " + item.name : ""}`;
  $("#chart-last").textContent = money(item.last);
  const change = item.last !== null && item.prev ? item.last - item.prev : null;
  const changeBox = $("#chart-change");
  changeBox.textContent = change === null ? "" : `${change > 0n ? "+" : ""}${money(change)} (${money(percent(item.last, item.prev))}%)`;
  changeBox.className = signClass(change);
  depthRender($("#depth-panel"), item.quote);
}
async function fillsLoad(token, seq) {
  const item = instruments.get(token);
  const result = await api("GET", withAccount(`/api/v1/trades?symbol=${encodeURIComponent(item.symbol)}&limit=500`));
  if (seq !== chartSeq) return;
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
  if (token !== selected) {
    // a price typed for the previous instrument is not carried over to this one
    ticket.price.value = "";
    ticket.trigger_price.value = "";
  }
  selected = token;
  localStorage.setItem(`chart:${account.id}`, String(token));
  watchlist.select(token);
  market.send({ action: "subscribe", instruments: [token] });
  ticketRules();
  ticketEstimate(true);
  chartLoad();
  quotesLoad([token]);
}
// The open orders of the instrument on the chart, as lines; dragging one modifies the order.
// (Stream events name the instrument by exchange and symbol; API answers by token too.)
function ordersDraw() {
  const item = instruments.get(chartToken);
  if (!item) return;
  const onChart = (o) => o.instrument_token === chartToken || (o.exchange === item.exchange && o.tradingsymbol === item.symbol);
  chart.setOrders(blotter.open().filter((o) => onChart(o) && !o.pending_request).map((o) => ({ ...o, tick: item.tick })));
}
async function orderDragged(order, field, price) {
  // A limit dragged to or past the market would fill at once: the trader says so first.
  const last = instruments.get(chartToken)?.last ?? null;
  const moved = dec(price);
  const marketable =
    field === "price" && last !== null && (order.transaction_type === "BUY" ? moved >= last : moved <= last);
  if (marketable) {
    const text = `Order ${order.id} (${order.transaction_type} ${order.tradingsymbol}) to ${money(moved)}: the last price is ${money(last)}, so at this price it may fill at once.`;
    if (!(await confirmAsk("Move this order?", text, "Move it"))) return false;
  }
  const result = await api("PATCH", `/api/v1/orders/${order.id}`, { [field]: price });
  if (result.ok) {
    orderEvent(result.data);
    notify(`Order ${order.id} moved to ${money(dec(price))}`, "info");
    return true;
  }
  if (result.status === 0 || result.status >= 500) {
    // it may or may not have been applied: the orders are read back and the line drawn where it is
    notify(`Order ${order.id}: not known whether it moved (${result.message}); reading the orders again`, "bad");
    ordersLoad();
    return false;
  }
  notify(`Order ${order.id} not modified: ${result.message}`, "bad");
  return false;
}

// The confirmation dialog, worded for what it asks.
function confirmAsk(title, text, yes) {
  $("#order-confirm-title").textContent = title;
  $("#order-confirm-text").textContent = text;
  $("#order-confirm-button").textContent = yes;
  return ask($("#order-confirm"), "place");
}

// ---- market stream ----
function marketTokens() {
  const tokens = new Set(watch);
  if (selected !== null) tokens.add(selected);
  for (const position of positions) tokens.add(position.instrument_token);
  return [...tokens];
}
let marketOpens = 0;
const market = stream(socketUrl(location, "/ws/market/"), $("#market-state"), {
  open() {
    market.send({ action: "subscribe", instruments: marketTokens() });
    // after a reconnect, what moved meanwhile is read back: bars, quotes, fill markers
    if (++marketOpens > 1) {
      chartLoad();
      quotesLoad(watch.filter((t) => t !== selected));
      if (selected !== null) quotesLoad([selected]);
    }
  },
  message(message) {
    if (message.type === "subscribed") {
      for (const quote of message.quotes) priceSet(quote.i, dec(quote.p), null, 0, null);
    } else if (message.type === "ticks") {
      for (const tick of message.ticks) priceSet(tick.i, dec(tick.p), tick.t, tick.v, tick.q);
      positionsShow();
      if (summary) holdingsShow(); // holdings are marked at the live price like positions
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
  if (token === chartToken && at !== null && chart.tick(toNumber(price), size, at)) {
    chartBox.dataset.liveUpdates = String(Number(chartBox.dataset.liveUpdates || 0) + 1);
  }
  if (token === selected) {
    chartBox.dataset.lastPrice = plain(price);
    headShow();
    if (ticket.order_type.value === "MARKET") ticketEstimate(); // its value moves with the price
  }
}

// ---- order ticket ----
const ticket = $("#ticket");
// One attempt store for the ticket and one per position's Exit, so an exit never replaces a ticket
// order still in doubt (and with it the key its retry must reuse).
const attempts = new OrderAttempts();
const exitAttempts = new Map(); // "token:product" -> OrderAttempts
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
  if (item && item.last !== null) ticket.price.placeholder = `last ${plain(item.last)}`;
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
let estimateSoon = false; // a typing-driven estimate is waiting: ticks do not push it back
function ticketEstimate(now = false) {
  if (!now && estimateTimer !== null) return;
  clearTimeout(estimateTimer);
  estimateSoon = now || estimateSoon;
  // Live prices move a market order's value: re-asked at most every 5 s for ticks, at once for typing.
  const wait = estimateSoon ? 250 : Math.max(250, 5000 - (Date.now() - estimateAt));
  estimateTimer = setTimeout(() => {
    estimateTimer = null;
    estimateSoon = false;
    estimateLoad();
  }, wait);
}
async function estimateLoad() {
  const item = instruments.get(selected);
  const box = $("#ticket-estimate");
  const f = fields();
  const asked = ++estimateAsked; // an answer for an earlier state of the ticket is dropped
  if (!item || ticketProblems(f, item).length) {
    box.dataset.state = "incomplete";
    $("#ticket-warnings").replaceChildren();
    for (const cell of box.querySelectorAll("dd")) cell.textContent = "—";
    const value = ticketValue();
    if (value !== null) box.querySelector('[data-estimate="value"]').textContent = money(value);
    return;
  }
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
let sending = false; // one order at a time from the ticket, and a pause after each answer
ticket.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (sending) return;
  $("#ticket-error").textContent = "";
  const item = instruments.get(selected);
  const f = fields();
  const problems = ticketProblems(f, item);
  problemsShow(problems);
  if (problems.length) return;
  const body = orderBody(f, item, account.id);
  const value = ticketValue();
  // Big orders, and orders whose value cannot be told yet (no price seen), are confirmed first.
  if (value === null || value >= dec(boot.confirm_above)) {
    const worth = value === null ? "its value is not known yet (no price seen)" : `about ₹${money(value)} (${compact(value)})`;
    const text = `${orderLine({ ...body, tradingsymbol: item.symbol }, (p) => money(dec(p)))}, quantity ${count(body.quantity)}: ${worth}.`;
    if (!(await confirmAsk("Place this order?", text, "Place the order"))) return;
  }
  const submit = $("#ticket-submit");
  sending = true;
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
      orderEvent(result.data);
    } else if (inDoubt(result)) {
      status.textContent = "";
      $("#ticket-error").textContent = `Not known whether the order was placed (${result.message}). Placing it again unchanged is safe: it goes with the same Idempotency-Key, so it is placed at most once.`;
    } else {
      // The server's reason, word for word: it names the rule and the numbers.
      $("#ticket-error").textContent = result.message;
      status.textContent = "";
      if (result.data && result.data.order) {
        placedId = result.data.order.id;
        orderEvent(result.data.order);
      }
    }
  } finally {
    // a double click or a held Enter does not place the same order twice
    setTimeout(() => {
      sending = false;
      submit.disabled = false;
    }, 800);
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
    if (result.ok) {
      orderEvent(result.data);
      return;
    }
    button.disabled = false;
    if (result.status === 0 || result.status >= 500) {
      notify(`Order ${order.id}: not known whether it was cancelled (${result.message}); reading the orders again`, "bad");
      ordersLoad();
    } else {
      notify(`Order ${order.id} not cancelled: ${result.message}`, "bad");
    }
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
  // (the ticket says so itself for the order it placed)
  if (data.status === "REJECTED" && (!before || before.status !== "REJECTED") && data.id !== placedId) {
    notify(`Order ${data.id} rejected: ${data.status_message || "no reason given"}`, "bad");
  }
  if (exiting.has(exitKeyOf(data)) && exiting.get(exitKeyOf(data)) === data.id && !LIVE.has(data.status)) {
    exiting.delete(exitKeyOf(data));
    positionsShow();
  }
  $("#orders-count").textContent = String(blotter.open().length);
  ordersDraw();
  refreshSoon(); // blocked funds change when an order rests, is modified or cancelled
}
// The latest orders, merged into what the page has: a state newer than the list's (from the stream
// while the list loaded) is kept, and open orders older than the latest 100 stay.
async function ordersLoad() {
  const result = await api("GET", withAccount("/api/v1/orders?limit=100"));
  if (!result.ok) return;
  for (const order of rowsOf(result.data).slice().reverse()) blotter.show(order);
  $("#orders-count").textContent = String(blotter.open().length);
  ordersDraw();
}

// ---- positions, holdings, trades, funds and the account bar ----
let positionsAsked = 0;
async function positionsLoad() {
  const asked = ++positionsAsked;
  const result = await api("GET", withAccount("/api/v1/positions"));
  if (!result.ok || asked !== positionsAsked) return; // a later load's answer wins
  const before = new Set(positions.map((p) => p.instrument_token));
  positions = result.data.map((row) => positionFrom(row, instruments.get(row.instrument_token)?.last ?? null));
  const added = positions.map((p) => p.instrument_token).filter((token) => !before.has(token));
  if (added.length) market.send({ action: "subscribe", instruments: added });
  positionsShow();
}
function positionsShow() {
  positionsRender($("#positions tbody"), positions, {
    canExit: boot.can.place,
    onExit: positionExit,
    busy: (position) => exiting.has(exitKeyOf(position)),
  });
  const totals = totalsOf(positions);
  $("#pos-unrealised").textContent = money(totals.unrealised);
  $("#pos-unrealised").className = `num ${signClass(totals.unrealised)}`;
  $("#pos-realised").textContent = money(totals.realised);
  $("#pos-charges").textContent = money(totals.charges);
  $("#positions-count").textContent = String(positions.filter((p) => p.quantity !== 0).length);
  summaryShow();
}
// Exits on their way, by "token:product": the Exit button waits until the exit order is done, so a
// second press cannot send a second exit that would flip the position.
const exiting = new Map();
const exitKeyOf = (row) => `${row.instrument_token}:${row.product}`;
async function positionExit(position, button) {
  const key = exitKeyOf(position);
  if (exiting.has(key)) return;
  const body = exitOrder(position, account.id);
  const price = position.ltp ?? position.avg;
  const value = price === null ? null : price * BigInt(body.quantity);
  const text = `Exit ${position.tradingsymbol} ${position.product}: ${body.transaction_type} ${count(body.quantity)} at market${value === null ? "" : `, about ₹${money(value)}`}.`;
  if (!(await confirmAsk("Exit this position?", text, "Exit at market"))) return;
  button.disabled = true;
  exiting.set(key, null);
  if (!exitAttempts.has(key)) exitAttempts.set(key, new OrderAttempts());
  const store = exitAttempts.get(key);
  const result = await attemptSend(api, store, store.attemptFor(body));
  if (result.ok) {
    orderEvent(result.data);
    // the newest state, which the stream may have brought before this answer
    const data = blotter.orders.get(result.data.id);
    if (LIVE.has(data.status)) exiting.set(key, data.id);
    else exiting.delete(key);
  } else {
    exiting.delete(key);
  }
  button.disabled = false;
  positionsShow();
  if (result.ok) {
    notify(`Exit order ${result.data.id} placed: ${body.transaction_type} ${count(body.quantity)} ${position.tradingsymbol}`, "info");
  } else {
    notify(`Exit ${position.tradingsymbol}: ${result.message}`, "bad");
  }
}
let summaryAsked = 0;
async function summaryLoad() {
  const asked = ++summaryAsked;
  const result = await api("GET", withAccount("/api/v1/portfolio/summary"));
  if (!result.ok || asked !== summaryAsked) return; // a later load's answer wins
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
  if (status === "active") $("#acct-status-reason").textContent = "";
  else if (reason !== undefined) $("#acct-status-reason").textContent = reason;
  $("#kill-switch").hidden = !boot.can.halt || status === "halted";
  $("#resume").hidden = !boot.can.resume || status === "active";
  return changed;
}
// Positions and funds read again after events: 150 ms after the last of a burst, but at least once a
// second while events keep coming (a busy strategy never starves the page of its figures).
let refreshTimer = null;
let refreshFirst = 0;
function refreshSoon() {
  const now = Date.now();
  if (refreshTimer === null) refreshFirst = now;
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(async () => {
    refreshTimer = null;
    await positionsLoad();
    await summaryLoad();
  }, Math.max(0, Math.min(150, refreshFirst + 1000 - now)));
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
let accountOpens = 0;
stream(socketUrl(location, "/ws/account/"), $("#account-state"), {
  open() {
    // After a reconnect, whatever happened while disconnected is read back, not replayed.
    if (++accountOpens > 1) {
      ordersLoad();
      tradesLoad();
      refreshSoon();
    }
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
// The account's figures come over HTTP at once, whether or not the account stream can open.
ordersLoad();
tradesLoad();
positionsLoad().then(summaryLoad);
