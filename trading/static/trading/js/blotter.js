// The orders blotter: one row per order, newest first, kept live from the account stream, with Modify
// and Cancel on open orders. Modifying asks for the new quantity, price and trigger in a dialog.

import { count, dec, money } from "./money.js";
import { needsPrice, needsTrigger } from "./ticket.js";

const istTime = new Intl.DateTimeFormat("en-IN", { timeZone: "Asia/Kolkata", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });

export const timeIST = (iso) => istTime.format(new Date(iso));

// The changes a modify dialog asks for: only fields that differ from the order, as the API takes them.
export function modifyChanges(order, fields) {
  const changes = {};
  const quantity = Number(fields.quantity);
  if (Number.isInteger(quantity) && quantity !== order.quantity) changes.quantity = quantity;
  if (needsPrice(order.order_type) && fields.price && dec(fields.price) !== dec(order.price)) changes.price = String(fields.price).trim();
  if (needsTrigger(order.order_type) && fields.trigger_price && dec(fields.trigger_price) !== dec(order.trigger_price)) {
    changes.trigger_price = String(fields.trigger_price).trim();
  }
  return changes;
}

// Whether `incoming` is an older state of the order than `current` (by updated_at, when both have it).
export function staler(incoming, current) {
  if (!incoming.updated_at || !current.updated_at) return false;
  return Date.parse(incoming.updated_at) < Date.parse(current.updated_at);
}

export function priceText(order) {
  if (order.order_type === "MARKET") return "MKT";
  if (order.order_type === "SL-M") return `trg ${money(dec(order.trigger_price))}`;
  if (order.order_type === "SL") return `${money(dec(order.price))} trg ${money(dec(order.trigger_price))}`;
  return money(dec(order.price));
}

const COLUMNS = ["time", "sym", "side", "type", "num filled", "status", "num price", "num avg", "actions"];

export function blotterMount(body, { live, canCancel, canModify, onCancel, onModify }) {
  const orders = new Map();
  function show(order) {
    const before = orders.get(order.id);
    // An older state arriving late changes nothing, but fields the newer one lacked are taken from it.
    if (before && staler(order, before)) {
      orders.set(order.id, { ...order, ...before });
      return orders.get(order.id);
    }
    orders.set(order.id, { ...before, ...order });
    const data = orders.get(order.id);
    let row = body.querySelector(`tr[data-order-id="${order.id}"]`);
    if (!row) {
      row = document.createElement("tr");
      row.dataset.orderId = order.id;
      for (const name of COLUMNS) {
        const td = document.createElement("td");
        td.className = name;
        row.append(td);
      }
      const newer = [...body.children].find((other) => Number(other.dataset.orderId) < order.id);
      body.insertBefore(row, newer || null);
    }
    const cells = (name) => row.querySelector(`.${name}`);
    cells("time").textContent = timeIST(data.created_at);
    cells("sym").textContent = data.tradingsymbol;
    cells("side").textContent = data.transaction_type;
    cells("side").className = `side ${data.transaction_type === "BUY" ? "up" : "down"}`;
    cells("type").textContent = `${data.order_type} ${data.product}`;
    cells("price").textContent = priceText(data);
    cells("filled").textContent = `${count(data.filled_quantity)}/${count(data.quantity)}`;
    cells("avg").textContent = Number(data.average_price) ? money(dec(data.average_price)) : "";
    // A cancel or modification sent to Kite shows as pending until Kite confirms or refuses it.
    const pending = data.pending_request ? ` (${data.pending_request} pending)` : "";
    cells("status").textContent = data.status + pending;
    cells("status").title = data.status_message || "";
    row.dataset.status = data.status;
    const actions = cells("actions");
    actions.replaceChildren();
    const open = live.has(data.status) && !data.pending_request;
    if (canModify && open && data.order_type !== "MARKET") {
      actions.append(button("Modify", `Modify order ${data.id} (${data.transaction_type} ${data.tradingsymbol})`, "modify", () => onModify(orders.get(data.id))));
    }
    if (canCancel && live.has(data.status) && data.pending_request !== "cancel") {
      const cancel = button("Cancel", `Cancel order ${data.id} (${data.transaction_type} ${data.tradingsymbol})`, "cancel", () => onCancel(orders.get(data.id), cancel));
      actions.append(cancel);
    }
    if (data.adopted) actions.append(note("adopted", "from Kite", "Placed at Kite outside the platform; taken in by reconciliation"));
    // the reason for a rejection is the status cell's title (and the toast and ticket say it)
    if (data.status === "REJECTED") cells("status").classList.add("bad");
    return data;
  }
  function button(text, label, className, handler) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = `small ${className}`;
    b.textContent = text;
    b.setAttribute("aria-label", label);
    b.addEventListener("click", handler);
    return b;
  }
  function note(className, text, title = "") {
    const small = document.createElement("small");
    small.className = className;
    small.textContent = text;
    if (title) small.title = title;
    return small;
  }
  return {
    orders,
    show,
    open() {
      return [...orders.values()].filter((o) => live.has(o.status));
    },
  };
}
