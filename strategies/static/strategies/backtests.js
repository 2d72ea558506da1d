"use strict";
// The backtests page: the form posts to /api/v1/backtests, the run's progress arrives over the
// websocket until it finishes, then its equity and drawdown curves, figures and trades are drawn; a second run may be
// chosen to compare figures side by side.
(() => {
  const boot = JSON.parse(document.getElementById("backtests-boot").textContent);
  const $ = (selector) => document.querySelector(selector);
  const strategies = new Map(boot.strategies.map((s) => [s.name, s]));
  const runs = new Map();

  async function api(method, path, body) {
    let response;
    try {
      response = await fetch(path, {
        method,
        credentials: "same-origin",
        headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRFToken": boot.csrf },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      return { ok: false, data: null, message: `the server could not be reached (${error.message})` };
    }
    let data = null;
    try {
      data = await response.json();
    } catch (error) {
      data = null;
    }
    const message = data && data.error ? data.error.message : `${response.status} ${response.statusText}`;
    return { ok: response.ok, data, message };
  }

  // ---- the form ----
  const select = $("#bt-strategy");
  for (const s of boot.strategies) select.add(new Option(s.name, s.name));
  for (const name of boot.instruments) $("#bt-instrument-options").append(new Option(name));
  if (boot.instruments.length) $("#bt-instruments").value = boot.instruments.slice(0, 2).join(", ");
  const today = new Date();
  $("#bt-end").value = today.toISOString().slice(0, 10);
  $("#bt-start").value = new Date(today.getTime() - 365 * 86400000).toISOString().slice(0, 10);

  function paramsShow() {
    const strategy = strategies.get(select.value);
    $("#bt-description").textContent = strategy.description;
    const box = $("#bt-params");
    box.querySelectorAll("label").forEach((label) => label.remove());
    for (const [name, spec] of Object.entries(strategy.parameters.properties)) {
      const label = document.createElement("label");
      label.title = spec.description;
      label.append(`${name} `);
      const input = document.createElement("input");
      Object.assign(input, { type: "number", name, value: spec.default, min: spec.minimum, max: spec.maximum });
      input.step = spec.type === "integer" ? "1" : "any";
      input.dataset.param = spec.type;
      label.append(input);
      box.append(label);
    }
  }
  select.addEventListener("change", paramsShow);
  paramsShow();
  if (!boot.can_run) $("#bt-run").disabled = true;

  $("#bt-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("#bt-error").textContent = "";
    const parameters = {};
    for (const input of document.querySelectorAll("#bt-params input")) parameters[input.name] = Number(input.value);
    const body = {
      strategy: select.value,
      instruments: $("#bt-instruments").value.split(/[\s,]+/).filter(Boolean),
      start: $("#bt-start").value,
      end: $("#bt-end").value,
      slippage_bps: $("#bt-slippage").value || "0",
      charges: $("#bt-charges").checked,
      parameters,
    };
    $("#bt-run").disabled = true;
    const answer = await api("POST", "/api/v1/backtests", body);
    if (!answer.ok) {
      $("#bt-error").textContent = answer.message;
      $("#bt-run").disabled = false;
      return;
    }
    follow(answer.data.id);
  });

  // ---- progress ----
  // The worker pushes each run's progress to its owner's stream (/ws/account/); the run is read once
  // when followed and once when the stream says it finished. Delivery is best effort, so the run is
  // also re-read now and then: every 10 s while the stream is up, every second while it is down.
  const finished = new Set();
  let streamUp = false;
  let following = null;

  function progressShow(status, progress) {
    $("#bt-progress").value = progress;
    $("#bt-status").textContent = `${status} ${Math.round(progress * 100)}%`;
  }

  function stream() {
    const socket = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/account/");
    socket.onopen = () => { streamUp = true; };
    socket.onclose = () => {
      streamUp = false;
      setTimeout(stream, 2000);
    };
    socket.onmessage = (message) => {
      const event = JSON.parse(message.data);
      if (event.type !== "backtest") return;
      const run = event.data;
      if (run.status === "done" || run.status === "failed") finished.add(run.id);
      if (following && following.id === run.id) {
        if (run.status === "running") progressShow(run.status, run.progress);
        if (finished.has(run.id)) following.wake();
      }
    };
  }
  if (boot.can_run) stream();

  async function follow(id) {
    $("#bt-progress-box").hidden = false;
    for (;;) {
      const answer = await api("GET", `/api/v1/backtests/${id}`);
      if (answer.ok) {
        const run = answer.data;
        progressShow(run.status, run.progress);
        if (run.status === "done" || run.status === "failed") {
          following = null;
          $("#bt-run").disabled = !boot.can_run;
          if (run.status === "failed") $("#bt-error").textContent = run.error;
          else show(run);
          return;
        }
      }
      if (!finished.has(id)) {
        await new Promise((resolve) => {
          const timer = setTimeout(resolve, streamUp ? 10000 : 1000);
          following = { id, wake: () => { clearTimeout(timer); resolve(); } };
        });
      }
    }
  }

  // ---- results ----
  const chartOptions = {
    autoSize: true,
    layout: { background: { color: "#ffffff" }, textColor: "#1d2430", attributionLogo: true },
    grid: { vertLines: { color: "#eef0f4" }, horzLines: { color: "#eef0f4" } },
  };
  const equityChart = LightweightCharts.createChart($("#bt-equity"), chartOptions);
  const equity = equityChart.addSeries(LightweightCharts.LineSeries, { color: "#1f4fd1", lineWidth: 2 });
  const drawdownChart = LightweightCharts.createChart($("#bt-drawdown"), chartOptions);
  const drawdown = drawdownChart.addSeries(LightweightCharts.AreaSeries, {
    lineColor: "#b42318",
    topColor: "rgba(180,35,24,0.05)",
    bottomColor: "rgba(180,35,24,0.35)",
  });

  const FIGURES = [
    ["final_equity", "Final equity"], ["net_pnl", "Net P&L"], ["total_return", "Total return"],
    ["cagr", "CAGR"], ["sharpe", "Sharpe"], ["sortino", "Sortino"], ["max_drawdown", "Max drawdown"],
    ["win_rate", "Win rate"], ["exposure", "Exposure"], ["turnover", "Turnover"],
    ["charges_paid", "Charges paid"], ["fills", "Fills"],
  ];

  function show(run) {
    runs.set(run.id, run);
    const points = run.equity.map(([day, value]) => ({ time: day, value: Number(value) }));
    equity.setData(points);
    let peak = -Infinity;
    drawdown.setData(points.map((p) => {
      peak = Math.max(peak, p.value);
      return { time: p.time, value: (p.value / peak - 1) * 100 };
    }));
    equityChart.timeScale().fitContent();
    drawdownChart.timeScale().fitContent();
    const compare = $("#bt-compare");
    if (![...compare.options].some((o) => o.value === String(run.id))) {
      compare.add(new Option(`#${run.id} ${run.strategy_name} ${JSON.stringify(run.parameters)}`, run.id));
    }
    current = run;
    figuresShow();
    const body = $("#bt-trades tbody");
    body.replaceChildren(...run.trades.slice(-500).reverse().map((t) => {
      const row = document.createElement("tr");
      for (const [value, numeric] of [[t.filled_at.slice(0, 16).replace("T", " "), false], [t.symbol, false],
        [t.side, false], [t.quantity, true], [t.price, true], [t.charges, true], [t.realised_pnl, true]]) {
        const cell = document.createElement("td");
        cell.textContent = value;
        if (numeric) cell.className = "num";
        row.append(cell);
      }
      return row;
    }));
  }

  let current = null;
  function figuresShow() {
    const other = runs.get(Number($("#bt-compare").value));
    $("#bt-col-a").textContent = current ? `#${current.id}` : "This run";
    $("#bt-col-b").textContent = other && other !== current ? `#${other.id}` : "";
    $("#bt-figures tbody").replaceChildren(...FIGURES.map(([key, label]) => {
      const row = document.createElement("tr");
      const cells = [label, current ? current.figures[key] : "", other && other !== current ? other.figures[key] : ""];
      cells.forEach((value, k) => {
        const cell = document.createElement(k ? "td" : "th");
        cell.textContent = value === null || value === undefined ? "—" : value;
        if (k) cell.className = "num";
        row.append(cell);
      });
      row.dataset.figure = key;
      return row;
    }));
  }
  $("#bt-compare").addEventListener("change", figuresShow);
})();
