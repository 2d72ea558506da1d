// The order ticket's rules: the same checks as the server's (so most mistakes never leave the page), the
// order body the API takes, and one Idempotency-Key per order attempt, kept across retries of that attempt.

import { dec } from "./money.js";

export const needsPrice = (type) => type === "LIMIT" || type === "SL";
export const needsTrigger = (type) => type === "SL" || type === "SL-M";

// What is wrong with the ticket's fields for this instrument, in the words the server would use.
export function ticketProblems(fields, item) {
  if (!item) return ["choose an instrument: search for one, or pick it in the watchlist"];
  const problems = [];
  const type = fields.order_type;
  const quantityText = String(fields.quantity ?? "").trim();
  if (!/^\d+$/.test(quantityText) || Number(quantityText) < 1) {
    problems.push("quantity must be a positive whole number");
  } else if (Number(quantityText) % (item.lot || 1)) {
    problems.push(`quantity ${quantityText} is not a multiple of the lot size ${item.lot}`);
  }
  const needs = { price: needsPrice(type), trigger_price: needsTrigger(type) };
  for (const name of ["price", "trigger_price"]) {
    if (!needs[name]) continue;
    const text = String(fields[name] ?? "").trim();
    if (!text) {
      problems.push(`a ${type} order needs a ${name}`);
      continue;
    }
    if (!/^\d+(\.\d+)?$/.test(text)) {
      problems.push(`${name} must be a number`);
      continue;
    }
    if (!PRICE_TEXT.test(text)) {
      problems.push(`${name} can have at most 2 decimal places`);
      continue;
    }
    const value = dec(text);
    if (value <= 0n) {
      problems.push(`${name} must be positive`);
      continue;
    }
    const tick = dec(item.tick);
    if (tick && value % tick) problems.push(`${name} ${text} is not a multiple of the tick size ${item.tick}`);
  }
  if (type === "SL" && !problems.length) {
    const price = dec(fields.price);
    const trigger = dec(fields.trigger_price);
    if (fields.transaction_type === "BUY" && trigger > price) problems.push("a BUY SL order's trigger_price cannot be above its price");
    if (fields.transaction_type === "SELL" && trigger < price) problems.push("a SELL SL order's trigger_price cannot be below its price");
  }
  return problems;
}

// The API's order body: price and trigger only where the order type takes them (a price typed into a
// MARKET order is not sent, and the ticket hides the field).
export function orderBody(fields, item, accountId) {
  const body = {
    account: accountId,
    instrument_token: item.token,
    transaction_type: fields.transaction_type,
    order_type: fields.order_type,
    product: fields.product,
    validity: fields.validity,
    quantity: Number(fields.quantity),
  };
  if (needsPrice(fields.order_type)) body.price = String(fields.price).trim();
  if (needsTrigger(fields.order_type)) body.trigger_price = String(fields.trigger_price).trim();
  return body;
}

// An answer that says nothing for certain about whether the order was stored: no answer at all, a
// server error, or the server still working on the same key (409 idempotency_in_flight).
export function inDoubt(result) {
  if (result.status === 0 || result.status >= 500) return true;
  return result.status === 409 && result.data?.error?.code === "idempotency_in_flight";
}

// Prices as the API takes them: digits with at most two decimal places ("2500.050" is refused there too).
export const PRICE_TEXT = /^\d{1,12}(\.\d{1,2})?$/;

const newKey = () => (globalThis.crypto && crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(16).slice(2)}`);

// One key per order attempt: the same body sent again after an answer in doubt reuses the key, so the
// server places it at most once; any definite answer, or a changed order, starts a new attempt.
export class OrderAttempts {
  constructor(makeKey = newKey) {
    this.makeKey = makeKey;
    this.current = null;
  }
  attemptFor(body) {
    const text = JSON.stringify(body);
    if (!this.current || this.current.settled || this.current.text !== text) {
      this.current = { key: this.makeKey(), text, body, settled: false, tries: 0 };
    }
    return this.current;
  }
  settle(attempt, result) {
    if (!inDoubt(result)) attempt.settled = true;
  }
}

// Sends an attempt, retrying answers in doubt with the same key (`retries` more times, `waitMs` apart).
export async function attemptSend(api, attempts, attempt, { retries = 2, waitMs = 1000, sleep = (ms) => new Promise((r) => setTimeout(r, ms)) } = {}) {
  let result;
  for (let n = 0; n <= retries; n++) {
    attempt.tries += 1;
    result = await api("POST", "/api/v1/orders", attempt.body, { "Idempotency-Key": attempt.key });
    attempts.settle(attempt, result);
    if (!inDoubt(result)) break;
    if (n < retries) await sleep(waitMs * (n + 1));
  }
  return result;
}

// How an order reads in one line: "BUY 10 RELIANCE LIMIT 2,500.00".
export function orderLine(order, priceText = (p) => p) {
  const at = order.order_type === "MARKET" ? "at market" : order.order_type === "SL-M" ? `trigger ${priceText(order.trigger_price)}` : priceText(order.price);
  return `${order.transaction_type} ${order.quantity} ${order.tradingsymbol} ${order.order_type} ${at}`;
}
