// The trader's page: watchlist, chart, order ticket, blotter, positions and account bar, kept live by
// two websockets (/ws/market/ for prices, /ws/account/ for the user's own orders, fills and status).
// Everything that changes state goes through the REST API, as an integrator's script would.
(() => {
  "use strict";
  const boot = JSON.parse(document.getElementById("trade-boot").textContent);
  const account = boot.account;
  const $ = (selector) => document.querySelector(selector);
  const IST_OFFSET = 19800; // seconds: the chart shows India Standard Time
  const LIVE = new Set(boot.live_statuses);
  const INTERVAL_SECONDS = { "1m": 60, "5m": 300, "15m": 900, "1h": 3600, "1d": 86400 };

  // ---- exact decimal arithmetic for money: BigInt in units of 1/10000 ----
  const SCALE = 10000n;
  function dec(text) {
    if (text === null || text === undefined || text === "") return null;
    const match = /^(-?)(\d*)(?:\.(\d{0,4})\d*)?$/.exec(String(text).trim());
    if (!match) return null;
    const units = BigInt(match[2] || "0") * SCALE + BigInt((match[3] || "").padEnd(4, "0"));
    return match[1] ? -units : units;
  }
  function plain(units) {
    return money(units).replace(/,/g, "");
  }
  function money(units, places = 2) {
    if (units === null || units === undefined) return "—";
    const step = 10n ** BigInt(4 - places);
    const negative = units < 0n;
    let rounded = ((negative ? -units : units) + step / 2n) / step;
    const whole = rounded / 10n ** BigInt(places);
    const frac = (rounded % 10n ** BigInt(places)).toString().padStart(places, "0");
    const grouped = whole.toLocaleString("en-IN");
    return (negative && rounded !== 0n ? "-" : "") + grouped + (places ? "." + frac : "");
  }
  function signClass(units) {
    return units > 0n ? "up" : units < 0n ? "down" : "";
  }

  // ---- state ----
  const instruments = new Map(); // token -> {token, symbol, exchange, tick, lot, last, prev}
  for (const row of boot.instruments) instruments.set(row.token, { ...row, last: null, prev: null });
  // The watchlist is kept in the browser as instrument rows, so instruments the user added (which the
  // page's starting list may not carry) come back after a reload.
  const watchKey = `watchlist:${account.id}`;
  const saved = JSON.parse(localStorage.getItem(watchKey) || "null");
  const savedRows = Array.isArray(saved) ? saved.filter((row) => row && Number.isInteger(row.token)) : [];
  for (const row of savedRows) {
    if (!instruments.has(row.token)) instruments.set(row.token, { ...row, last: null, prev: null });
  }
  let watch = savedRows.length ? savedRows.map((row) => row.token) : boot.instruments.map((row) => row.token);
  let selected = Number(localStorage.getItem(`chart:${account.id}`)) || watch[0] || null;
  let interval = localStorage.getItem("chart:interval") || "1m";
  const orders = new Map();
  let positions = [];
  let summary = null;

  // ---- REST ----
  async function api(method, path, body, headers = {}) {
    let response;
    try {
      response = await fetch(path, {
        method,
        credentials: "same-origin",
        headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRFToken": boot.csrf, ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      // The server is unreachable (restarting) or the page is leaving: callers see a failed call.
      return { ok: false, status: 0, data: null, message: `the server could not be reached (${error.message})` };
    }
    let data = null;
    try {
      data = await response.json();
    } catch (error) {
      data = null;
    }
    const message = data && data.error ? data.error.message : `${response.status} ${response.statusText}`;
    return { ok: response.ok, status: response.status, data, message };
  }
  const withAccount = (path) => path + (path.includes("?") ? "&" : "?") + `account=${account.id}`;

  // ---- websockets that come back by themselves ----
  function stream(path, indicator, handlers) {
    let socket = null;
    let delay = 500;
    const send = (message) => socket && socket.readyState === WebSocket.OPEN && socket.send(JSON.stringify(message));
    function setState(state) {
      indicator.dataset.state = state;
      indicator.textContent = state;
    }
    function connect() {
      setState(socket ? "reconnecting" : "connecting");
      socket = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + path);
      socket.onopen = () => {
        delay = 500;
        setState("live");
        indicator.dataset.connects = String(Number(indicator.dataset.connects || 0) + 1);
        handlers.open();
      };
      socket.onmessage = (event) => handlers.message(JSON.parse(event.data));
      socket.onclose = (event) => {
        if (event.code === 4401) {
          setState("logged out");
          return; // the session ended: reconnecting would not help
        }
        setState("reconnecting");
        setTimeout(connect, delay);
        delay = Math.min(delay * 2, 5000);
      };
    }
    connect();
    return { send };
  }

  // ---- watchlist ----
  const watchBody = $("#watchlist tbody");
  function watchRender() {
    watchBody.replaceChildren(
      ...watch
        .filter((token) => instruments.has(token))
        .map((token) => {
          const row = document.createElement("tr");
          row.dataset.token = token;
          row.innerHTML = `<td><button type="button" class="link sym"></button><button type="button" class="link remove" title="Remove">×</button></td><td class="num ltp"></td><td class="num chg"></td><td class="num pct"></td>`;
          row.querySelector(".sym").textContent = instruments.get(token).symbol;
          row.querySelector(".sym").addEventListener("click", () => select(token));
          row.querySelector(".remove").addEventListener("click", () => watchRemove(token));
          if (token === selected) row.setAttribute("aria-selected", "true");
          return row;
        }),
    );
    for (const token of watch) quoteShow(token);
  }
  function quoteShow(token) {
    const row = watchBody.querySelector(`tr[data-token="${token}"]`);
    const item = instruments.get(token);
    if (!row || !item) return;
    row.querySelector(".ltp").textContent = item.last === null ? "—" : money(item.last);
    if (item.last !== null && item.prev !== null && item.prev !== 0n) {
      const change = item.last - item.prev;
      row.querySelector(".chg").textContent = money(change);
      row.querySelector(".pct").textContent = money((change * 100n * SCALE) / item.prev) + "%";
      row.querySelector(".chg").className = `num chg ${signClass(change)}`;
      row.querySelector(".pct").className = `num pct ${signClass(change)}`;
    }
  }
  async function quotesLoad(tokens) {
    if (!tokens.length) return;
    const result = await api("GET", `/api/v1/quotes?instruments=${tokens.join(",")}`);
    if (!result.ok) return;
    for (const quote of result.data) {
      const item = instruments.get(quote.instrument_token);
      if (!item) continue;
      if (item.last === null && quote.last_price !== null) item.last = dec(quote.last_price);
      item.prev = dec(quote.previous_close);
      quoteShow(quote.instrument_token);
    }
    ticketRules();
  }
  function watchSave() {
    const rows = watch.map((token) => {
      const { symbol, exchange, name, tick, lot } = instruments.get(token);
      return { token, symbol, exchange, name, tick, lot };
    });
    localStorage.setItem(watchKey, JSON.stringify(rows));
  }
  function watchRemove(token) {
    watch = watch.filter((t) => t !== token);
    watchSave();
    watchRender();
    market.send({ action: "unsubscribe", instruments: [token] });
  }
  const watchForm = $("#watch-add");
  watchForm.symbol.addEventListener("input", async () => {
    const query = watchForm.symbol.value.trim();
    if (query.length < 2) return;
    const result = await api("GET", `/api/v1/instruments?search=${encodeURIComponent(query)}&limit=20`);
    if (!result.ok) return;
    $("#watch-options").replaceChildren(
      ...(result.data.results || result.data).map((row) => {
        const option = document.createElement("option");
        option.value = row.tradingsymbol;
        option.label = `${row.exchange} · ${row.name || row.tradingsymbol}`;
        return option;
      }),
    );
  });
  watchForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const symbol = watchForm.symbol.value.trim().toUpperCase();
    $("#watch-error").textContent = "";
    if (!symbol) return;
    const result = await api("GET", `/api/v1/instruments?search=${encodeURIComponent(symbol)}&limit=50`);
    const rows = result.ok ? result.data.results || result.data : [];
    const found = rows.find((row) => row.tradingsymbol.toUpperCase() === symbol);
    if (!found) {
      $("#watch-error").textContent = `No instrument ${symbol}`;
      return;
    }
    instrumentAdd(found);
    if (!watch.includes(found.instrument_token)) watch.push(found.instrument_token);
    watchSave();
    watchRender();
    market.send({ action: "subscribe", instruments: [found.instrument_token] });
    quotesLoad([found.instrument_token]);
    watchForm.reset();
  });
  function instrumentAdd(row) {
    if (instruments.has(row.instrument_token)) return;
    instruments.set(row.instrument_token, {
      token: row.instrument_token,
      symbol: row.tradingsymbol,
      exchange: row.exchange,
      name: row.name,
      tick: String(Number(row.tick_size)),
      lot: row.lot_size,
      last: dec(row.last_price),
      prev: null,
    });
  }

  // ---- chart ----
  const chartBox = $("#chart");
  const chart = LightweightCharts.createChart(chartBox, {
    autoSize: true,
    layout: { background: { color: "#ffffff" }, textColor: "#1d2430", attributionLogo: true },
    grid: { vertLines: { color: "#eef0f4" }, horzLines: { color: "#eef0f4" } },
    timeScale: { timeVisible: true, secondsVisible: false },
  });
  const candles = chart.addSeries(LightweightCharts.CandlestickSeries, {
    upColor: "#067647",
    downColor: "#b42318",
    wickUpColor: "#067647",
    wickDownColor: "#b42318",
    borderVisible: false,
  });
  const markers = LightweightCharts.createSeriesMarkers(candles, []);
  let lastBar = null;
  let chartToken = null;
  let fillMarks = [];

  function bucket(epochSeconds) {
    const local = Math.floor(epochSeconds) + IST_OFFSET;
    if (interval === "1h") return Math.floor((local - 900) / 3600) * 3600 + 900; // hours from 09:15
    const width = INTERVAL_SECONDS[interval];
    return Math.floor(local / width) * width;
  }
  const toNumber = (units) => Number(units) / 10000;

  async function chartLoad() {
    const token = selected;
    if (token === null || !instruments.has(token)) return;
    const item = instruments.get(token);
    chartToken = token;
    $("#chart-title").textContent = `${item.symbol} · ${interval}`;
    chartBox.dataset.symbol = item.symbol; // for panels loaded after this script (the news panel)
    document.dispatchEvent(new CustomEvent("trade:selected", { detail: { symbol: item.symbol, exchange: item.exchange } }));
    const tick = Number(item.tick) || 0.05;
    candles.applyOptions({ priceFormat: { type: "price", precision: Math.max(2, decimals(item.tick)), minMove: tick } });
    const result = await api("GET", `/api/v1/instruments/${token}/bars?interval=${interval}&limit=1000`);
    if (token !== selected) return; // the user moved on while it loaded
    const bars = result.ok
      ? result.data.map((bar) => ({
          time: bucket(Date.parse(bar.ts) / 1000),
          open: Number(bar.open),
          high: Number(bar.high),
          low: Number(bar.low),
          close: Number(bar.close),
        }))
      : [];
    candles.setData(bars);
    lastBar = bars.length ? { ...bars[bars.length - 1] } : null;
    chartBox.dataset.bars = String(bars.length);
    chartBox.dataset.token = String(token);
    chartBox.dataset.interval = interval;
    chart.timeScale().scrollToRealTime();
    await fillsLoad();
  }
  function chartTick(price, at) {
    const time = bucket(at);
    const value = toNumber(price);
    if (lastBar && time < lastBar.time) return; // an older tick than the bar on screen
    if (lastBar && time === lastBar.time) {
      lastBar = { ...lastBar, high: Math.max(lastBar.high, value), low: Math.min(lastBar.low, value), close: value };
    } else {
      lastBar = { time, open: value, high: value, low: value, close: value };
    }
    candles.update(lastBar);
    chartBox.dataset.liveUpdates = String(Number(chartBox.dataset.liveUpdates || 0) + 1);
    chartBox.dataset.lastPrice = plain(price);
    $("#chart-last").textContent = money(price);
  }
  async function fillsLoad() {
    const item = instruments.get(selected);
    const result = await api("GET", withAccount(`/api/v1/trades?symbol=${encodeURIComponent(item.symbol)}&limit=500`));
    fillMarks = result.ok
      ? (result.data.results || []).filter((t) => t.exchange === item.exchange).map((t) => ({
          at: Date.parse(t.fill_timestamp) / 1000,
          side: t.transaction_type,
          quantity: t.quantity,
          price: t.price,
        }))
      : [];
    markersShow();
  }
  function markersShow() {
    const list = fillMarks
      .map((fill) => ({
        time: bucket(fill.at),
        position: fill.side === "BUY" ? "belowBar" : "aboveBar",
        color: fill.side === "BUY" ? "#0b63ce" : "#b54708",
        shape: fill.side === "BUY" ? "arrowUp" : "arrowDown",
        text: `${fill.side === "BUY" ? "B" : "S"} ${fill.quantity} @ ${fill.price}`,
      }))
      .sort((a, b) => a.time - b.time);
    markers.setMarkers(list);
    chartBox.dataset.fillMarkers = String(list.length);
  }
  for (const button of document.querySelectorAll("#timeframes button")) {
    button.addEventListener("click", () => {
      interval = button.dataset.interval;
      localStorage.setItem("chart:interval", interval);
      for (const other of document.querySelectorAll("#timeframes button")) {
        other.setAttribute("aria-pressed", String(other === button));
      }
      chartLoad();
    });
    button.setAttribute("aria-pressed", String(button.dataset.interval === interval));
  }
  function select(token) {
    selected = token;
    localStorage.setItem(`chart:${account.id}`, String(token));
    for (const row of watchBody.querySelectorAll("tr")) {
      row.toggleAttribute("aria-selected", Number(row.dataset.token) === token);
    }
    ticketRules();
    chartLoad();
  }

  // ---- market stream ----
  function marketTokens() {
    const tokens = new Set(watch);
    if (selected !== null) tokens.add(selected);
    for (const position of positions) tokens.add(position.instrument_token);
    return [...tokens];
  }
  const market = stream("/ws/market/", $("#market-state"), {
    open() {
      market.send({ action: "subscribe", instruments: marketTokens() });
    },
    message(message) {
      if (message.type === "subscribed") {
        for (const quote of message.quotes) priceSet(quote.i, dec(quote.p), null);
      } else if (message.type === "ticks") {
        for (const tick of message.ticks) priceSet(tick.i, dec(tick.p), tick.t);
        positionsShow();
      }
    },
  });
  function priceSet(token, price, at) {
    const item = instruments.get(token);
    if (item) {
      item.last = price;
      quoteShow(token);
    }
    for (const position of positions) {
      if (position.instrument_token === token) position.ltp = price;
    }
    if (token === chartToken && at !== null) chartTick(price, at);
  }

  // ---- order ticket: the same checks as the server's, so most mistakes never leave the page ----
  const ticket = $("#ticket");
  function decimals(text) {
    const part = String(text).split(".")[1];
    return part ? part.replace(/0+$/, "").length : 0;
  }
  function ticketRules() {
    const item = instruments.get(selected);
    $("#ticket-symbol").textContent = item ? `${item.exchange}:${item.symbol}` : "Choose an instrument";
    $("#ticket-rules").textContent = item ? `tick ${item.tick} · lot ${item.lot}` : "";
    const type = ticket.order_type.value;
    ticket.querySelector('[data-for="price"]').hidden = !(type === "LIMIT" || type === "SL");
    ticket.querySelector('[data-for="trigger_price"]').hidden = !(type === "SL" || type === "SL-M");
    if (item && item.last !== null && !ticket.price.value && !ticket.price.dataset.touched) {
      ticket.price.placeholder = plain(item.last);
    }
  }
  function ticketProblems() {
    const item = instruments.get(selected);
    const problems = [];
    if (!item) return ["choose an instrument from the watchlist"];
    const type = ticket.order_type.value;
    const quantityText = ticket.quantity.value.trim();
    if (!/^\d+$/.test(quantityText) || Number(quantityText) < 1) {
      problems.push("quantity must be a positive whole number");
    } else if (Number(quantityText) % item.lot) {
      problems.push(`quantity ${quantityText} is not a multiple of the lot size ${item.lot}`);
    }
    const needs = { price: type === "LIMIT" || type === "SL", trigger_price: type === "SL" || type === "SL-M" };
    for (const name of ["price", "trigger_price"]) {
      const label = name === "price" ? "price" : "trigger_price";
      const text = ticket[name].value.trim();
      if (!needs[name]) continue;
      if (!text) {
        problems.push(`a ${type} order needs a ${label}`);
        continue;
      }
      if (!/^\d+(\.\d+)?$/.test(text)) {
        problems.push(`${label} must be a number`);
        continue;
      }
      if (decimals(text) > 2) {
        problems.push(`${label} can have at most 2 decimal places`);
        continue;
      }
      const value = dec(text);
      if (value <= 0n) {
        problems.push(`${label} must be positive`);
        continue;
      }
      const tick = dec(item.tick);
      if (tick && value % tick) problems.push(`${label} ${text} is not a multiple of the tick size ${item.tick}`);
    }
    return problems;
  }
  function problemsShow(problems) {
    $("#ticket-problems").replaceChildren(
      ...problems.map((text) => {
        const li = document.createElement("li");
        li.textContent = text;
        return li;
      }),
    );
  }
  ticket.addEventListener("input", (event) => {
    if (event.target.name === "price") ticket.price.dataset.touched = "1";
    ticketRules();
    if ($("#ticket-problems").childElementCount) problemsShow(ticketProblems());
  });
  ticket.addEventListener("submit", async (event) => {
    event.preventDefault();
    $("#ticket-error").textContent = "";
    $("#ticket-result").textContent = "";
    const problems = ticketProblems();
    problemsShow(problems);
    if (problems.length) return;
    const item = instruments.get(selected);
    const type = ticket.order_type.value;
    const body = {
      account: account.id,
      instrument_token: item.token,
      transaction_type: ticket.transaction_type.value,
      order_type: type,
      product: ticket.product.value,
      validity: ticket.validity.value,
      quantity: Number(ticket.quantity.value),
    };
    if (type === "LIMIT" || type === "SL") body.price = ticket.price.value.trim();
    if (type === "SL" || type === "SL-M") body.trigger_price = ticket.trigger_price.value.trim();
    const submit = $("#ticket-submit");
    submit.disabled = true;
    try {
      const key = crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`;
      const result = await api("POST", "/api/v1/orders", body, { "Idempotency-Key": key });
      if (result.ok) {
        orderShow(result.data);
        $("#ticket-result").textContent = `Order ${result.data.id}: ${result.data.status}`;
      } else {
        // The server's reason, word for word: it names the rule and the numbers.
        $("#ticket-error").textContent = result.message;
        if (result.data && result.data.order) orderShow(result.data.order);
      }
    } catch (error) {
      $("#ticket-error").textContent = `The order could not be sent: ${error.message}`;
    } finally {
      submit.disabled = false;
    }
  });

  // ---- blotter ----
  const ordersBody = $("#orders tbody");
  const istTime = new Intl.DateTimeFormat("en-IN", {
    timeZone: "Asia/Kolkata",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hour12: false,
  });
  function orderShow(order) {
    if (order.account !== account.id) return;
    orders.set(order.id, { ...orders.get(order.id), ...order });
    const data = orders.get(order.id);
    let row = ordersBody.querySelector(`tr[data-order-id="${order.id}"]`);
    if (!row) {
      row = document.createElement("tr");
      row.dataset.orderId = order.id;
      row.innerHTML =
        '<td class="time"></td><td class="sym"></td><td class="side"></td><td class="type"></td><td class="product"></td>' +
        '<td class="num qty"></td><td class="num price"></td><td class="num filled"></td><td class="num avg"></td><td class="status"></td><td class="actions"></td>';
      const newer = [...ordersBody.children].find((other) => Number(other.dataset.orderId) < order.id);
      ordersBody.insertBefore(row, newer || null);
    }
    const cells = (name) => row.querySelector(`.${name}`);
    cells("time").textContent = istTime.format(new Date(data.created_at));
    cells("sym").textContent = data.tradingsymbol;
    cells("side").textContent = data.transaction_type;
    cells("side").className = `side ${data.transaction_type === "BUY" ? "up" : "down"}`;
    cells("type").textContent = data.order_type;
    cells("product").textContent = data.product;
    cells("qty").textContent = data.quantity;
    cells("price").textContent = data.price || (data.trigger_price ? `trg ${data.trigger_price}` : "MKT");
    cells("filled").textContent = `${data.filled_quantity}/${data.quantity}`;
    cells("avg").textContent = Number(data.average_price) ? money(dec(data.average_price)) : "";
    // A cancel or modification sent to Kite shows as pending until Kite confirms or refuses it.
    const pending = data.pending_request ? ` (${data.pending_request} pending)` : "";
    cells("status").textContent = data.status + pending;
    cells("status").title = data.status_message || "";
    row.dataset.status = data.status;
    const actions = cells("actions");
    actions.replaceChildren();
    if (boot.can.cancel && LIVE.has(data.status) && data.pending_request !== "cancel") {
      const cancel = document.createElement("button");
      cancel.type = "button";
      cancel.className = "link";
      cancel.textContent = "Cancel";
      cancel.addEventListener("click", async () => {
        cancel.disabled = true;
        const result = await api("DELETE", `/api/v1/orders/${data.id}`);
        if (result.ok) orderShow(result.data);
        else $("#ticket-error").textContent = `Order ${data.id}: ${result.message}`;
      });
      actions.append(cancel);
    }
    if (data.adopted) {
      const flag = document.createElement("small");
      flag.className = "adopted";
      flag.title = "Placed at Kite outside the platform; taken in by reconciliation";
      flag.textContent = "from Kite";
      actions.append(flag);
    }
    if (data.status === "REJECTED" && data.status_message) {
      const reason = document.createElement("small");
      reason.className = "bad";
      reason.textContent = data.status_message;
      actions.append(reason);
    }
  }
  async function ordersLoad() {
    const result = await api("GET", withAccount("/api/v1/orders?limit=100"));
    if (!result.ok) return;
    ordersBody.replaceChildren();
    orders.clear();
    for (const order of result.data.results.slice().reverse()) orderShow(order);
  }

  // ---- positions and the account bar ----
  const positionsBody = $("#positions tbody");
  async function positionsLoad() {
    const result = await api("GET", withAccount("/api/v1/positions"));
    if (!result.ok) return;
    const before = new Set(positions.map((p) => p.instrument_token));
    positions = result.data.map((row) => ({
      ...row,
      quantity: row.quantity,
      avg: dec(row.average_price),
      cost: dec(row.open_cost),
      ltp: instruments.get(row.instrument_token)?.last ?? dec(row.last_price),
    }));
    const added = positions.map((p) => p.instrument_token).filter((token) => !before.has(token));
    if (added.length) market.send({ action: "subscribe", instruments: added });
    positionsShow();
  }
  // Quantity at the price less what the open quantity cost (signed, as the server keeps it): at quantity
  // 0 what opposite strategy books locked in. Without a price the position is taken at its cost.
  function unrealisedOf(position) {
    if (position.ltp === null || position.ltp === undefined) return position.quantity ? 0n : -position.cost;
    return position.ltp * BigInt(position.quantity) - position.cost;
  }
  function positionsShow() {
    let unrealised = 0n;
    let realised = 0n;
    let charges = 0n;
    const rows = positions.map((position) => {
      const live = unrealisedOf(position);
      unrealised += live;
      realised += dec(position.realised_pnl);
      charges += dec(position.charges);
      const row = document.createElement("tr");
      row.dataset.token = position.instrument_token;
      row.dataset.product = position.product;
      row.innerHTML =
        '<td class="sym"></td><td></td><td class="num qty"></td><td class="num"></td><td class="num ltp"></td>' +
        '<td class="num unrealised"></td><td class="num realised"></td><td class="num"></td>';
      const cells = row.children;
      cells[0].textContent = position.tradingsymbol;
      cells[1].textContent = position.product;
      cells[2].textContent = position.quantity;
      cells[3].textContent = money(position.avg);
      cells[4].textContent = money(position.ltp);
      cells[5].textContent = money(live);
      cells[5].className = `num unrealised ${signClass(live)}`;
      cells[6].textContent = money(dec(position.realised_pnl));
      cells[7].textContent = money(dec(position.charges));
      return row;
    });
    positionsBody.replaceChildren(...rows);
    $("#pos-unrealised").textContent = money(unrealised);
    $("#pos-realised").textContent = money(realised);
    $("#pos-charges").textContent = money(charges);
    summaryShow();
  }
  async function summaryLoad() {
    const result = await api("GET", withAccount("/api/v1/portfolio/summary"));
    if (!result.ok) return;
    summary = result.data;
    summary.unrealisedAtLoad = positions.reduce((sum, p) => sum + unrealisedOf(p), 0n);
    summaryShow();
  }
  function summaryShow() {
    if (!summary) return;
    $("#acct-cash").textContent = money(dec(summary.cash));
    $("#acct-margin").textContent = money(dec(summary.funds_blocked));
    // The day's P&L as the server computed it, with open positions re-marked at the live prices.
    const liveUnrealised = positions.reduce((sum, p) => sum + unrealisedOf(p), 0n);
    const day = dec(summary.day_pnl.total) - summary.unrealisedAtLoad + liveUnrealised;
    $("#acct-daypnl").textContent = money(day);
    $("#acct-daypnl").className = signClass(day);
    statusShow(summary.status);
  }
  function statusShow(status, reason) {
    const badge = $("#acct-status");
    badge.textContent = status;
    badge.dataset.status = status;
    // Why the account is halted or reducing (the kill switch's reason, a reconciliation mismatch).
    if (reason !== undefined) $("#acct-status-reason").textContent = status === "active" ? "" : reason;
    $("#kill-switch").hidden = !boot.can.halt || status === "halted";
    $("#resume").hidden = !boot.can.resume || status === "active";
  }
  let refreshTimer = null;
  function refreshSoon() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(async () => {
      await positionsLoad();
      await summaryLoad();
    }, 150);
  }

  // ---- kill switch, behind a confirmation ----
  const dialog = $("#kill-confirm");
  $("#kill-switch").addEventListener("click", () => {
    dialog.returnValue = "";
    dialog.showModal();
  });
  dialog.addEventListener("close", async () => {
    if (dialog.returnValue !== "halt") return;
    const reason = dialog.querySelector("input[name=reason]").value.trim();
    const result = await api("POST", `/api/v1/accounts/${account.id}/halt`, { reason });
    if (!result.ok) $("#ticket-error").textContent = `Kill switch: ${result.message}`;
    await Promise.all([ordersLoad(), summaryLoad()]);
  });
  $("#resume").addEventListener("click", async () => {
    const result = await api("POST", `/api/v1/accounts/${account.id}/resume`, { reason: "resumed from the trade page" });
    if (!result.ok) $("#ticket-error").textContent = `Resume: ${result.message}`;
    // Resuming needs a second person (ops or admin): the account stays stopped until they approve.
    else if (result.status === 202) $("#ticket-error").textContent = "Resume requested: it takes effect when ops approve it.";
    await summaryLoad();
  });

  // ---- account stream: the user's own events only (the server picks the group from the session) ----
  stream("/ws/account/", $("#account-state"), {
    open() {
      // Whatever happened while disconnected is read back, not replayed.
      ordersLoad();
      refreshSoon();
    },
    message(message) {
      if (message.type === "order") {
        orderShow(message.data);
      } else if (message.type === "fill" && message.data.account === account.id) {
        if (message.data.instrument_token === chartToken) {
          fillMarks.push({
            at: Date.parse(message.data.fill_timestamp) / 1000,
            side: message.data.transaction_type,
            quantity: message.data.quantity,
            price: message.data.price,
          });
          markersShow();
        }
        refreshSoon();
      } else if (message.type === "cross" && message.data.account === account.id) {
        refreshSoon(); // sub-ledgers crossed at the square-off: realised P&L moved, no fill
      } else if (message.type === "account" && message.data.id === account.id) {
        statusShow(message.data.status, message.data.reason || "");
        refreshSoon();
      }
    },
  });

  statusShow(account.status, account.status_reason || "");
  watchRender();
  ticketRules();
  quotesLoad(watch);
  chartLoad();
})();
