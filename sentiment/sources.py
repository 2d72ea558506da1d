"""News sources behind one interface: `fetch()` returns the source's current articles as `RawArticle`s.

RSS and Atom feeds (feedparser), a JSON news API in NewsAPI's `/v2/everything` shape (its key from the
environment, NEWSAPI_KEY), and files (CSV or JSON Lines) for imports. A source raises `SourceError`
naming what went wrong; the fetch job records it on the source and goes on with the others.
"""

import csv
import html
import io
import json
import re
from calendar import timegm
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import requests
from django.conf import settings
from django.utils.dateparse import parse_datetime

from sentiment.models import NewsSource

TAGS = re.compile(r"<[^>]+>")
SPACES = re.compile(r"\s+")
SURROGATE = re.compile("[\ud800-\udfff]")
NEWS_YEARS = range(1900, 2100)


class SourceError(Exception):
    pass


@dataclass(frozen=True)
class RawArticle:
    title: str
    summary: str = ""
    url: str = ""
    guid: str = ""
    published_at: datetime | None = None


def plain(text: str) -> str:
    """Text from a feed's HTML fragment: tags dropped, entities decoded, whitespace collapsed."""
    return SPACES.sub(" ", html.unescape(TAGS.sub(" ", storable(text or "")))).strip()


def storable(text: str) -> str:
    """Text PostgreSQL can store, so that one article cannot fail the whole fetch's insert: NUL characters,
    which mean nothing in a feed, dropped; a lone surrogate (JSON's "\\ud800", which UTF-8 cannot encode)
    replaced by U+FFFD, as a decoder replaces a byte it cannot read."""
    text = text.replace("\x00", "")
    return text if text.isascii() else SURROGATE.sub("\ufffd", text)


class SourceServerError(Exception):
    """A 5xx answer, raised inside the circuit so it counts against the source."""

    def __init__(self, response: requests.Response):
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


def source_unreachable(exc: BaseException) -> bool:
    return isinstance(exc, requests.RequestException | SourceServerError)


def http_get(url: str, **options) -> requests.Response:
    """GET through the host's circuit breaker (tradingsite/circuit.py): a source that keeps timing out or
    failing with 5xx is skipped, at once, until its pause is over, instead of holding the fetch task for
    its timeout on every run."""
    from tradingsite.circuit import CircuitOpen, circuit

    breaker = circuit(f"news.{urlsplit(url).netloc}")
    try:
        with breaker.call(source_unreachable):
            response = requests.get(
                url,
                timeout=settings.NEWS_FETCH_TIMEOUT_SECONDS,
                headers={"User-Agent": settings.NEWS_USER_AGENT, **options.pop("headers", {})},
                **options,
            )
            if response.status_code >= 500:
                raise SourceServerError(response)
    except SourceServerError as exc:
        return exc.response  # counted against the source; the caller reports the status
    except CircuitOpen:
        raise SourceError(
            f"{url}: not fetched: the source failed {breaker.threshold} times in a row; "
            f"tried again in {breaker.retry_in():.0f} s"
        ) from None
    except requests.RequestException as exc:
        raise SourceError(f"{url}: {exc.__class__.__name__}: {exc}") from exc
    return response


class RssSource:
    def __init__(self, url: str):
        self.url = url

    def fetch(self) -> list[RawArticle]:
        response = http_get(self.url)
        if response.status_code != 200:
            raise SourceError(f"{self.url}: HTTP {response.status_code}")
        return rss_parse(response.content, self.url)


def rss_parse(content: bytes, where: str = "feed") -> list[RawArticle]:
    """The entries of an RSS or Atom document, as articles (entries without a title are left out)."""
    try:
        feed = feedparser.parse(content)
    except Exception as exc:  # noqa: BLE001 - bytes in, no I/O: whatever it raises, the document broke it
        # feedparser reports a malformed feed as `bozo`, but some documents break it instead: an XML
        # declaration whose encoding name is not text (UnicodeDecodeError) or holds a NUL (ValueError),
        # '<channel<item<link</item</link<' (KeyError 'links' in its loose parser).
        raise SourceError(
            f"{where}: not an RSS or Atom feed (feedparser failed on it: {exc.__class__.__name__}: {exc})"
        ) from exc
    if feed.bozo and not feed.entries:
        raise SourceError(f"{where}: not an RSS or Atom feed ({feed.bozo_exception})")
    articles = []
    for entry in feed.entries:
        title = plain(entry_text(entry, "title"))
        if not title:
            continue
        articles.append(
            RawArticle(
                title=title,
                summary=plain(entry_text(entry, "summary")),
                url=entry_text(entry, "link"),
                guid=entry_text(entry, "id"),
                published_at=feed_time(entry.get("published_parsed") or entry.get("updated_parsed")),
            )
        )
    return articles


def entry_text(entry, key: str) -> str:
    """A field of a feedparser entry as text: a broken entry can hold None, or a dict, where text belongs
    (a guid standing for a missing link leaves the link None; a stray <links> element makes it a dict)."""
    value = entry.get(key)
    return storable(value) if isinstance(value, str) else ""


def feed_time(stamp) -> datetime | None:
    """feedparser's UTC struct_time as an aware datetime; None, as feedparser gives for a date it cannot
    read, where it names no day a news item can have (feedparser passes on years such as -99 or 9999)."""
    if not stamp or stamp.tm_year not in NEWS_YEARS:
        return None
    try:
        return datetime.fromtimestamp(timegm(stamp), UTC)
    except (ValueError, OverflowError):  # a month or day out of range
        return None


class NewsApiSource:
    """NewsAPI's `GET /v2/everything?q=...`: `{"status": "ok", "articles": [...]}`, or on failure
    `{"status": "error", "code": ..., "message": ...}`."""

    def __init__(self, base_url: str, query: str, key: str):
        self.base_url = base_url.rstrip("/")
        self.query = query
        self.key = key

    def fetch(self) -> list[RawArticle]:
        if not self.key:
            raise SourceError("NEWSAPI_KEY is not set")
        allowed = urlsplit(settings.NEWSAPI_URL)
        asked = urlsplit(self.base_url)
        if (asked.scheme, asked.netloc) != (allowed.scheme, allowed.netloc):
            raise SourceError(
                f"the NewsAPI key is sent only to NEWSAPI_URL ({settings.NEWSAPI_URL}), not to {self.base_url}"
            )
        response = http_get(
            f"{self.base_url}/v2/everything",
            params={"q": self.query, "sortBy": "publishedAt", "pageSize": 100, "language": "en"},
            headers={"X-Api-Key": self.key},
        )
        return newsapi_articles(response, self.base_url)


def newsapi_articles(response: requests.Response, where: str) -> list[RawArticle]:
    """The articles of NewsAPI's answer; its error answer, or one not in its shape, is a SourceError."""
    try:
        body = response.json()
    except (ValueError, RecursionError) as exc:
        raise SourceError(f"{where}: HTTP {response.status_code}, not JSON") from exc
    if not isinstance(body, dict):
        raise SourceError(f"{where}: HTTP {response.status_code}, a JSON {type(body).__name__}, not NewsAPI's answer")
    if response.status_code != 200 or body.get("status") != "ok":
        raise SourceError(f"{where}: {body.get('code', response.status_code)}: {body.get('message', '')}")
    items = body.get("articles", [])
    if not isinstance(items, list):
        raise SourceError(f"{where}: `articles` is a JSON {type(items).__name__}, not a list")
    articles = [newsapi_article(item, f"{where}: article {number}") for number, item in enumerate(items, 1)]
    return [article for article in articles if article.title]


def newsapi_article(item, where: str) -> RawArticle:
    if not isinstance(item, dict):
        raise SourceError(f"{where} is a JSON {type(item).__name__}, not an object")
    fields = {name: item.get(name) for name in ("title", "description", "url", "publishedAt")}
    for name, value in fields.items():
        if value is not None and not isinstance(value, str):
            raise SourceError(f"{where}: {name} is a JSON {type(value).__name__}, not text")
    published = fields["publishedAt"]
    try:
        published_at = parse_datetime(published) if published else None
    except ValueError:  # in the format, but no such date or time
        published_at = None
    if published and (published_at is None or published_at.tzinfo is None or published_at.year not in NEWS_YEARS):
        raise SourceError(f"{where}: publishedAt {published!r} is not a time in ISO 8601 with an offset")
    return RawArticle(
        title=plain(fields["title"] or ""),
        summary=plain(fields["description"] or ""),
        url=storable(fields["url"] or ""),
        published_at=published_at,
    )


FILE_FIELDS = ("title", "summary", "url", "guid", "published_at")


def file_articles(path: Path) -> list[RawArticle]:
    """Articles from a CSV file (a header row naming at least `title`) or JSON Lines (one object per
    line); the fields `title`, `summary`, `url`, `guid`, `published_at` (ISO 8601 with an offset)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"{path}: {exc}") from exc
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        rows = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise SourceError(f"{path} line {number}: not JSON ({exc})") from exc
            if not isinstance(row, dict):
                raise SourceError(f"{path} line {number}: not a JSON object")
            rows.append((number, row))
    else:
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames or "title" not in reader.fieldnames:
            raise SourceError(f"{path}: the header row must name a `title` column")
        rows = list(enumerate(reader, 2))
    articles = []
    for number, row in rows:
        title = plain(str(row.get("title") or ""))
        if not title:
            raise SourceError(f"{path} line {number}: no title")
        published = row.get("published_at") or None
        published_at = parse_datetime(published) if published else None
        if published and (published_at is None or published_at.tzinfo is None):
            raise SourceError(f"{path} line {number}: published_at {published!r} is not ISO 8601 with an offset")
        articles.append(
            RawArticle(
                title=title,
                summary=plain(str(row.get("summary") or "")),
                url=str(row.get("url") or ""),
                guid=str(row.get("guid") or ""),
                published_at=published_at,
            )
        )
    return articles


def source_for(row: NewsSource):
    if row.kind == NewsSource.Kind.RSS:
        return RssSource(row.url)
    if row.kind == NewsSource.Kind.NEWSAPI:
        return NewsApiSource(row.url or settings.NEWSAPI_URL, row.query, settings.NEWSAPI_KEY)
    raise SourceError(f"source {row.name} is a {row.get_kind_display()}: it is imported, not fetched")
