import assert from "node:assert/strict";
import { test } from "node:test";
import { OrderAttempts, attemptSend, orderBody, ticketProblems } from "../../trading/static/trading/js/ticket.js";

const item = { token: 5001, symbol: "SAWCO", exchange: "NSE", tick: "0.05", lot: 1 };
const fields = (over = {}) => ({ transaction_type: "BUY", order_type: "LIMIT", product: "CNC", validity: "DAY", quantity: "10", price: "1002.00", trigger_price: "", ...over });

test("the ticket names what is wrong before anything is sent", () => {
  assert.deepEqual(ticketProblems(fields(), item), []);
  assert.deepEqual(ticketProblems(fields({ price: "1002.03" }), item), ["price 1002.03 is not a multiple of the tick size 0.05"]);
  assert.deepEqual(ticketProblems(fields({ quantity: "0" }), item), ["quantity must be a positive whole number"]);
  assert.deepEqual(ticketProblems(fields({ order_type: "SL", trigger_price: "" }), item), ["a SL order needs a trigger_price"]);
  assert.deepEqual(ticketProblems(fields({ order_type: "SL", price: "100.00", trigger_price: "101.00" }), item), ["a BUY SL order's trigger_price cannot be above its price"]);
  assert.deepEqual(ticketProblems(fields({ quantity: "3" }), { ...item, lot: 25 }), ["quantity 3 is not a multiple of the lot size 25"]);
  assert.equal(ticketProblems(fields(), null).length, 1);
});

test("a market order sends no price even when one was typed", () => {
  const body = orderBody(fields({ order_type: "MARKET", price: "999.00" }), item, 7);
  assert.equal(body.price, undefined);
  assert.equal(body.trigger_price, undefined);
  assert.deepEqual(ticketProblems(fields({ order_type: "MARKET", price: "abc" }), item), []);
  assert.equal(orderBody(fields({ order_type: "SL-M", trigger_price: "990.00" }), item, 7).trigger_price, "990.00");
});

test("one Idempotency-Key per attempt: a retry after no answer reuses it, a new order gets a new one", async () => {
  let n = 0;
  const attempts = new OrderAttempts(() => `key-${++n}`);
  const body = orderBody(fields(), item, 7);
  const sent = [];
  const answers = [{ ok: false, status: 0 }, { ok: false, status: 503 }, { ok: true, status: 201, data: { id: 1 } }];
  const api = async (method, path, payload, headers) => {
    sent.push(headers["Idempotency-Key"]);
    return answers.shift();
  };
  const attempt = attempts.attemptFor(body);
  const result = await attemptSend(api, attempts, attempt, { sleep: async () => {} });
  assert.equal(result.status, 201);
  assert.deepEqual(sent, ["key-1", "key-1", "key-1"]);
  // the same order placed again after a definite answer is a new attempt
  assert.equal(attempts.attemptFor(body).key, "key-2");
});

test("an attempt still in doubt after its retries keeps its key for the user's next press", async () => {
  let n = 0;
  const attempts = new OrderAttempts(() => `key-${++n}`);
  const body = orderBody(fields(), item, 7);
  const api = async () => ({ ok: false, status: 0 });
  const first = attempts.attemptFor(body);
  await attemptSend(api, attempts, first, { retries: 1, sleep: async () => {} });
  assert.equal(first.tries, 2);
  assert.equal(attempts.attemptFor(body).key, "key-1");
  // but a changed order is not the same attempt
  assert.equal(attempts.attemptFor({ ...body, quantity: 11 }).key, "key-2");
});

test("a refusal is a definite answer: the next press is a new attempt", async () => {
  let n = 0;
  const attempts = new OrderAttempts(() => `key-${++n}`);
  const body = orderBody(fields(), item, 7);
  const attempt = attempts.attemptFor(body);
  await attemptSend(async () => ({ ok: false, status: 422 }), attempts, attempt, { sleep: async () => {} });
  assert.equal(attempt.tries, 1);
  assert.equal(attempts.attemptFor(body).key, "key-2");
});

test("the ticket refuses what the API refuses: three decimals even when they are zeros", () => {
  assert.deepEqual(ticketProblems(fields({ price: "2500.050" }), item), ["price can have at most 2 decimal places"]);
});

test("a 409 for a key still being worked on and any server error are in doubt: retried with the same key", async () => {
  let n = 0;
  const attempts = new OrderAttempts(() => `key-${++n}`);
  const body = orderBody(fields(), item, 7);
  const answers = [
    { ok: false, status: 409, data: { error: { code: "idempotency_in_flight" } } },
    { ok: false, status: 500 },
    { ok: true, status: 201, data: { id: 3 } },
  ];
  const sent = [];
  const attempt = attempts.attemptFor(body);
  await attemptSend(async (m, p, b, h) => (sent.push(h["Idempotency-Key"]), answers.shift()), attempts, attempt, { sleep: async () => {} });
  assert.deepEqual(sent, ["key-1", "key-1", "key-1"]);
});
