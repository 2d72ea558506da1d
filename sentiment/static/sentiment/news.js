// The trade page's news panel: the selected symbol's sentiment (the day's and the last 15 minutes')
// and its latest headlines with each one's score, reloaded when another symbol is chosen and every
// five minutes (the server caches the values for as long).
(() => {
  "use strict";
  const panel = document.getElementById("news");
  if (!panel) return;
  const $ = (selector) => panel.querySelector(selector);
  const RELOAD_MS = 5 * 60 * 1000;
  let symbol = null;
  const IST = new Intl.DateTimeFormat("en-IN", {
    timeZone: "Asia/Kolkata", day: "2-digit", month: "short", hour: "2-digit", minute: "2-digit", hour12: false,
  });

  async function json(path) {
    try {
      const response = await fetch(path, { credentials: "same-origin", headers: { Accept: "application/json" } });
      const data = await response.json().catch(() => null);
      return response.ok ? { ok: true, data } : { ok: false, message: data && data.error ? data.error.message : response.statusText };
    } catch (error) {
      return { ok: false, message: `the server could not be reached (${error.message})` };
    }
  }
  function safeLink(url) {
    // Only web links: the server keeps no other, and a page never follows a javascript: or data: one.
    try {
      const parsed = new URL(url);
      return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
    } catch (error) {
      return null;
    }
  }
  function tone(value) {
    return value > 0.05 ? "up" : value < -0.05 ? "down" : "";
  }
  function figure(name, value) {
    const cell = $(`[data-figure="${name}"]`);
    if (!value || !value.count) {
      cell.textContent = "no news";
      cell.className = "";
      return;
    }
    const share = (x) => `${Math.round(x * 100)}%`;
    cell.textContent = `${value.decayed_mean >= 0 ? "+" : ""}${value.decayed_mean.toFixed(2)} · ${value.count} article${value.count === 1 ? "" : "s"} · ${share(value.share_positive)} positive, ${share(value.share_negative)} negative`;
    cell.className = tone(value.decayed_mean);
  }
  async function load() {
    if (!symbol) return;
    const asked = symbol;
    $("#news-symbol").textContent = asked;
    const [sentiment, news] = await Promise.all([
      json(`/api/v1/sentiment?symbol=${encodeURIComponent(asked)}`),
      json(`/api/v1/news?symbol=${encodeURIComponent(asked)}&limit=8`),
    ]);
    if (asked !== symbol) return; // another symbol was chosen meanwhile
    $("#news-error").textContent = sentiment.ok ? (news.ok ? "" : news.message) : sentiment.message;
    figure("1d", sentiment.ok ? sentiment.data.latest["1d"] : null);
    figure("15m", sentiment.ok ? sentiment.data.latest["15m"] : null);
    const list = $("#headlines");
    list.replaceChildren();
    for (const article of news.ok ? news.data.results : []) {
      const item = document.createElement("li");
      const score = article.scores.find((s) => s.analyzer === panel.dataset.analyzer) || article.scores[0];
      const badge = document.createElement("b");
      badge.className = score ? tone(score.score) : "";
      badge.textContent = score ? `${score.score >= 0 ? "+" : ""}${score.score.toFixed(2)}` : "–";
      const link = safeLink(article.url);
      const title = document.createElement(link ? "a" : "span");
      if (link) {
        title.href = link;
        title.rel = "noopener noreferrer";
        title.target = "_blank";
      }
      title.textContent = article.title;
      const when = document.createElement("small");
      when.textContent = ` ${article.source} · ${IST.format(new Date(article.available_at))}`;
      item.append(badge, " ", title, when);
      list.append(item);
    }
    panel.dataset.headlines = String(list.children.length);
    if (!list.children.length) list.innerHTML = "<li><small>No articles about this symbol yet.</small></li>";
  }
  document.addEventListener("trade:selected", (event) => {
    symbol = event.detail.symbol;
    load();
  });
  setInterval(load, RELOAD_MS);
  const chart = document.getElementById("chart");
  if (chart && chart.dataset.symbol) {
    symbol = chart.dataset.symbol; // chosen before this script ran
    load();
  }
})();
