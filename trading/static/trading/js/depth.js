// Market depth (five levels a side, from the feed's quote) and the day's OHLC, volume and average price.

import { count, dec, money } from "./money.js";

export const LEVELS = 5;

// Five rows of {bid, bidQty, bidOrders, ask, askQty, askOrders}, padded with empty levels, and the totals.
export function depthRows(quote) {
  const buy = (quote && quote.depth_buy) || [];
  const sell = (quote && quote.depth_sell) || [];
  const rows = [];
  for (let i = 0; i < LEVELS; i++) {
    const b = buy[i];
    const s = sell[i];
    rows.push({
      bid: b ? dec(b.price) : null, bidQty: b ? b.quantity : null, bidOrders: b ? b.orders : null,
      ask: s ? dec(s.price) : null, askQty: s ? s.quantity : null, askOrders: s ? s.orders : null,
    });
  }
  const sum = (side) => side.reduce((total, level) => total + (level.quantity || 0), 0);
  return { rows, bidTotal: buy.length ? sum(buy) : null, askTotal: sell.length ? sum(sell) : null };
}

// The spread between best offer and best bid, in units; null without both.
export function spreadOf(quote) {
  const bid = quote?.depth_buy?.[0];
  const ask = quote?.depth_sell?.[0];
  return bid && ask ? dec(ask.price) - dec(bid.price) : null;
}

export function depthRender(panel, quote) {
  const { rows, bidTotal, askTotal } = depthRows(quote);
  const body = panel.querySelector("#depth tbody");
  body.replaceChildren(
    ...rows.map((level) => {
      const tr = document.createElement("tr");
      const values = [
        [level.bid === null ? "" : money(level.bid), "num bid"],
        [level.bidOrders === null ? "" : count(level.bidOrders), "num"],
        [level.bidQty === null ? "" : count(level.bidQty), "num"],
        [level.ask === null ? "" : money(level.ask), "num ask"],
        [level.askOrders === null ? "" : count(level.askOrders), "num"],
        [level.askQty === null ? "" : count(level.askQty), "num"],
      ];
      for (const [text, className] of values) {
        const td = document.createElement("td");
        td.className = className;
        td.textContent = text;
        tr.append(td);
      }
      return tr;
    }),
  );
  panel.querySelector("#depth-bid-total").textContent = bidTotal === null ? "—" : count(bidTotal);
  panel.querySelector("#depth-ask-total").textContent = askTotal === null ? "—" : count(askTotal);
  panel.dataset.levels = String(rows.filter((r) => r.bid !== null || r.ask !== null).length);
  const fields = { open: "open", high: "high", low: "low", close: "close", average_price: "avg" };
  for (const [name, id] of Object.entries(fields)) {
    panel.querySelector(`[data-day="${id}"]`).textContent = quote && quote[name] !== undefined ? money(dec(quote[name])) : "—";
  }
  panel.querySelector('[data-day="volume"]').textContent = quote && quote.volume !== undefined ? count(quote.volume) : "—";
  panel.hidden = false;
}
