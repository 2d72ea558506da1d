"""Reads of the sentiment store, point in time: a value at `at` uses only the articles the platform had
by then (`available_at <= at`), whatever date a source put on them."""

import math
from bisect import bisect_right
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from sentiment.models import Article, ArticleScore, ArticleSymbol, SymbolSentiment

WINDOWS = {SymbolSentiment.Window.QUARTER_HOUR: timedelta(minutes=15), SymbolSentiment.Window.DAY: timedelta(days=1)}
# The decayed mean weighs an article by 2^(-age / half-life).
HALF_LIVES = {SymbolSentiment.Window.QUARTER_HOUR: timedelta(minutes=5), SymbolSentiment.Window.DAY: timedelta(hours=4)}


@dataclass(frozen=True)
class SentimentValue:
    symbol: str
    window: str
    at: datetime
    count: int
    decayed_mean: float
    share_positive: float
    share_negative: float

    def figures(self) -> dict:
        return {
            "count": self.count,
            "decayed_mean": self.decayed_mean,
            "share_positive": self.share_positive,
            "share_negative": self.share_negative,
        }


# One score per article: the newest version's of the analyzer.
SCORES_SQL = f"""
SELECT DISTINCT ON (a.id) a.available_at, s.score, s.label
  FROM {ArticleSymbol._meta.db_table} t
  JOIN {Article._meta.db_table} a ON a.id = t.article_id
  JOIN {ArticleScore._meta.db_table} s ON s.article_id = a.id AND s.analyzer = %(analyzer)s
 WHERE t.symbol = %(symbol)s AND a.available_at > %(start)s AND a.available_at <= %(at)s
 ORDER BY a.id, s.scored_at DESC, s.id DESC
"""


def sentiment_at(symbol: str, at: datetime, *, window: str, analyzer: str | None = None) -> SentimentValue:
    """`symbol`'s sentiment over `window` ending at `at`, from the articles available by `at`."""
    params = {
        "analyzer": analyzer or settings.SENTIMENT_ANALYZER,
        "symbol": symbol,
        "start": at - WINDOWS[window],
        "at": at,
    }
    with connection.cursor() as cursor:
        cursor.execute(SCORES_SQL, params)
        rows = cursor.fetchall()
    return sentiment_value(symbol, window, at, rows)


def sentiment_value(symbol: str, window: str, at: datetime, rows: list[tuple[datetime, float, str]]) -> SentimentValue:
    """The aggregate of (available_at, score, label) rows: count, decayed mean, shares by label."""
    if not rows:
        return SentimentValue(symbol, window, at, 0, 0.0, 0.0, 0.0)
    half_life = HALF_LIVES[window].total_seconds()
    weights = [math.pow(2.0, -(at - available).total_seconds() / half_life) for available, _, _ in rows]
    mean = sum(w * score for w, (_, score, _) in zip(weights, rows, strict=True)) / sum(weights)
    count = len(rows)
    positive = sum(1 for _, _, label in rows if label == "positive")
    negative = sum(1 for _, _, label in rows if label == "negative")
    return SentimentValue(symbol, window, at, count, round(mean, 6), positive / count, negative / count)


def cache_key(symbol: str, analyzer: str) -> str:
    return f"sentiment:latest:{analyzer}:{symbol}"


def latest_cache_set(symbol: str, analyzer: str, values: dict[str, SentimentValue]) -> None:
    try:
        cache.set(
            cache_key(symbol, analyzer),
            {window: asdict(value) for window, value in values.items()},
            timeout=settings.SENTIMENT_CACHE_SECONDS,
        )
    except Exception:  # noqa: S110 - Redis down: the next read computes it from the database
        pass


def sentiment_latest(symbol: str, *, analyzer: str | None = None) -> dict[str, dict]:
    """`symbol`'s sentiment now, per window: from the cache (SENTIMENT_CACHE_SECONDS), else computed
    from the store and cached."""
    analyzer = analyzer or settings.SENTIMENT_ANALYZER
    try:
        cached = cache.get(cache_key(symbol, analyzer))
    except Exception:  # Redis down: computed from the database
        cached = None
    if cached is not None:
        return cached
    now = timezone.now()
    values = {window: sentiment_at(symbol, now, window=window, analyzer=analyzer) for window in WINDOWS}
    latest_cache_set(symbol, analyzer, values)
    return {window: asdict(value) for window, value in values.items()}


def sentiment_history(symbol: str, *, window: str, since: datetime, analyzer: str | None = None):
    return SymbolSentiment.objects.filter(
        symbol=symbol, window=window, analyzer=analyzer or settings.SENTIMENT_ANALYZER, at__gte=since
    ).order_by("at")


def symbols_latest(*, window: str, analyzer: str | None = None) -> list[dict]:
    """Each symbol with news: its latest value recorded in the last day, where that has articles (a
    symbol whose news aged out has a latest value of none), most written about first."""
    rows = (
        SymbolSentiment.objects.filter(
            window=window,
            analyzer=analyzer or settings.SENTIMENT_ANALYZER,
            at__gt=timezone.now() - WINDOWS[SymbolSentiment.Window.DAY],
        )
        .order_by("symbol", "-at")
        .distinct("symbol")
    )
    latest = [
        {
            "symbol": row.symbol,
            "at": row.at,
            "count": row.count,
            "decayed_mean": row.decayed_mean,
            "share_positive": row.share_positive,
            "share_negative": row.share_negative,
        }
        for row in rows
    ]
    return sorted((value for value in latest if value["count"]), key=lambda value: (-value["count"], value["symbol"]))


SERIES_SQL = f"""
SELECT DISTINCT ON (t.symbol, a.id) t.symbol, a.available_at, s.score
  FROM {ArticleSymbol._meta.db_table} t
  JOIN {Article._meta.db_table} a ON a.id = t.article_id
  JOIN {ArticleScore._meta.db_table} s ON s.article_id = a.id AND s.analyzer = %(analyzer)s
 WHERE t.symbol = ANY(%(symbols)s) AND a.available_at > %(start)s AND a.available_at <= %(end)s
 ORDER BY t.symbol, a.id, s.scored_at DESC, s.id DESC
"""


def sentiment_series(symbols, ends: list[datetime], *, window: str, analyzer: str | None = None):
    """For each symbol and each time in `ends` (increasing), the decayed mean and the count of its
    articles over `window` ending then, as `sentiment_at` gives them (NaN mean where there is none):
    two lists of rows, one per symbol. One query for all."""
    width, half_life = WINDOWS[window].total_seconds(), HALF_LIVES[window].total_seconds()
    params = {
        "analyzer": analyzer or settings.SENTIMENT_ANALYZER,
        "symbols": list(symbols),
        "start": ends[0] - WINDOWS[window] if ends else timezone.now(),
        "end": ends[-1] if ends else timezone.now(),
    }
    found: dict[str, list[tuple[float, float]]] = {symbol: [] for symbol in symbols}
    if ends:
        with connection.cursor() as cursor:
            cursor.execute(SERIES_SQL, params)
            for symbol, available, score in cursor.fetchall():
                found[symbol].append((available.timestamp(), score))
    stamps = [end.timestamp() for end in ends]
    means, counts = [], []
    for symbol in symbols:
        rows = sorted(found[symbol])
        times = [t for t, _ in rows]
        mean_row, count_row = [], []
        for end in stamps:
            lo, hi = bisect_right(times, end - width), bisect_right(times, end)
            if lo == hi:
                mean_row.append(math.nan)
                count_row.append(0)
                continue
            weights = [math.pow(2.0, -(end - t) / half_life) for t, _ in rows[lo:hi]]
            total = sum(w * score for w, (_, score) in zip(weights, rows[lo:hi], strict=True))
            mean_row.append(round(total / sum(weights), 6))
            count_row.append(hi - lo)
        means.append(mean_row)
        counts.append(count_row)
    return means, counts
