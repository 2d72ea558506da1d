import assert from "node:assert/strict";
import { test } from "node:test";
import { bucket, ema, fillMarkers, orderLinePrice, priceRangeWith, sma, snapToTick } from "../../trading/static/trading/js/chart.js";

// 2026-12-04 09:15:00 IST = 03:45:00 UTC
const OPEN = Date.UTC(2026, 11, 4, 3, 45) / 1000;

test("bars are bucketed in IST; hourly bars start at 09:15", () => {
  assert.equal(bucket(OPEN + 59, "1m"), bucket(OPEN, "1m"));
  assert.notEqual(bucket(OPEN + 60, "1m"), bucket(OPEN, "1m"));
  assert.equal(bucket(OPEN + 3599, "1h"), bucket(OPEN, "1h"));
  assert.equal((bucket(OPEN, "1h") % 86400) / 60, 9 * 60 + 15);
});

test("SMA and EMA over closes", () => {
  const bars = [1, 2, 3, 4, 5].map((close, i) => ({ time: i, close }));
  assert.deepEqual(sma(bars, 3).map((p) => p.value), [2, 3, 4]);
  const e = ema(bars, 3);
  assert.equal(e[0].value, 2);
  assert.equal(e[1].value, 3); // 4 * 0.5 + 2 * 0.5
  assert.equal(e.length, 3);
  assert.deepEqual(ema(bars, 10), []);
});

test("fills in one bar make one marker per side, beside the candle, with their total and average", () => {
  const fills = [
    { at: OPEN + 1, side: "BUY", quantity: 10, price: "100.00" },
    { at: OPEN + 20, side: "BUY", quantity: 30, price: "104.00" },
    { at: OPEN + 30, side: "SELL", quantity: 5, price: "103.00" },
    { at: OPEN + 70, side: "BUY", quantity: 1, price: "101.00" },
  ];
  const markers = fillMarkers(fills, "1m");
  assert.equal(markers.length, 3);
  assert.deepEqual(
    markers.map((m) => [m.position, m.text]),
    [["belowBar", "B 40 @ 103.00"], ["aboveBar", "S 5 @ 103.00"], ["belowBar", "B 1 @ 101.00"]],
  );
});

test("a dragged price snaps to the tick; stop-market orders are dragged by their trigger", () => {
  assert.equal(snapToTick(1001.87, "0.05"), "1001.85");
  assert.equal(snapToTick(1001.88, "0.05"), "1001.90");
  assert.equal(snapToTick(-3, "0.05"), null);
  assert.deepEqual(orderLinePrice({ order_type: "SL-M", trigger_price: "99.00" }), { field: "trigger_price", price: "99.00" });
  assert.equal(orderLinePrice({ order_type: "MARKET" }), null);
});

test("the price axis takes in the open orders so their lines can be seen and dragged", () => {
  const info = { priceRange: { minValue: 100, maxValue: 110 } };
  assert.equal(priceRangeWith(info, [105]), info);
  const wider = priceRangeWith(info, [90]).priceRange;
  assert.ok(wider.minValue < 90 && wider.maxValue === 110);
  assert.equal(priceRangeWith(null, [90]), null);
});
