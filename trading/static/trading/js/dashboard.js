// The dashboard's charts: equity with each day's P&L below it, the drawdown, and bars by symbol and by
// strategy, drawn from the figures the server embedded in the page (json_script "dashboard-data").
// Money arrives as decimal strings and is read exactly (money.js); only the charts' coordinates are floats.
// What builds the charts' data is pure and exported (tests/js/dashboard.test.js); the rest draws it.

import { dec, money, signClass, toNumber } from "./money.js";

export const PALETTES = {
  light: {
    background: "#ffffff",
    text: "#1d2430",
    grid: "#eef0f4",
    border: "#d9dee7",
    equity: "#0b63ce",
    equityTop: "rgba(11, 99, 206, 0.28)",
    equityBottom: "rgba(11, 99, 206, 0.02)",
    up: "#067647",
    down: "#b42318",
    drawdownTop: "rgba(180, 35, 24, 0.30)",
    drawdownBottom: "rgba(180, 35, 24, 0.04)",
  },
  dark: {
    background: "#161b22",
    text: "#e6edf3",
    grid: "#262d36",
    border: "#3a4452",
    equity: "#58a6ff",
    equityTop: "rgba(88, 166, 255, 0.30)",
    equityBottom: "rgba(88, 166, 255, 0.02)",
    up: "#3fb950",
    down: "#f47067",
    drawdownTop: "rgba(244, 112, 103, 0.35)",
    drawdownBottom: "rgba(244, 112, 103, 0.04)",
  },
};

export const palette = (dark) => (dark ? PALETTES.dark : PALETTES.light);

const known = (days, key) => days.filter((day) => dec(day[key]) !== null);

// Each day's equity (cash and positions marked at its end) as the line's points; days without one left out.
export function equityPoints(days) {
  return known(days, "equity").map((day) => ({ time: day.date, value: toNumber(dec(day.equity)) }));
}

// Each day's P&L as a histogram bar, coloured by its sign.
export function pnlBars(days, colours) {
  return known(days, "pnl").map((day) => {
    const units = dec(day.pnl);
    return { time: day.date, value: toNumber(units), color: units < 0n ? colours.down : colours.up };
  });
}

// The drawdown, a fraction of the running peak ("-0.0525"), in percent points (-5.25): 0 at a new peak.
export function drawdownPoints(days) {
  return known(days, "drawdown").map((day) => ({ time: day.date, value: toNumber(dec(day.drawdown) * 100n) }));
}

// A chart's axis and crosshair label for a float: rupees to the paisa, grouped the Indian way.
export function rupeesLabel(value) {
  return money(BigInt(Math.round(value * 100)) * 100n);
}

export function percentLabel(value) {
  return `${money(BigInt(Math.round(value * 100)) * 100n)}%`;
}

const magnitude = (units) => (units === null ? 0n : units < 0n ? -units : units);

// The rows of a bar chart: each row's label, its value as text, its bar's length in percent of the
// largest magnitude among them (two places), and, for a P&L (`signed`), its sign's class ("up", "down"
// or ""); a turnover has no sign to colour.
export function barRows(rows, labelKey, valueKey, { signed = true } = {}) {
  const values = rows.map((row) => dec(row[valueKey]));
  const largest = values.reduce((most, units) => (magnitude(units) > most ? magnitude(units) : most), 0n);
  return rows.map((row, i) => ({
    label: String(row[labelKey]),
    text: money(values[i]),
    share: largest ? Number((magnitude(values[i]) * 10000n) / largest) / 100 : 0,
    sign: signed ? signClass(values[i]) : "",
  }));
}

// The drawdown's price range with its top at 0: the area hangs from the peak.
export function drawdownRange(range) {
  if (range === null) return null;
  const { minValue, maxValue } = range.priceRange;
  return { ...range, priceRange: { minValue: Math.min(minValue, -0.01), maxValue: Math.max(maxValue, 0) } };
}

export function chartOptions(colours) {
  return {
    autoSize: true,
    layout: {
      background: { type: "solid", color: colours.background },
      textColor: colours.text,
      attributionLogo: false, // credited in the page's own text, which an image role cannot hold as a link
    },
    grid: { vertLines: { color: colours.grid }, horzLines: { color: colours.grid } },
    // One width on both charts, so that their days line up one above the other.
    rightPriceScale: { borderColor: colours.border, minimumWidth: 120 },
    timeScale: { borderColor: colours.border },
    localization: { priceFormatter: rupeesLabel },
  };
}

function seriesColours(colours) {
  return {
    equity: { lineColor: colours.equity, topColor: colours.equityTop, bottomColor: colours.equityBottom },
    // A baseline at 0, the peak: the area lies between it and the line, below it (never above: no point is).
    drawdown: {
      baseValue: { type: "price", price: 0 },
      bottomLineColor: colours.down,
      bottomFillColor1: colours.drawdownTop,
      bottomFillColor2: colours.drawdownBottom,
      topLineColor: colours.down,
      topFillColor1: colours.drawdownTop,
      topFillColor2: colours.drawdownBottom,
    },
  };
}

function equityChart(container, days, colours) {
  const charts = window.LightweightCharts;
  const chart = charts.createChart(container, chartOptions(colours));
  const few = days.length < 40; // a day or two would draw no line: show the points
  const equity = chart.addSeries(charts.AreaSeries, {
    ...seriesColours(colours).equity,
    lineWidth: 2,
    pointMarkersVisible: few,
    priceFormat: { type: "custom", formatter: rupeesLabel, minMove: 0.01 },
    title: "Equity",
  });
  const points = equityPoints(days);
  equity.setData(points);
  const pnl = chart.addSeries(
    charts.HistogramSeries,
    { priceFormat: { type: "custom", formatter: rupeesLabel, minMove: 0.01 }, title: "Day P&L" },
    1,
  );
  pnl.setData(pnlBars(days, colours));
  const panes = chart.panes();
  if (panes.length > 1) {
    panes[0].setStretchFactor(2);
    panes[1].setStretchFactor(1);
  }
  chart.timeScale().fitContent();
  container.dataset.points = String(points.length);
  return (next) => {
    chart.applyOptions(chartOptions(next));
    equity.applyOptions(seriesColours(next).equity);
    pnl.setData(pnlBars(days, next));
  };
}

function drawdownChart(container, days, colours) {
  const charts = window.LightweightCharts;
  const options = (theme) => ({ ...chartOptions(theme), localization: { priceFormatter: percentLabel } });
  const chart = charts.createChart(container, options(colours));
  const drawdown = chart.addSeries(charts.BaselineSeries, {
    ...seriesColours(colours).drawdown,
    lineWidth: 2,
    pointMarkersVisible: days.length < 40,
    priceFormat: { type: "custom", formatter: percentLabel, minMove: 0.01 },
    autoscaleInfoProvider: (original) => drawdownRange(original()),
    title: "Drawdown",
  });
  const points = drawdownPoints(days);
  drawdown.setData(points);
  chart.timeScale().fitContent();
  container.dataset.points = String(points.length);
  return (next) => {
    chart.applyOptions(options(next));
    drawdown.applyOptions(seriesColours(next).drawdown);
  };
}

function span(className, text = "") {
  const element = document.createElement("span");
  element.className = className;
  element.textContent = text;
  return element;
}

// Bars as list items, each with its label and its value as text; the bar's length is a custom property
// set through the CSSOM, which the Content Security Policy allows where it would refuse a style attribute.
function barsDraw(list, rows) {
  if (!list) return;
  list.replaceChildren(
    ...rows.map((row) => {
      const item = document.createElement("li");
      const track = span("track");
      track.setAttribute("aria-hidden", "true");
      const bar = span(`bar ${row.sign}`.trim());
      bar.style.setProperty("--share", `${row.share}%`);
      track.append(bar);
      item.append(span("label", row.label), track, span(`value ${row.sign}`.trim(), row.text));
      return item;
    }),
  );
  list.dataset.bars = String(rows.length);
}

export function dashboardStart(root) {
  const source = root.getElementById("dashboard-data");
  if (!source) return;
  const data = JSON.parse(source.textContent);
  barsDraw(root.getElementById("symbol-value-bars"), barRows(data.symbols, "symbol", "value", { signed: false }));
  barsDraw(root.getElementById("symbol-net-bars"), barRows(data.symbols, "symbol", "net"));
  barsDraw(root.getElementById("strategy-bars"), barRows(data.strategies, "name", "net"));
  if (typeof window.LightweightCharts !== "object") return; // the tables below still hold every figure
  const dark = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;
  const colours = palette(dark?.matches);
  const recolours = [
    equityChart(root.getElementById("equity-chart"), data.days, colours),
    drawdownChart(root.getElementById("drawdown-chart"), data.days, colours),
  ];
  dark?.addEventListener("change", (event) => recolours.forEach((recolour) => recolour(palette(event.matches))));
}

if (typeof document !== "undefined") dashboardStart(document);
