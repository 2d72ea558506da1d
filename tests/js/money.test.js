import assert from "node:assert/strict";
import { test } from "node:test";
import { compact, count, dec, groupIndian, money, percent, plain, signClass } from "../../trading/static/trading/js/money.js";

test("amounts are grouped the Indian way, in lakhs and crores", () => {
  assert.equal(groupIndian(1234567), "12,34,567");
  assert.equal(groupIndian(999), "999");
  assert.equal(money(dec("123456789.5")), "12,34,56,789.50");
  assert.equal(money(dec("-1000")), "-1,000.00");
  assert.equal(count(10000000), "1,00,00,000");
  assert.equal(plain(dec("1234567.891")), "1234567.89");
});

test("decimals are exact: no float drift in sums and rounding is half away from zero", () => {
  assert.equal(dec("0.1") + dec("0.2"), dec("0.3"));
  assert.equal(money(dec("2.345")), "2.35");
  assert.equal(money(dec("-2.345")), "-2.35");
  assert.equal(money(dec("-0.001")), "0.00");
  assert.equal(dec("abc"), null);
  assert.equal(dec(""), null);
  assert.equal(money(null), "—");
});

test("large amounts shorten to lakhs and crores", () => {
  assert.equal(compact(dec("250000")), "2.50 L");
  assert.equal(compact(dec("123456789")), "12.34 Cr");
  assert.equal(compact(dec("-5000")), "-5,000.00");
});

test("percent change and the sign's colour", () => {
  assert.equal(money(percent(dec("110"), dec("100"))), "10.00");
  assert.equal(percent(dec("1"), dec("0")), null);
  assert.equal(signClass(dec("-1")), "down");
  assert.equal(signClass(0n), "");
});
