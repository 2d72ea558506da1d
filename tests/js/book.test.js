import assert from "node:assert/strict";
import { test } from "node:test";
import { modifyChanges, priceText, staler } from "../../trading/static/trading/js/blotter.js";
import { depthRows, spreadOf } from "../../trading/static/trading/js/depth.js";
import { dec } from "../../trading/static/trading/js/money.js";
import { exitOrder, fundsOf, positionFrom, totalsOf, unrealisedOf } from "../../trading/static/trading/js/positions.js";
import { rankResults } from "../../trading/static/trading/js/watch.js";

test("unrealised P&L at the live price, and totals", () => {
  const long = positionFrom({ quantity: 10, average_price: "100.00", open_cost: "1000.00", realised_pnl: "5.00", charges: "1.50", last_price: "99.00" }, dec("103.00"));
  assert.equal(unrealisedOf(long), dec("30"));
  const short = positionFrom({ quantity: -5, average_price: "200.00", open_cost: "-1000.00", realised_pnl: "0", charges: "0.50", last_price: null }, dec("190.00"));
  assert.equal(unrealisedOf(short), dec("50"));
  const t = totalsOf([long, short]);
  assert.equal(t.unrealised, dec("80"));
  assert.equal(t.net, dec("80") + dec("5") - dec("2"));
});

test("available funds and the day's P&L follow the live price", () => {
  const position = positionFrom({ quantity: 10, average_price: "100.00", open_cost: "1000.00", realised_pnl: "0", charges: "0" }, dec("100.00"));
  const summary = { cash: "50000.00", funds_blocked: "1000.00", day_pnl: { total: "0.00" } };
  summary.unrealisedAtLoad = unrealisedOf(position);
  assert.equal(fundsOf(summary, [position]).available, dec("49000"));
  position.ltp = dec("101.50");
  assert.equal(fundsOf(summary, [position]).day, dec("15"));
  assert.equal(fundsOf({ ...summary, funds_available: "48000.00" }, [position]).available, dec("48000"));
});

test("exit closes the whole position at market on the same product", () => {
  assert.deepEqual(exitOrder({ instrument_token: 9, quantity: -7, product: "MIS" }, 3), {
    account: 3, instrument_token: 9, transaction_type: "BUY", order_type: "MARKET", product: "MIS", validity: "DAY", quantity: 7,
  });
});

test("a modification sends only what changed", () => {
  const order = { order_type: "LIMIT", quantity: 10, price: "100.00", trigger_price: "0" };
  assert.deepEqual(modifyChanges(order, { quantity: "10", price: "100.0" }), {});
  assert.deepEqual(modifyChanges(order, { quantity: "20", price: "99.50" }), { quantity: 20, price: "99.50" });
  assert.deepEqual(modifyChanges({ ...order, order_type: "SL-M", trigger_price: "98.00" }, { quantity: "10", trigger_price: "97.00", price: "5" }), { trigger_price: "97.00" });
  assert.equal(priceText({ order_type: "SL", price: "1000", trigger_price: "1001" }), "1,000.00 trg 1,001.00");
});

test("depth has five levels a side, padded, with totals and the spread", () => {
  const quote = {
    depth_buy: [{ price: "99.95", quantity: 100, orders: 2 }, { price: "99.90", quantity: 50, orders: 1 }],
    depth_sell: [{ price: "100.05", quantity: 70, orders: 3 }],
  };
  const { rows, bidTotal, askTotal } = depthRows(quote);
  assert.equal(rows.length, 5);
  assert.equal(rows[1].bid, dec("99.90"));
  assert.equal(rows[1].ask, null);
  assert.equal(bidTotal, 150);
  assert.equal(askTotal, 70);
  assert.equal(spreadOf(quote), dec("0.10"));
  assert.equal(depthRows(null).bidTotal, null);
});

test("search puts the exact symbol first, then symbols that start with the text", () => {
  const rows = [
    { tradingsymbol: "TATAMOTORS", name: "TATA MOTORS" },
    { tradingsymbol: "ATAPOWER", name: "TATA POWER" },
    { tradingsymbol: "TATA", name: "TATA" },
    { tradingsymbol: "BTATA", name: "B" },
  ];
  assert.deepEqual(rankResults(rows, "tata").map((r) => r.tradingsymbol), ["TATA", "TATAMOTORS", "ATAPOWER", "BTATA"]);
});

test("an order's older state arriving after a newer one is ignored", () => {
  const open = { status: "OPEN", updated_at: "2026-12-07T10:00:00.200+05:30" };
  const received = { status: "PUT ORDER REQ RECEIVED", updated_at: "2026-12-07T10:00:00.100+05:30" };
  assert.equal(staler(received, open), true);
  assert.equal(staler(open, received), false);
  assert.equal(staler({ status: "OPEN" }, received), false);
});
