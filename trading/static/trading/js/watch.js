// The watchlist (kept in the browser per account) and the instrument search: a combobox that finds
// instruments by symbol or name, moved through with the arrow keys, Enter to choose, Esc to close.

import { money, percent, signClass } from "./money.js";

// Search results ordered for a trader: exact symbol first, then symbols starting with the text, then the rest.
export function rankResults(rows, query) {
  const q = query.trim().toUpperCase();
  const score = (row) => {
    const symbol = row.tradingsymbol.toUpperCase();
    if (symbol === q) return 0;
    if (symbol.startsWith(q)) return 1;
    if ((row.name || "").toUpperCase().startsWith(q)) return 2;
    return 3;
  };
  return rows.slice().sort((a, b) => score(a) - score(b) || a.tradingsymbol.localeCompare(b.tradingsymbol));
}

export function instrumentFromApi(row) {
  return {
    token: row.instrument_token,
    symbol: row.tradingsymbol,
    exchange: row.exchange,
    name: row.name,
    tick: String(Number(row.tick_size)),
    lot: row.lot_size,
    last: null,
    prev: null,
  };
}

export function watchMount(table, { instruments, onSelect, onRemove }) {
  const body = table.querySelector("tbody");
  let tokens = [];
  let selected = null;
  function render(list, chosen) {
    tokens = list.filter((token) => instruments.has(token));
    selected = chosen;
    body.replaceChildren(
      ...tokens.map((token) => {
        const item = instruments.get(token);
        const row = document.createElement("tr");
        row.dataset.token = token;
        const symbolCell = document.createElement("td");
        const pick = document.createElement("button");
        pick.type = "button";
        pick.className = "link sym";
        pick.textContent = item.symbol;
        pick.title = `${item.exchange}:${item.symbol}${item.name ? " · " + item.name : ""}`;
        pick.addEventListener("click", () => onSelect(token));
        symbolCell.append(pick);
        row.append(symbolCell);
        for (const name of ["num ltp", "num pct"]) {
          const td = document.createElement("td");
          td.className = name;
          row.append(td);
        }
        const removeCell = document.createElement("td");
        const remove = document.createElement("button");
        remove.type = "button";
        remove.className = "link remove";
        remove.textContent = "×";
        remove.setAttribute("aria-label", `Remove ${item.symbol} from the watchlist`);
        remove.title = `Remove ${item.symbol}`;
        remove.addEventListener("click", () => onRemove(token));
        removeCell.append(remove);
        row.append(removeCell);
        if (token === selected) row.setAttribute("aria-selected", "true");
        return row;
      }),
    );
    roving();
    for (const token of tokens) quote(token);
  }
  // One tab stop for the whole list (the chosen row's symbol); the arrow keys move between rows.
  function roving() {
    const buttons = [...body.querySelectorAll("button")];
    for (const b of buttons) b.tabIndex = -1;
    const current = body.querySelector('tr[aria-selected="true"] .sym') || body.querySelector(".sym");
    if (current) current.tabIndex = 0;
  }
  // A click anywhere on a row (its price, its change) chooses it, as a click on its symbol does.
  body.addEventListener("click", (event) => {
    const row = event.target.closest("tr");
    if (!row || event.target.closest("button")) return;
    onSelect(Number(row.dataset.token));
  });
  body.addEventListener("keydown", (event) => {
    const row = event.target.closest("tr");
    if (!row) return;
    const rows = [...body.children];
    const at = rows.indexOf(row);
    let next = null;
    if (event.key === "ArrowDown") next = rows[at + 1];
    if (event.key === "ArrowUp") next = rows[at - 1];
    if (event.key === "Delete") {
      event.preventDefault();
      onRemove(Number(row.dataset.token));
      return;
    }
    if (!next) return;
    event.preventDefault();
    for (const b of body.querySelectorAll("button")) b.tabIndex = -1;
    const target = next.querySelector(".sym");
    target.tabIndex = 0;
    target.focus();
  });
  function quote(token) {
    const row = body.querySelector(`tr[data-token="${token}"]`);
    const item = instruments.get(token);
    if (!row || !item) return;
    row.querySelector(".ltp").textContent = item.last === null ? "—" : money(item.last);
    const change = item.last !== null && item.prev ? item.last - item.prev : null;
    const pct = percent(item.last, item.prev);
    const cell = row.querySelector(".pct");
    cell.textContent = pct === null ? "" : `${pct > 0n ? "+" : ""}${money(pct)}%`;
    cell.title = change === null ? "" : `${change > 0n ? "+" : ""}${money(change)} since the previous close`;
    cell.className = `num pct ${signClass(change)}`;
  }
  function select(token) {
    selected = token;
    for (const row of body.querySelectorAll("tr")) {
      if (Number(row.dataset.token) === token) row.setAttribute("aria-selected", "true");
      else row.removeAttribute("aria-selected");
    }
    roving();
  }
  return { render, quote, select, tokens: () => tokens };
}

// The search box: `search(query)` resolves to API rows; `onChoose(row)` gets the chosen one.
export function searchMount(input, list, { search, onChoose }) {
  let results = [];
  let active = -1;
  let asked = 0;
  function close() {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  }
  function show() {
    list.replaceChildren(
      ...results.map((row, index) => {
        const li = document.createElement("li");
        li.id = `search-option-${index}`;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", String(index === active));
        li.dataset.token = row.instrument_token;
        const symbol = document.createElement("b");
        symbol.textContent = row.tradingsymbol;
        const rest = document.createElement("span");
        rest.textContent = ` ${row.exchange}${row.name ? " · " + row.name : ""}`;
        li.append(symbol, rest);
        li.addEventListener("mousedown", (event) => {
          event.preventDefault(); // keep the focus in the box
          choose(index);
        });
        return li;
      }),
    );
    if (!results.length) {
      const li = document.createElement("li");
      li.className = "empty";
      li.textContent = `No instrument matches “${input.value.trim()}”`;
      list.append(li);
    }
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
    if (active >= 0) input.setAttribute("aria-activedescendant", `search-option-${active}`);
    else input.removeAttribute("aria-activedescendant");
    list.querySelector('[aria-selected="true"]')?.scrollIntoView({ block: "nearest" });
  }
  function choose(index) {
    const row = results[index];
    if (!row) return;
    close();
    input.value = "";
    onChoose(row);
  }
  let timer = null;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    const query = input.value.trim();
    if (!query) {
      close();
      return;
    }
    timer = setTimeout(async () => {
      const ticket = ++asked;
      const rows = await search(query);
      if (ticket !== asked) return; // a later query's answer wins
      results = rankResults(rows, query).slice(0, 12);
      active = results.length ? 0 : -1;
      show();
    }, 120);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      if (!list.hidden) {
        close();
        event.stopPropagation();
      }
      return;
    }
    if (list.hidden || !results.length) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      active = (active + (event.key === "ArrowDown" ? 1 : -1) + results.length) % results.length;
      show();
    } else if (event.key === "Enter") {
      event.preventDefault();
      choose(active < 0 ? 0 : active);
    }
  });
  input.addEventListener("blur", () => setTimeout(close, 150));
  return { close };
}
