// Positions and the account's money: unrealised P&L at the live price, totals, available funds and the
// day's P&L re-marked as prices move. Money in BigInt units (see money.js).

import { dec, money, signClass, count } from "./money.js";

// Quantity at the price less what the open quantity cost (signed, as the server keeps it): at quantity
// 0 what opposite strategy books locked in. Without a price the position is taken at its cost.
export function unrealisedOf(position) {
  if (position.ltp === null || position.ltp === undefined) return position.quantity ? 0n : -position.cost;
  return position.ltp * BigInt(position.quantity) - position.cost;
}

export function positionFrom(row, livePrice) {
  return {
    ...row,
    avg: dec(row.average_price),
    cost: dec(row.open_cost),
    ltp: livePrice ?? dec(row.last_price),
  };
}

export function totalsOf(positions) {
  let unrealised = 0n;
  let realised = 0n;
  let charges = 0n;
  for (const p of positions) {
    unrealised += unrealisedOf(p);
    realised += dec(p.realised_pnl) ?? 0n;
    charges += dec(p.charges) ?? 0n;
  }
  return { unrealised, realised, charges, net: realised + unrealised - charges };
}

// The account bar's figures from the server's summary, with open positions re-marked at live prices:
// the day's P&L moves by how much the unrealised P&L moved since the summary was read.
export function fundsOf(summary, positions) {
  const cash = dec(summary.cash) ?? 0n;
  const blocked = dec(summary.funds_blocked) ?? 0n;
  const available = summary.funds_available !== undefined ? dec(summary.funds_available) : cash - blocked;
  const unrealised = positions.reduce((sum, p) => sum + unrealisedOf(p), 0n);
  const day = (dec(summary.day_pnl?.total) ?? 0n) - (summary.unrealisedAtLoad ?? unrealised) + unrealised;
  return { cash, blocked, available, day, unrealised };
}

// The order that closes a position: the opposite side, the whole open quantity, at market, same product.
export function exitOrder(position, accountId) {
  return {
    account: accountId,
    instrument_token: position.instrument_token,
    transaction_type: position.quantity > 0 ? "SELL" : "BUY",
    order_type: "MARKET",
    product: position.product,
    validity: "DAY",
    quantity: Math.abs(position.quantity),
  };
}

function cell(row, className, text) {
  const td = document.createElement("td");
  td.className = className;
  td.textContent = text;
  row.append(td);
  return td;
}

// The positions table's rows; `onExit(position)` is called by a row's Exit button (open positions only).
export function positionsRender(body, positions, { onExit, canExit } = {}) {
  const rows = positions.map((position) => {
    const live = unrealisedOf(position);
    const row = document.createElement("tr");
    row.dataset.token = position.instrument_token;
    row.dataset.product = position.product;
    cell(row, "sym", position.tradingsymbol);
    cell(row, "", position.product);
    cell(row, "num qty", count(position.quantity));
    cell(row, "num", money(position.avg));
    cell(row, "num ltp", money(position.ltp));
    cell(row, `num unrealised ${signClass(live)}`, money(live));
    cell(row, "num realised", money(dec(position.realised_pnl)));
    cell(row, "num", money(dec(position.charges)));
    const actions = cell(row, "actions", "");
    if (canExit && position.quantity !== 0) {
      const exit = document.createElement("button");
      exit.type = "button";
      exit.className = "small exit";
      exit.textContent = "Exit";
      exit.setAttribute("aria-label", `Exit ${position.tradingsymbol} ${position.product}: ${position.quantity > 0 ? "sell" : "buy"} ${Math.abs(position.quantity)} at market`);
      exit.addEventListener("click", () => onExit(position, exit));
      actions.append(exit);
    }
    return row;
  });
  body.replaceChildren(...rows);
}
