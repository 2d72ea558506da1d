"""Simulated news for the demo, whose machines cannot reach the news sites: a year of made-up headlines
about the instruments with daily bars, so the news panel, the dashboard's sentiment and the
news_sentiment strategy's backtests have something to show on first start.

A day on which an instrument's simulated close moved more than twice its usual daily move gets a story
saying so, made available at 16:00 IST that day (after the close, so a strategy acting on it trades the
next morning); now and then a neutral one; and a few stories in the last hours. Seeded: the same bars
give the same news. Nothing is added once the demo wire has articles.
"""

import random
import zlib
from collections import defaultdict
from datetime import datetime, time, timedelta

from django.utils import timezone

from sentiment.models import NewsSource, SymbolAlias
from sentiment.services import aggregates_record, articles_store
from sentiment.sources import RawArticle
from sentiment.tagging import tagger_build
from trading.models import DayBar, Instrument
from tradingsite.ist import IST

SOURCE = "Demo wire (simulated)"
UP = [
    "{name} shares surge {move:.1f}% on strong order inflows",
    "{name} rallies {move:.1f}% after upbeat management commentary",
    "{name} jumps {move:.1f}% as brokerages upgrade the stock",
    "{name} gains {move:.1f}%; analysts see record profit this quarter",
]
DOWN = [
    "{name} shares slump {move:.1f}% on weak demand outlook",
    "{name} falls {move:.1f}% after disappointing quarterly results",
    "{name} tumbles {move:.1f}% as brokerages downgrade the stock",
    "{name} drops {move:.1f}% amid concerns over margins and losses",
]
NEUTRAL = [
    "{name} to hold board meeting next week",
    "{name} announces date for annual general meeting",
    "{name} appoints new independent director",
]


def names_of(symbols: set[str]) -> dict[str, str]:
    """A name each symbol goes by in the news: its first alias that is not only capitals, else the ticker."""
    names = {}
    for alias, symbol in SymbolAlias.objects.filter(symbol__in=symbols).order_by("pk").values_list("alias", "symbol"):
        if symbol not in names and not alias.isupper():
            names[symbol] = alias
    return {symbol: names.get(symbol, symbol) for symbol in symbols}


def news_backfill_demo(now: datetime | None = None) -> int:
    """Add the simulated news; the number of articles added (0 where the demo wire has some already)."""
    now = now or timezone.now()
    source, _ = NewsSource.objects.get_or_create(name=SOURCE, defaults={"kind": NewsSource.Kind.FILE})
    if source.articles.exists():
        return 0
    symbols = dict(Instrument.objects.filter(exchange="NSE").values_list("pk", "tradingsymbol"))
    names = names_of(set(symbols.values()))
    stories: dict[datetime, list[RawArticle]] = defaultdict(list)
    closes: dict[int, list[tuple]] = defaultdict(list)
    for instrument_id, ts, close in (
        DayBar.objects.filter(instrument_id__in=symbols).order_by("ts").values_list("instrument_id", "ts", "close")
    ):
        closes[instrument_id].append((ts, float(close)))
    for instrument_id, series in closes.items():
        symbol = symbols[instrument_id]
        rng = random.Random(zlib.crc32(symbol.encode()))
        for (_, before), (ts, close) in zip(series, series[1:], strict=False):
            move = (close / before - 1) * 100
            day = ts.astimezone(IST).date()
            at = datetime.combine(day, time(16, 0), tzinfo=IST)
            if abs(move) >= 3.0:
                template = rng.choice(UP if move > 0 else DOWN)
            elif rng.random() < 0.03:
                template = rng.choice(NEUTRAL)
            else:
                continue
            title = template.format(name=names[symbol], move=abs(move))
            stories[at].append(RawArticle(title=title, url=f"https://demo.invalid/{symbol}/{day.isoformat()}"))
    rng = random.Random(7)
    for k, symbol in enumerate(sorted(rng.sample(sorted(names), min(6, len(names))))):
        at = now - timedelta(minutes=20 + 37 * k)
        move = rng.uniform(1.0, 4.0)
        title = rng.choice(UP if k % 2 == 0 else DOWN).format(name=names[symbol], move=move)
        stories[at].append(RawArticle(title=title, url=f"https://demo.invalid/{symbol}/today-{k}"))
    added, tagger = 0, tagger_build()
    for at in sorted(stories):
        if at <= now:
            added += len(articles_store(source, stories[at], at=at, tagger=tagger))
    aggregates_record(at=now)
    return added
