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

function cell(row, className) {
  const td = document.createElement("td");
  td.className = className;
  row.append(td);
  return td;
}

// The positions table's rows, updated in place (a row and its Exit button survive price ticks, so a
// click is never lost to a redraw); `onExit(position, button)` is called by an open position's Exit.
export function positionsRender(body, positions, { onExit, canExit, busy = () => false } = {}) {
  const keep = new Set();
  let previous = null;
  for (const position of positions) {
    const key = `${position.instrument_token}:${position.product}`;
    keep.add(key);
    let row = body.querySelector(`tr[data-key="${key}"]`);
    if (!row) {
      row = document.createElement("tr");
      row.dataset.key = key;
      row.dataset.token = position.instrument_token;
      row.dataset.product = position.product;
      for (const name of ["sym", "product", "num qty", "num avg", "num ltp", "num unrealised", "num realised", "num charges", "actions"]) cell(row, name);
    }
    // rows follow the server's order
    const next = previous ? previous.nextSibling : body.firstChild;
    if (row !== next) body.insertBefore(row, next);
    previous = row;
    const live = unrealisedOf(position);
    const cells = row.children;
    cells[0].textContent = position.tradingsymbol;
    cells[1].textContent = position.product;
    cells[2].textContent = count(position.quantity);
    cells[3].textContent = money(position.avg);
    cells[4].textContent = money(position.ltp);
    cells[5].textContent = money(live);
    cells[5].className = `num unrealised ${signClass(live)}`;
    cells[6].textContent = money(dec(position.realised_pnl));
    cells[7].textContent = money(dec(position.charges));
    const actions = cells[8];
    let exit = actions.querySelector("button.exit");
    const exitable = Boolean(canExit && position.quantity !== 0);
    if (exitable && !exit) {
      exit = document.createElement("button");
      exit.type = "button";
      exit.className = "small exit";
      exit.textContent = "Exit";
      exit.addEventListener("click", () => onExit(row.position, exit));
      actions.append(exit);
    } else if (!exitable && exit) {
      exit.remove();
    }
    if (exit && exitable) {
      exit.disabled = busy(position);
      exit.setAttribute("aria-label", `Exit ${position.tradingsymbol} ${position.product}: ${position.quantity > 0 ? "sell" : "buy"} ${Math.abs(position.quantity)} at market`);
    }
    row.position = position;
  }
  for (const row of [...body.children]) {
    if (!keep.has(row.dataset.key)) row.remove();
  }
}
