"""Storing news: fetching a source (with backoff when it fails), deduplicating, tagging and scoring
articles, and recording per-symbol aggregates."""

import hashlib
import logging
import re
import unicodedata
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from sentiment import metrics
from sentiment.analyzers import Analyzer, vader
from sentiment.models import Article, ArticleScore, ArticleSymbol, NewsSource, SymbolSentiment
from sentiment.selectors import WINDOWS, latest_cache_set, sentiment_at
from sentiment.sources import RawArticle, SourceError, file_articles, source_for
from sentiment.tagging import Tagger, tagger_build
from tradingsite.ist import IST

logger = logging.getLogger(__name__)
NOT_WORD = re.compile(r"[\W_]+")
INSERT_CHUNK = 500


def text_hash(title: str, day: date) -> str:
    """One story a day by its headline, however a source spaces, cases or punctuates it, in any script,
    whatever summary each site gives it. A headline that recurs on other days (a weekly column, "to
    hold board meeting") is another story on each."""
    normalised = NOT_WORD.sub(" ", unicodedata.normalize("NFKC", title).casefold()).strip()
    return hashlib.sha256(f"{day.isoformat()} {normalised}".encode()).hexdigest()


def http_only(url: str) -> str:
    """A link kept only where it is http or https: a feed's `javascript:` or `data:` link is dropped, and
    so is one that is not a URL at all (`http://[x`)."""
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return ""
    return url if scheme in ("http", "https") else ""


def articles_store(
    source: NewsSource,
    raws: list[RawArticle],
    *,
    at: datetime | None = None,
    tagger: Tagger | None = None,
    analyzer: Analyzer | None = None,
) -> list[Article]:
    """Store the articles not stored before (by URL, by this source's guid, by the day's normalised
    headline), each `available_at` `at` (now), tag them with symbols and score them with VADER (or
    `analyzer`); the new ones.

    The insert skips any row a unique constraint already holds, so two fetches of one source at once
    store each article once."""
    at = at or timezone.now()
    seen: set[str] = set()
    rows = []
    for raw in raws:
        url = http_only(raw.url)[:1000]
        digest = text_hash(raw.title, (raw.published_at or at).astimezone(IST).date())
        keys = {digest, "u:" + url if url else digest, "g:" + raw.guid if raw.guid else digest}
        if keys & seen:
            continue
        seen |= keys
        rows.append((source.pk, url, raw.guid[:500], raw.title, raw.summary, digest, raw.published_at, at))
    # In one order, so that two fetches inserting the same stories at once wait for each other, not deadlock.
    rows.sort(key=lambda row: row[5])
    new: list[Article] = []
    with transaction.atomic():
        with connection.cursor() as cursor:
            for start in range(0, len(rows), INSERT_CHUNK):
                chunk = rows[start : start + INSERT_CHUNK]
                values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s)"] * len(chunk))
                cursor.execute(
                    f"INSERT INTO {Article._meta.db_table} "
                    "(source_id, url, guid, title, summary, text_hash, published_at, available_at) "
                    f"VALUES {values} ON CONFLICT DO NOTHING RETURNING id, title, summary",
                    [value for row in chunk for value in row],
                )
                new += [
                    Article(pk=pk, source=source, title=title, summary=summary, available_at=at)
                    for pk, title, summary in cursor.fetchall()
                ]
        if new:
            articles_tag(new, tagger or tagger_build())
            articles_score(new, analyzer or vader(), at=at)
    metrics.count("fetched", source.name, len(raws))
    metrics.count("stored", source.name, len(new))
    return new


def articles_tag(articles: list[Article], tagger: Tagger) -> None:
    links = [
        ArticleSymbol(article_id=article.pk, symbol=tag.symbol, matched=tag.matched)
        for article in articles
        for tag in tagger.tags(article.text)
    ]
    ArticleSymbol.objects.bulk_create(links, ignore_conflicts=True)


def articles_score(articles: list[Article], analyzer: Analyzer, *, at: datetime | None = None) -> int:
    at = at or timezone.now()
    scores = analyzer.scores([article.text for article in articles])
    ArticleScore.objects.bulk_create(
        [
            ArticleScore(
                article_id=article.pk,
                analyzer=analyzer.name,
                version=analyzer.version,
                label=score.label,
                score=score.score,
                scored_at=at,
            )
            for article, score in zip(articles, scores, strict=True)
        ],
        ignore_conflicts=True,
    )
    metrics.count("scored", analyzer.name, len(articles))
    return len(articles)


def articles_score_pending(analyzer: Analyzer, *, batch: int = 64, limit: int = 4096) -> int:
    """Score, in batches, the articles this analyzer's version has not scored, newest first."""
    done = 0
    scored = ArticleScore.objects.filter(article=OuterRef("pk"), analyzer=analyzer.name, version=analyzer.version)
    while done < limit:
        pending = list(
            Article.objects.filter(~Exists(scored)).order_by("-available_at").only("title", "summary")[:batch]
        )
        if not pending:
            break
        done += articles_score(pending, analyzer)
    return done


def source_fetch(source: NewsSource, *, at: datetime | None = None) -> int:
    """Fetch one source and store what is new; a failure is recorded on the source (the error, and the
    next try after a backoff doubling from a minute) and counted, not raised. The number stored."""
    started = at or timezone.now()
    try:
        raws = source_for(source).fetch()
        # Available from when the fetch returned them (`at` where the caller fixes the time).
        new = len(articles_store(source, raws, at=at or timezone.now()))
    except Exception as exc:  # any failure of one source is that source's, reported, never the job's
        if not isinstance(exc, SourceError):
            logger.exception("news source %s failed", source.name)
        failures = NewsSource.objects.filter(pk=source.pk).values_list("failures", flat=True).first() or 0
        wait = min(60 * 2**failures, settings.NEWS_RETRY_MAX_SECONDS)
        NewsSource.objects.filter(pk=source.pk).update(
            last_error=f"{started:%Y-%m-%d %H:%M:%S} UTC: {exc}"[:2000],
            failures=F("failures") + 1,
            retry_at=started + timedelta(seconds=wait),
        )
        metrics.count("failures", source.name)
        return 0
    NewsSource.objects.filter(pk=source.pk).update(
        last_fetched_at=started, last_new=new, last_error="", failures=0, retry_at=None
    )
    return new


def sources_due(at: datetime | None = None) -> list[NewsSource]:
    at = at or timezone.now()
    due = NewsSource.objects.filter(enabled=True).exclude(kind=NewsSource.Kind.FILE)
    return [source for source in due.order_by("pk") if source.retry_at is None or source.retry_at <= at]


def file_import(path: Path, *, source_name: str = "file import", as_published: bool = False) -> list[Article]:
    """Articles from a file, available from now; with `as_published`, each from its own `published_at`
    (an archive whose dates are trusted, for backtests over the past: every row must have one)."""
    source, _ = NewsSource.objects.get_or_create(name=source_name, defaults={"kind": NewsSource.Kind.FILE})
    if source.kind != NewsSource.Kind.FILE:
        raise SourceError(f"source {source_name!r} is a {source.get_kind_display()}, not a file import")
    raws = file_articles(path)
    if not as_published:
        return articles_store(source, raws)
    undated = [raw.title for raw in raws if raw.published_at is None]
    if undated:
        raise SourceError(f"{path}: {len(undated)} articles have no published_at to be available from: {undated[0]!r}")
    by_time: dict[datetime, list[RawArticle]] = {}
    for raw in raws:
        by_time.setdefault(raw.published_at, []).append(raw)
    tagger, new = tagger_build(), []
    for published in sorted(by_time):
        new += articles_store(source, by_time[published], at=published, tagger=tagger)
    return new


def aggregates_record(*, at: datetime | None = None, analyzer: str | None = None) -> int:
    """Each symbol's sentiment over 15 minutes and over a day ending at `at` (to the minute), for every
    symbol with an article available in the day or in the day before (whose value is then none), stored
    (again, the same, if run twice); and its value as of `at` itself cached as the latest."""
    analyzer = analyzer or settings.SENTIMENT_ANALYZER
    now = at or timezone.now()
    at = now.replace(second=0, microsecond=0)
    day = WINDOWS[SymbolSentiment.Window.DAY]
    in_the_news = ArticleSymbol.objects.filter(article__available_at__gt=at - day, article__available_at__lte=at)
    # and those whose news has just aged out, so that their latest value says none (count 0)
    lately = SymbolSentiment.objects.filter(
        analyzer=analyzer, window=SymbolSentiment.Window.DAY, at__gt=at - 2 * day, at__lt=at, count__gt=0
    )
    symbols = set(in_the_news.values_list("symbol", flat=True)) | set(lately.values_list("symbol", flat=True))
    count, scores = 0, {}
    for symbol in sorted(symbols):
        latest = {}
        for window in WINDOWS:
            value = sentiment_at(symbol, at, window=window, analyzer=analyzer)
            SymbolSentiment.objects.update_or_create(
                symbol=symbol, analyzer=analyzer, window=window, at=at, defaults=value.figures()
            )
            # The history is kept to the minute; the latest value is as of now, the minute's articles too.
            latest[window] = value if now == at else sentiment_at(symbol, now, window=window, analyzer=analyzer)
            if latest[window].count:
                scores[(symbol, window)] = latest[window].decayed_mean
        latest_cache_set(symbol, analyzer, latest)
        count += 1
    metrics.symbol_scores_set(scores)
    return count
