// The price chart: candles with volume beneath, SMA and EMA overlays, a crosshair legend, open orders as
// price lines that can be dragged to a new price, and fill markers grouped per bar beside the candles.
// Pure helpers (bucketing, indicators, markers, drag snapping) are exported for the unit tests; the
// drawing needs the global LightweightCharts library, loaded by the page before this module.

export const IST_OFFSET = 19800; // seconds: the chart's time axis is India Standard Time
export const INTERVAL_SECONDS = { "1m": 60, "5m": 300, "15m": 900, "1h": 3600, "1d": 86400 };
const DRAG_THRESHOLD_PX = 4;

// The bar an instant falls in, in IST seconds: hourly bars start at 09:15 like the session.
export function bucket(epochSeconds, interval) {
  const local = Math.floor(epochSeconds) + IST_OFFSET;
  if (interval === "1h") return Math.floor((local - 900) / 3600) * 3600 + 900;
  const width = INTERVAL_SECONDS[interval];
  return Math.floor(local / width) * width;
}

// Simple moving average of closes over `length` bars; bars before the first full window get none.
export function sma(bars, length) {
  const out = [];
  let sum = 0;
  for (let i = 0; i < bars.length; i++) {
    sum += bars[i].close;
    if (i >= length) sum -= bars[i - length].close;
    if (i >= length - 1) out.push({ time: bars[i].time, value: sum / length });
  }
  return out;
}

// Exponential moving average, seeded with the SMA of the first window (as most charting tools do).
export function ema(bars, length) {
  if (bars.length < length) return [];
  const k = 2 / (length + 1);
  let value = bars.slice(0, length).reduce((s, b) => s + b.close, 0) / length;
  const out = [{ time: bars[length - 1].time, value }];
  for (let i = length; i < bars.length; i++) {
    value = bars[i].close * k + value * (1 - k);
    out.push({ time: bars[i].time, value });
  }
  return out;
}

// Fills grouped per bar and side, so several fills in one bar make one marker (buys below the bar,
// sells above it: never on the candle's body), its text the total quantity and average price.
export function fillMarkers(fills, interval, colors = { BUY: "#0b63ce", SELL: "#b54708" }) {
  const groups = new Map();
  for (const fill of fills) {
    const time = bucket(fill.at, interval);
    const key = `${time}:${fill.side}`;
    const group = groups.get(key) || { time, side: fill.side, quantity: 0, value: 0 };
    group.quantity += fill.quantity;
    group.value += fill.quantity * Number(fill.price);
    groups.set(key, group);
  }
  return [...groups.values()]
    .sort((a, b) => a.time - b.time || (a.side < b.side ? -1 : 1))
    .map((g) => ({
      time: g.time,
      position: g.side === "BUY" ? "belowBar" : "aboveBar",
      color: colors[g.side],
      shape: g.side === "BUY" ? "arrowUp" : "arrowDown",
      text: `${g.side === "BUY" ? "B" : "S"} ${g.quantity} @ ${(g.value / g.quantity).toFixed(2)}`,
    }));
}

// A dragged price snapped to the instrument's tick, as a string with the tick's decimals; null if not positive.
export function snapToTick(price, tick) {
  const places = Math.max(2, (String(tick).split(".")[1] || "").replace(/0+$/, "").length);
  const scale = 10 ** places;
  const tickUnits = Math.round((Number(tick) || 0.05) * scale); // the tick in whole units of the last place
  const steps = Math.round((price * scale) / tickUnits);
  if (steps <= 0) return null;
  const units = String(steps * tickUnits).padStart(places + 1, "0");
  return `${units.slice(0, -places)}.${units.slice(-places)}`;
}

// Which price an order's line stands for: the limit price, or the trigger for stop-loss market orders.
export function orderLinePrice(order) {
  if (order.order_type === "SL-M") return { field: "trigger_price", price: order.trigger_price };
  if (order.order_type === "MARKET") return null;
  return { field: "price", price: order.price };
}

// The chart's autoscale range widened to take in `prices` (open orders), with a little room above and below.
export function priceRangeWith(info, prices) {
  if (!info || !info.priceRange || !prices.length) return info;
  let { minValue, maxValue } = info.priceRange;
  const low = Math.min(minValue, ...prices);
  const high = Math.max(maxValue, ...prices);
  if (low === minValue && high === maxValue) return info;
  const pad = (high - low) * 0.04;
  if (low < minValue) minValue = low - pad;
  if (high > maxValue) maxValue = high + pad;
  return { ...info, priceRange: { minValue, maxValue } };
}

export function palette(dark) {
  return dark
    ? { bg: "#12161c", text: "#d5dbe5", grid: "#222a35", up: "#2fb37a", down: "#f0645a", buy: "#5aa2ff", sell: "#f29a4a", sma: "#c58af9", ema: "#e3b341" }
    : { bg: "#ffffff", text: "#1d2430", grid: "#eef0f4", up: "#067647", down: "#b42318", buy: "#0b63ce", sell: "#b54708", sma: "#7a3ed6", ema: "#b7791f" };
}

// The chart on `box`. `onDrag(order, field, price)` is called when an order's line is dropped at a new
// price; it returns a promise that settles when the server answered (the line moves back on refusal).
export function chartMount(box, { legend, dark = false, onDrag = null } = {}) {
  const LWC = globalThis.LightweightCharts;
  let colors = palette(dark);
  const chart = LWC.createChart(box, {
    autoSize: true,
    layout: { background: { color: colors.bg }, textColor: colors.text, attributionLogo: true },
    grid: { vertLines: { color: colors.grid }, horzLines: { color: colors.grid } },
    timeScale: { timeVisible: true, secondsVisible: false },
    crosshair: { mode: LWC.CrosshairMode.Normal },
  });
  const lines = new Map(); // order id -> {order, line, field, price}
  const candles = chart.addSeries(LWC.CandlestickSeries, {
    upColor: colors.up, downColor: colors.down, wickUpColor: colors.up, wickDownColor: colors.down, borderVisible: false,
    // The price axis takes in the open orders' prices too, so every order's line is on screen to drag.
    // While a line is dragged the axis holds still (else the pointer's price would shift under it).
    autoscaleInfoProvider: (original) => {
      if (drag && drag.range) return drag.range;
      const range = priceRangeWith(original(), [...lines.values()].map((entry) => Number(entry.price)));
      if (drag) drag.range = range;
      return range;
    },
  });
  const volume = chart.addSeries(LWC.HistogramSeries, { priceFormat: { type: "volume" }, priceScaleId: "volume", lastValueVisible: false, priceLineVisible: false });
  chart.priceScale("volume").applyOptions({ scaleMargins: { top: 0.82, bottom: 0 } });
  candles.priceScale().applyOptions({ scaleMargins: { top: 0.08, bottom: 0.22 } });
  const overlays = {
    sma: chart.addSeries(LWC.LineSeries, { color: colors.sma, lineWidth: 1, lastValueVisible: false, priceLineVisible: false, crosshairMarkerVisible: false, title: "SMA 20" }),
    ema: chart.addSeries(LWC.LineSeries, { color: colors.ema, lineWidth: 1, lastValueVisible: false, priceLineVisible: false, crosshairMarkerVisible: false, title: "EMA 50" }),
  };
  const lengths = { sma: 20, ema: 50 };
  const shown = { sma: true, ema: true };
  const markers = LWC.createSeriesMarkers(candles, []);
  let bars = [];
  let interval = "1m";
  let fills = [];
  let drag = null;

  function volumeBar(bar) {
    return { time: bar.time, value: bar.volume || 0, color: bar.close >= bar.open ? colors.up + "66" : colors.down + "66" };
  }
  function overlaysDraw() {
    for (const name of ["sma", "ema"]) {
      const data = shown[name] ? (name === "sma" ? sma : ema)(bars, lengths[name]) : [];
      overlays[name].setData(data);
    }
  }
  function legendShow(bar) {
    if (!legend) return;
    if (!bar) {
      legend.textContent = "";
      return;
    }
    const f = (v) => (v === undefined ? "—" : v.toLocaleString("en-IN", { minimumFractionDigits: 2, maximumFractionDigits: 2 }));
    legend.textContent = `O ${f(bar.open)}  H ${f(bar.high)}  L ${f(bar.low)}  C ${f(bar.close)}  V ${(bar.volume || 0).toLocaleString("en-IN")}`;
  }
  let crosshair = false; // while the crosshair is on a bar the legend shows that bar, else the live one
  chart.subscribeCrosshairMove((param) => {
    crosshair = Boolean(param && param.time !== undefined);
    if (!crosshair) {
      legendShow(bars[bars.length - 1]);
      return;
    }
    const candle = param.seriesData.get(candles);
    const vol = param.seriesData.get(volume);
    legendShow(candle ? { ...candle, volume: vol ? vol.value : 0 } : null);
  });
  function markersDraw() {
    const list = fillMarkers(fills, interval, { BUY: colors.buy, SELL: colors.sell });
    markers.setMarkers(list);
    box.dataset.fillMarkers = String(list.length);
  }

  // ---- dragging an order's line: pointer events on the chart box, the chart's own panning paused ----
  function lineAt(y) {
    let best = null;
    for (const entry of lines.values()) {
      const at = candles.priceToCoordinate(Number(entry.price));
      if (at === null) continue;
      const distance = Math.abs(at - y);
      if (distance <= 6 && (!best || distance < best.distance)) best = { entry, distance };
    }
    return best ? best.entry : null;
  }
  const localY = (event) => event.clientY - box.getBoundingClientRect().top;
  // Listened to in the capture phase, before the chart's own handlers, so a drag on a line never pans.
  // Only a mouse or pen's primary button drags (on touch screens the blotter's Modify does it); the
  // line moves by how far the pointer moved, after a few pixels, so a click near a line changes nothing.
  box.addEventListener("pointerdown", (event) => {
    if (!onDrag || event.button !== 0 || !event.isPrimary || event.pointerType === "touch") return;
    const entry = lineAt(localY(event));
    if (!entry) return;
    drag = { entry, from: entry.price, startY: localY(event), startPrice: Number(entry.price), moved: false };
    chart.applyOptions({ handleScroll: false, handleScale: false });
    box.setPointerCapture?.(event.pointerId);
    box.dataset.dragging = String(entry.order.id);
    event.preventDefault();
    event.stopPropagation();
  }, true);
  box.addEventListener("pointermove", (event) => {
    if (!drag) {
      if (onDrag && event.pointerType !== "touch") box.style.cursor = lineAt(localY(event)) ? "ns-resize" : "";
      return;
    }
    const y = localY(event);
    if (!drag.moved && Math.abs(y - drag.startY) < DRAG_THRESHOLD_PX) return;
    drag.moved = true;
    const at = candles.coordinateToPrice(y);
    const start = candles.coordinateToPrice(drag.startY);
    if (at === null || start === null) return;
    const price = snapToTick(drag.startPrice + (at - start), drag.entry.order.tick || "0.05");
    if (price === null) return;
    drag.entry.price = price;
    drag.entry.line.applyOptions({ price: Number(price), title: lineTitle(drag.entry.order, price) });
    event.stopPropagation();
  }, true);
  function dragStop() {
    const state = drag;
    drag = null;
    delete box.dataset.dragging;
    chart.applyOptions({ handleScroll: true, handleScale: true });
    return state;
  }
  function dragRevert(entry, from) {
    entry.price = from;
    entry.line.applyOptions({ price: Number(from), title: lineTitle(entry.order, from) });
  }
  box.addEventListener("pointerup", async () => {
    if (!drag) return;
    const { entry, from, moved } = dragStop();
    if (!moved || entry.price === from) {
      dragRevert(entry, from);
      return;
    }
    const accepted = await onDrag(entry.order, entry.field, entry.price);
    if (!accepted) dragRevert(entry, from);
  }, true);
  // A drag the browser takes away (a system gesture, a lost capture) is abandoned, never sent.
  box.addEventListener("pointercancel", () => {
    if (!drag) return;
    const { entry, from } = dragStop();
    dragRevert(entry, from);
  }, true);
  box.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && drag) {
      const { entry, from } = dragStop();
      dragRevert(entry, from);
    }
  });

  function lineTitle(order, price) {
    const pending = order.filled_quantity ? `${order.quantity - order.filled_quantity}/` : "";
    return `${order.transaction_type} ${pending}${order.quantity} ${order.order_type} ${price}`;
  }

  return {
    chart,
    setColors(isDark) {
      colors = palette(isDark);
      chart.applyOptions({ layout: { background: { color: colors.bg }, textColor: colors.text }, grid: { vertLines: { color: colors.grid }, horzLines: { color: colors.grid } } });
      candles.applyOptions({ upColor: colors.up, downColor: colors.down, wickUpColor: colors.up, wickDownColor: colors.down });
      volume.setData(bars.map(volumeBar));
      markersDraw();
    },
    setPriceFormat(tick, places) {
      candles.applyOptions({ priceFormat: { type: "price", precision: Math.max(2, places), minMove: Number(tick) || 0.05 } });
    },
    setBars(data, newInterval) {
      interval = newInterval;
      bars = data;
      candles.setData(bars);
      volume.setData(bars.map(volumeBar));
      overlaysDraw();
      legendShow(bars[bars.length - 1]);
      box.dataset.bars = String(bars.length);
      box.dataset.interval = interval;
      chart.timeScale().scrollToRealTime();
    },
    // A live trade: extends the last bar or opens the next; older ticks than the bar on screen are ignored.
    tick(price, size, at) {
      const time = bucket(at, interval);
      const last = bars[bars.length - 1];
      if (last && time < last.time) return false;
      let bar;
      if (last && time === last.time) {
        bar = { ...last, high: Math.max(last.high, price), low: Math.min(last.low, price), close: price, volume: (last.volume || 0) + (size || 0) };
        bars[bars.length - 1] = bar;
      } else {
        bar = { time, open: price, high: price, low: price, close: price, volume: size || 0 };
        bars.push(bar);
      }
      candles.update(bar);
      volume.update(volumeBar(bar));
      if (!crosshair) legendShow(bar);
      if (bars.length >= Math.min(lengths.sma, lengths.ema)) {
        for (const name of ["sma", "ema"]) {
          if (!shown[name]) continue;
          const series = (name === "sma" ? sma : ema)(bars.slice(-Math.max(lengths[name] * 4, lengths[name])), lengths[name]);
          if (series.length) overlays[name].update(series[series.length - 1]);
        }
      }
      return true;
    },
    setIndicator(name, on) {
      shown[name] = on;
      overlaysDraw();
    },
    setFills(list) {
      fills = list;
      markersDraw();
    },
    addFill(fill) {
      fills.push(fill);
      markersDraw();
    },
    // The open orders' lines: drawn for those given, removed for the rest.
    setOrders(openOrders) {
      const keep = new Set();
      for (const order of openOrders) {
        const target = orderLinePrice(order);
        if (!target || target.price === null || target.price === undefined) continue;
        keep.add(order.id);
        const color = order.transaction_type === "BUY" ? colors.buy : colors.sell;
        const existing = lines.get(order.id);
        if (drag && drag.entry.order.id === order.id) continue; // the user is moving it
        if (existing) {
          existing.order = order;
          existing.price = target.price;
          existing.field = target.field;
          existing.line.applyOptions({ price: Number(target.price), title: lineTitle(order, target.price), color });
        } else {
          const line = candles.createPriceLine({ price: Number(target.price), color, lineWidth: 1, lineStyle: 2, axisLabelVisible: true, title: lineTitle(order, target.price) });
          lines.set(order.id, { order, line, field: target.field, price: target.price });
        }
      }
      for (const [id, entry] of lines) {
        if (!keep.has(id)) {
          candles.removePriceLine(entry.line);
          lines.delete(id);
        }
      }
      box.dataset.orderLines = String(lines.size);
    },
    // Where an order's line is drawn, in pixels from the chart's top (for tests and keyboard users' tooltips).
    lineY(orderId) {
      const entry = lines.get(orderId);
      return entry ? candles.priceToCoordinate(Number(entry.price)) : null;
    },
    priceY(price) {
      return candles.priceToCoordinate(price);
    },
  };
}
