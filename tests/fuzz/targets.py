"""Fuzz targets for the parsers that take outside input (issue 21), shared by the brief pytest runs
(tests/fuzz/test_fuzz.py) and the long atheris runs (tests/fuzz/run.py).

Each target takes bytes, feeds them to one parser the way production does, and lets through only the
errors that parser documents: anything else (a KeyError, a struct.error, an InvalidOperation, a
UnicodeDecodeError...) is a crash. Where the parser's output goes on to be stored, the target also checks
that the next step could store it (text without NUL, numbers that fit their columns, aware times), so a
bad value is refused by the parser, naming it, rather than failing later in the database.

Seeds are built here from the documented formats, with the fakes' builders where they exist.
"""

import atexit
import contextlib
import json
import shutil
import struct
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import requests
from django.db import transaction

from sentiment.services import http_only
from sentiment.sources import RawArticle, SourceError, newsapi_articles, rss_parse
from tests.fakes.kite import (
    FakeKite,
    full_packet,
    quote_packet,
    sample_full_packet,
    ticker_frame,
)
from tests.fakes.news import Item, NewsSite
from tests.fuzz.world import PostbackWorld
from trading.feeds.base import FeedInstrument
from trading.feeds.kite import KiteFeed
from trading.kite.updates import UpdateRefused, kite_postback_receive
from trading.market.bars import month_after, month_start, price_stored
from trading.market.bars_csv import bars_csv_read
from trading.market.instruments import instruments_read
from trading.models import Instrument
from tradingsite.exceptions import ValidationError
from tradingsite.ist import IST

PRICE_MOST = Decimal(10) ** 12  # PRICE columns: 14 digits, 2 of them decimal places
BIGINT_MOST = 2**63 - 1


def clear(error: Exception) -> None:
    """A refusal must say what is wrong: a bare exception's text (decimal's "[<class ...>]") does not."""
    message = str(error)
    assert message and "<class '" not in message, f"an unclear error: {message!r}"


def storable_text(value, what: str) -> None:
    assert isinstance(value, str), f"{what} is {type(value).__name__}, not text: {value!r}"
    assert "\x00" not in value, f"{what} holds a NUL character, which PostgreSQL cannot store: {value!r}"
    value.encode()  # a lone surrogate (JSON's "\\ud800") cannot be sent to PostgreSQL either


# --- Kite's ticker -------------------------------------------------------------------------------------


class EveryInstrument(dict):
    """The feed's instruments as a mapping that knows every token, so every packet becomes a tick.
    Currency derivatives (segment 3) tick in 0.0025, as they do at Kite; the rest in 0.05."""

    def get(self, token, default=None):
        tick = Decimal("0.0025") if isinstance(token, int) and token & 0xFF == 3 else Decimal("0.05")
        return FeedInstrument(1, token, "FUZZ", tick, Decimal("100"))


@dataclass
class TickerRig:
    feed: KiteFeed
    ticker: object  # the KiteTicker the feed made, its callbacks set as for a live connection


_ticker_rig: TickerRig | None = None


def ticker_rig() -> TickerRig:
    global _ticker_rig
    if _ticker_rig is None:
        instrument = FeedInstrument(1, 408065, "INFY", Decimal("0.05"), Decimal("1500"))
        feed = KiteFeed([instrument], api_key="fuzz", access_token="fuzz", mode="full")
        feed.instruments = EveryInstrument()
        _ticker_rig = TickerRig(feed=feed, ticker=feed.ticker_make(0))
    rig = _ticker_rig
    rig.feed.pending.clear()
    rig.feed.day_volume.clear()
    rig.feed.updates.clear()
    return rig


def kite_ticker(data: bytes) -> None:
    """A binary message from Kite's websocket, through KiteTicker's own message handling (its frame and
    packet parsing) into the feed's `on_ticks`. No frame may break the connection: nothing is let through."""
    rig = ticker_rig()
    rig.ticker._on_message(None, data, True)


def kite_ticker_text(data: bytes) -> None:
    """A text message from Kite's websocket (order updates, errors), through KiteTicker into the feed's
    queue of order updates."""
    try:
        data.decode()
    except UnicodeDecodeError:
        return  # autobahn fails a connection whose text message is not UTF-8 (RFC 6455) before kiteconnect sees it
    rig = ticker_rig()
    rig.ticker._on_message(None, data, False)
    for update in rig.feed.updates:  # the feed loop hands each to kite_ticker_order_update, which reads it as one
        assert isinstance(update, dict), f"the feed queued an order update that is not an object: {update!r}"


def ticker_seeds() -> list[bytes]:
    at = datetime(2021, 7, 5, 10, 41, 27, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    quote = quote_packet(408065, 1573.15, last_quantity=1, average_price=1570.33, volume=1175986)
    index_quote = struct.pack(">7i", 256265, 1500000, 1510000, 1490000, 1495000, 1498000, 0)
    return [
        ticker_frame([quote]),
        ticker_frame([sample_full_packet()]),
        ticker_frame([struct.pack(">II", 408065, 157315)]),  # LTP mode
        ticker_frame([index_quote, index_quote + struct.pack(">I", int(at.timestamp()))]),  # an index's quote, full
        ticker_frame([full_packet(1591555, 82.5, last_trade_time=at, timestamp=at, buy=[(1, 82.4975, 1)])]),  # CDS
        ticker_frame([quote, sample_full_packet(), struct.pack(">II", 738561, 250000)]),
    ]


def ticker_text_seeds() -> list[bytes]:
    kite = FakeKite(api_key="fuzz", api_secret="fuzz", redirect_url="http://testserver/")
    order_id = kite.order_new({"tradingsymbol": "INFY", "quantity": "2", "order_type": "MARKET", "tag": "t" * 20})
    return [
        json.dumps({"type": "order", "data": kite.message(order_id)}).encode(),
        json.dumps({"type": "error", "data": "Invalid access token"}).encode(),
        json.dumps({"type": "message", "data": "Subscription limit reached"}).encode(),
    ]


# --- Kite's postbacks ----------------------------------------------------------------------------------

postback_world: PostbackWorld | None = None  # set by the pytest fixture or the atheris runner


@contextlib.contextmanager
def rolled_back():
    """Whatever the body does to the database is undone, so every input meets the same state."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def kite_postback(data: bytes) -> None:
    """A postback's body as Kite's POST brings it. Refused bodies raise UpdateRefused (a 4xx); nothing else
    may escape."""
    assert postback_world is not None, "the postback targets need the database world (tests/fuzz/world.py)"
    with rolled_back():
        try:
            kite_postback_receive(data)
        except UpdateRefused as refused:
            clear(refused)


def kite_postback_signed(data: bytes) -> None:
    """A postback body re-signed with the app's secret before it is received. Kite's checksum covers only
    order_id and order_timestamp, so anyone holding one real postback can send any other fields with it:
    everything past the checksum is outside input too."""
    try:
        update = json.loads(data)
    except (ValueError, RecursionError):
        return  # the unsigned target covers bodies that are not JSON
    if not isinstance(update, dict):
        return
    with contextlib.suppress(UnicodeEncodeError):  # a lone surrogate cannot be signed: sent as it is
        update["checksum"] = postback_world.checksum(update)
    kite_postback(json.dumps(update).encode())


def postback_seeds() -> list[bytes]:
    world = postback_world
    order_id = world.order.broker_order_id
    messages = [
        world.message(),
        world.message(status="CANCELLED", exchange_update_timestamp="2026-11-24 09:16:00"),
        world.message(status="REJECTED", status_message="RMS: margin exceeds"),
        world.message(status="COMPLETE", filled_quantity=10, average_price=1494.95),
        world.message(status="OPEN", filled_quantity=4, pending_quantity=6, average_price=1495.0),
        world.message(status="TRIGGER PENDING"),
        world.message(order_id="", tag=world.tag),  # before the placement's answer: matched by its tag
        world.message(order_id="999999", tags=[world.tag]),
        world.message(quantity=12),
        {**world.message(), "checksum": "0" * 64},
        {"order_id": order_id},
    ]
    return [json.dumps(message).encode() for message in messages] + [b"", b"null", b"[]", b"{"]


# --- Kite's instruments CSV ----------------------------------------------------------------------------


def instruments_csv(data: bytes) -> None:
    """Kite's instrument dump, read as `instruments_import` reads it before it writes anything. A row it
    accepts must fit the instrument's columns."""
    try:
        rows = instruments_read(data)
    except ValidationError as refused:
        clear(refused)
        return
    for line, fields in rows:
        for name in ("tradingsymbol", "name", "exchange", "segment", "instrument_type"):
            storable_text(fields[name], f"line {line} {name}")
        # The model's own checks: lengths, digits and places, the integer columns' ranges.
        Instrument(**fields).clean_fields()


def instruments_seeds() -> list[bytes]:
    dump = FakeKite(api_key="fuzz", api_secret="fuzz", redirect_url="http://testserver/").instrument_dump(None)
    derivatives = (
        "12517890,48898,NIFTY26DEC24000CE,NIFTY,105.5,2026-12-31,24000.0,0.05,75,CE,NFO-OPT,NFO\n"
        "1591554,6217,USDINR26DECFUT,USDINR,83.4525,2026-12-29,0.0,0.0025,1,FUT,CDS-FUT,CDS\n"
        "256265,1001,NIFTY 50,NIFTY 50,0.0,,0.0,0.0,0,EQ,INDICES,NSE\n"
    )
    return [
        dump,
        dump + derivatives.encode(),
        b"\xef\xbb\xbf" + dump,  # with a byte-order mark
        dump.replace(b"INFOSYS", "SOCI\xc9T\xc9".encode("cp1252")),  # Latin-1 text
        dump.splitlines(keepends=True)[0],
    ]


# --- CSV bars ------------------------------------------------------------------------------------------

_bars_dir = Path(tempfile.mkdtemp(prefix="fuzz-bars-"))
atexit.register(shutil.rmtree, _bars_dir, ignore_errors=True)


def bars_csv(data: bytes) -> None:
    """A bars CSV file; the first byte chooses minute rows (bit 0) and --adjusted (bit 1). Refusals are
    ValidationErrors; a row it returns must be one `bars_store` can write."""
    flags, content = (data[0], data[1:]) if data else (0, b"")
    interval, adjusted = ("minute" if flags & 1 else "day"), bool(flags & 2)
    path = _bars_dir / "INFY.csv"
    path.write_bytes(content)
    try:
        bars = bars_csv_read(path, interval=interval, adjusted=adjusted)
    except ValidationError as refused:
        clear(refused)
        return
    for ts, *prices, volume in bars.rows:
        assert ts.tzinfo is not None and ts.astimezone(UTC)
        if interval == "minute":
            month_after(month_start(ts))  # the partition the row goes to
        stored = [price_stored(price) for price in prices]
        assert all(0 < price < PRICE_MOST for price in stored), f"prices {prices} are stored as {stored}"
        assert stored[2] <= min(stored[0], stored[3]) and stored[1] >= max(stored[0], stored[3])
        assert isinstance(volume, int) and 0 <= volume <= BIGINT_MOST, f"volume {volume}"


def bars_seeds() -> list[bytes]:
    daily = (
        "Date,Open,High,Low,Close,Adj Close,Volume\n"
        "2024-01-02,1500.00,1512.35,1495.10,1508.40,1490.21,5123456\n"
        "2024-01-03,1508.40,1520.00,1501.00,1503.15,1485.02,4987001\n"
        "2024-01-04,null,null,null,null,null,null\n"
    )
    minute = (
        "timestamp,open,high,low,close,volume\n"
        "2024-01-02T09:15:00+05:30,1500,1501.5,1499,1500.5,1200\n"
        "2024-01-02 09:16:00,1500.5,1502,1500,1501.75,900\n"
    )
    return [b"\x00" + daily.encode(), b"\x02" + daily.encode(), b"\x01" + minute.encode(), b"\x00Date;Open\n"]


# --- News feeds ----------------------------------------------------------------------------------------


def storable_articles(articles: list[RawArticle]) -> None:
    """What `articles_store` needs of an article: text fields without NUL, a title, an aware time."""
    for article in articles:
        for name in ("title", "summary", "url", "guid"):
            storable_text(getattr(article, name), name)
        assert article.title, "an article without a title"
        http_only(article.url)
        if article.published_at is not None:
            assert isinstance(article.published_at, datetime) and article.published_at.tzinfo is not None
            article.published_at.astimezone(IST)


def news_rss(data: bytes) -> None:
    """An RSS or Atom document as a news site serves it; refusals are SourceErrors."""
    try:
        articles = rss_parse(data)
    except SourceError as refused:
        clear(refused)
        return
    storable_articles(articles)


NEWSAPI_STATUSES = (200, 400, 401, 429, 500)


def news_api(data: bytes) -> None:
    """NewsAPI's answer to `/v2/everything`: the first byte chooses the HTTP status, the rest is the body
    (served as application/json, as NewsAPI serves it). Refusals are SourceErrors."""
    response = requests.Response()
    response.status_code = NEWSAPI_STATUSES[data[0] % len(NEWSAPI_STATUSES)] if data else 200
    response.headers["Content-Type"] = "application/json; charset=utf-8"
    response.encoding = requests.utils.get_encoding_from_headers(response.headers)
    response._content = data[1:]
    try:
        articles = newsapi_articles(response, "https://newsapi.org")
    except SourceError as refused:
        clear(refused)
        return
    storable_articles(articles)


def news_seeds() -> list[bytes]:
    published = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    items = [
        Item("Infosys wins <b>large</b> deal &amp; more", "A summary", "https://news.example/1", "g1", published),
        Item("RBI holds rates", link="https://news.example/2"),
        Item("", summary="no title"),
    ]
    site = NewsSite(url="https://news.example")
    return [site.rss(items), site.atom_feed(items), site.rss([]), b"<rss", b"not a feed"]


def newsapi_seeds() -> list[bytes]:
    article = {
        "source": {"id": None, "name": "Wire"},
        "author": None,
        "title": "Infosys wins large deal",
        "description": "<p>The deal is worth $1.5bn</p>",
        "url": "https://news.example/1",
        "urlToImage": None,
        "publishedAt": "2026-01-05T09:30:00Z",
        "content": None,
    }
    ok = {"status": "ok", "totalResults": 2, "articles": [article, {**article, "publishedAt": None, "title": " "}]}
    error = {"status": "error", "code": "apiKeyInvalid", "message": "Your API key is invalid or incorrect."}
    return [b"\x00" + json.dumps(ok).encode(), b"\x02" + json.dumps(error).encode(), b"\x00<html>", b"\x04"]


# Tokens for libFuzzer's dictionaries (-dict): what a byte-level mutation rarely makes by chance.
TICKER_WORDS = (b"\x00\x01", b"\x00\x02", b"\x00\x08", b"\x00\x1c", b"\x00\x20", b"\x00\x2c", b"\x00\xb8", b"\xff\xff")
JSON_WORDS = (
    *(b'"%s"' % word for word in (b"\\u0000", b"\\u00e9", b"0001-01-01 00:00:00", b"9999-12-31 23:59:59")),
    *(b'"%s"' % word for word in (b"2024-13-45T00:00:00Z", b"http://[x", b"type", b"order", b"data", b"error")),
    *(b'"%s"' % word for word in (b"status", b"CANCELLED", b"REJECTED", b"COMPLETE", b"OPEN", b"TRIGGER PENDING")),
    *(b'"%s"' % word for word in (b"filled_quantity", b"quantity", b"status_message", b"exchange_update_timestamp")),
    *(b'"%s"' % word for word in (b"tag", b"tags", b"order_id", b"checksum", b"user_id", b"articles", b"ok")),
    *(b'"%s"' % word for word in (b"title", b"description", b"url", b"publishedAt")),
    *(b"1e999", b"-1", b"4294967296", b"null", b"[]", b"{}", b"NaN", b"Infinity", b"[[[[[[[[[["),
)
CSV_WORDS = (b"NaN", b"Infinity", b"1e999", b"1e9999999", b"-1", b"0.00001", b"0.001", b"null", b"Adj Close")
CSV_WORDS += (b"\r", b"\x00", b'"', b",", b"0001-01-01", b"9999-12-31", b"2024-01-02T09:15:00+05:30", b"\xef\xbb\xbf")
XML_WORDS = (b"<![CDATA[", b"]]>", b"&#0;", b"&amp;", b'<?xml version="1.0" encoding="', b"<pubDate>", b"<updated>")
XML_WORDS += (b"<link>", b"<guid>", b"<id>", b"<entry>", b"<item>", b"<title>", b"GMT", b"\x00", b"http://[")


@dataclass(frozen=True)
class Target:
    run: Callable[[bytes], None]
    seeds: Callable[[], list[bytes]]
    words: tuple[bytes, ...] = ()
    database: bool = False  # needs the postback world (tests/fuzz/world.py)


TARGETS = {
    "kite_ticker": Target(kite_ticker, ticker_seeds, TICKER_WORDS),
    "kite_ticker_text": Target(kite_ticker_text, ticker_text_seeds, JSON_WORDS),
    "kite_postback": Target(kite_postback, postback_seeds, JSON_WORDS, database=True),
    "kite_postback_signed": Target(kite_postback_signed, postback_seeds, JSON_WORDS, database=True),
    "instruments_csv": Target(instruments_csv, instruments_seeds, CSV_WORDS),
    "bars_csv": Target(bars_csv, bars_seeds, CSV_WORDS),
    "news_rss": Target(news_rss, news_seeds, XML_WORDS),
    "news_api": Target(news_api, newsapi_seeds, JSON_WORDS),
}
