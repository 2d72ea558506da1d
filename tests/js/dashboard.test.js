import assert from "node:assert/strict";
import { test } from "node:test";
import {
  barRows,
  chartOptions,
  drawdownPoints,
  drawdownRange,
  equityPoints,
  palette,
  percentLabel,
  pnlBars,
  rupeesLabel,
} from "../../trading/static/trading/js/dashboard.js";

// As the page embeds them (json_script): decimal strings, ISO days, no drawdown where equity was never above 0.
const DAYS = [
  { date: "2026-12-01", equity: "1000000.00", pnl: "0.00", drawdown: "0.0000" },
  { date: "2026-12-02", equity: "1200000.00", pnl: "200000.00", drawdown: "0.0000" },
  { date: "2026-12-03", equity: "900000.00", pnl: "-300000.00", drawdown: "-0.2500" },
  { date: "2026-12-04", equity: "1080000.50", pnl: "180000.50", drawdown: "-0.1000" },
];

test("equity is one point a day, in rupees", () => {
  assert.deepEqual(equityPoints(DAYS), [
    { time: "2026-12-01", value: 1000000 },
    { time: "2026-12-02", value: 1200000 },
    { time: "2026-12-03", value: 900000 },
    { time: "2026-12-04", value: 1080000.5 },
  ]);
  assert.deepEqual(equityPoints([{ date: "2026-12-05", equity: null, pnl: "1.00", drawdown: null }]), []);
});

test("each day's P&L is a bar coloured by its sign, in the theme's colours", () => {
  const light = palette(false);
  const bars = pnlBars(DAYS, light);
  assert.deepEqual(
    bars.map((bar) => [bar.value, bar.color]),
    [
      [0, light.up],
      [200000, light.up],
      [-300000, light.down],
      [180000.5, light.up],
    ],
  );
  assert.equal(pnlBars(DAYS, palette(true))[2].color, palette(true).down);
  assert.notEqual(palette(true).down, light.down);
});

test("the drawdown is in percent below the running peak, days without one left out", () => {
  assert.deepEqual(
    drawdownPoints([...DAYS, { date: "2026-12-05", equity: "-5.00", pnl: "-5.00", drawdown: null }]).map((p) => [
      p.time,
      p.value,
    ]),
    [
      ["2026-12-01", 0],
      ["2026-12-02", 0],
      ["2026-12-03", -25],
      ["2026-12-04", -10],
    ],
  );
});

test("the drawdown's scale hangs from 0, even when every day was a new peak", () => {
  const range = (minValue, maxValue) => ({ priceRange: { minValue, maxValue }, margins: { above: 0, below: 0 } });
  assert.deepEqual(drawdownRange(range(-25, -10)).priceRange, { minValue: -25, maxValue: 0 });
  assert.deepEqual(drawdownRange(range(0, 0)).priceRange, { minValue: -0.01, maxValue: 0 });
  assert.deepEqual(drawdownRange(range(0, 0)).margins, { above: 0, below: 0 });
  assert.equal(drawdownRange(null), null);
});

test("the charts' labels are grouped the Indian way", () => {
  assert.equal(rupeesLabel(1234567.5), "12,34,567.50");
  assert.equal(rupeesLabel(-300000), "-3,00,000.00");
  assert.equal(rupeesLabel(0.1 + 0.2), "0.30");
  assert.equal(percentLabel(-25), "-25.00%");
  assert.equal(chartOptions(palette(false)).localization.priceFormatter(100000), "1,00,000.00");
});

test("the bars' lengths are shares of the largest magnitude, each with its value as text", () => {
  const rows = barRows(
    [
      { symbol: "NSE:INFY", net: "1234567.50" },
      { symbol: "NSE:TCS", net: "-617283.75" },
      { symbol: "NSE:SBIN", net: "0.00" },
      { symbol: "NSE:ITC", net: null },
    ],
    "symbol",
    "net",
  );
  assert.deepEqual(rows, [
    { label: "NSE:INFY", text: "12,34,567.50", share: 100, sign: "up" },
    { label: "NSE:TCS", text: "-6,17,283.75", share: 50, sign: "down" },
    { label: "NSE:SBIN", text: "0.00", share: 0, sign: "" },
    { label: "NSE:ITC", text: "—", share: 0, sign: "" },
  ]);
  assert.deepEqual(
    barRows([{ name: "Manual", net: "0.00" }], "name", "net").map((row) => row.share),
    [0],
  );
  assert.deepEqual(barRows([], "name", "net"), []);
  // a traded value is a size, not a gain: no colour of sign
  assert.deepEqual(
    barRows([{ symbol: "NSE:INFY", value: "602470.00" }], "symbol", "value", { signed: false }),
    [{ label: "NSE:INFY", text: "6,02,470.00", share: 100, sign: "" }],
  );
});

test("the chart follows the theme: dark backgrounds and light text in the dark palette", () => {
  const dark = chartOptions(palette(true));
  assert.equal(dark.layout.background.color, palette(true).background);
  assert.equal(dark.layout.textColor, palette(true).text);
  assert.equal(dark.layout.attributionLogo, false);
  assert.notEqual(dark.layout.background.color, chartOptions(palette(false)).layout.background.color);
});
