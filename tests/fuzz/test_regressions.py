"""The inputs the fuzzers (and the review of their findings) broke the parsers with, each by name, and the
clear refusal (or the harmless reading) each now gets."""

import json
import struct
from decimal import Decimal

import pytest
import requests

from sentiment.models import Article, NewsSource
from sentiment.services import articles_store, http_only
from sentiment.sources import SourceError, newsapi_articles, rss_parse
from tests.fakes.kite import FakeKite, FakeTicker, packet_with, sample_full_packet, ticker_frame
from tests.fuzz import targets
from tests.fuzz.world import postback_world_make
from tests.threads import wait_for
from tests.trading.test_kite_feed import INFY, feed_for, run_with
from trading.feeds.kite import frame_packets
from trading.kite.updates import UpdateRefused, kite_postback_receive
from trading.market.bars_csv import bars_csv_read
from trading.market.instruments import instruments_import
from trading.models import BrokerUpdate, Instrument, Order
from tradingsite.exceptions import ValidationError

D = Decimal

# --- Kite's ticker -------------------------------------------------------------------------------------

FULL = sample_full_packet()
# Announces two full packets and holds one: kiteconnect's own parsing raised struct.error reading the
# second's length, and so it did for a packet shorter than an instrument token (4 bytes).
FRAME_CUT_SHORT = struct.pack(">H", 2) + ticker_frame([FULL])[2:]


def test_a_frame_cut_short_keeps_its_whole_packets():
    assert frame_packets(FRAME_CUT_SHORT) == (
        [FULL],
        "a binary frame of 188 bytes announces 2 packets and breaks off in packet 2",
    )
    assert frame_packets(ticker_frame([FULL, FULL])[:-100]) == (
        [FULL],
        "a binary frame of 274 bytes announces 2 packets and breaks off in packet 2",
    )
    assert frame_packets(ticker_frame([b"\x00\x01", FULL])) == ([FULL], None)  # a size kiteconnect skips


def test_a_frame_cut_short_leaves_the_connection_up_and_the_next_frame_ticks():
    ticker = FakeTicker(api_key="kiteapp1", access_tokens={"day-token"}).start()
    feed = feed_for(ticker, [INFY], mode="full")

    def script(ticks):
        wait_for(lambda: ticker.subscribed() == {408065: "full"}, what="the subscription")
        for connection in ticker.live():
            connection.socket.send(FRAME_CUT_SHORT)
        wait_for(lambda: len(ticks) == 1, what="the broken frame's whole packet")
        ticker.send_ticks(lambda token, mode: packet_with(FULL, paise=150500))
        wait_for(lambda: len(ticks) == 2, what="the next frame's tick")

    try:
        ticks = run_with(feed, script)
    finally:
        ticker.stop()

    # Before, the struct.error reached autobahn, which dropped the connection: no tick until a reconnection.
    assert [str(tick.price) for tick in ticks] == ["1573.70", "1505.00"]
    assert (ticker.opened, feed.reconnects) == (1, 0)


@pytest.mark.parametrize("message", [b"1", b'"text"', b"[" * 5000, b'{"type": "order", "data": [1]}'])
def test_text_messages_that_are_not_objects_are_ignored(message):
    # kiteconnect raised AttributeError on `1`; an order message whose data was a list reached the feed
    # loop, whose error handler then raised on it.
    targets.kite_ticker_text(message)

    assert list(targets.ticker_rig().feed.updates) == []


# --- Kite's postbacks ----------------------------------------------------------------------------------


@pytest.fixture
def world(db, settings):
    world = postback_world_make(settings)
    yield world
    world.stop()


def receive(world, **changes) -> str:
    return kite_postback_receive(json.dumps(world.message(**changes)).encode())


def test_a_checksum_with_non_ascii_characters_is_refused_not_a_type_error(world):
    # hmac.compare_digest raised TypeError on str with non-ASCII characters: a 500 for anyone.
    body = json.dumps({**world.message(), "checksum": "é" * 64}).encode()

    with pytest.raises(UpdateRefused, match="checksum of the postback .* does not match"):
        kite_postback_receive(body)


@pytest.mark.parametrize(
    "body, reason",
    [
        (b'{"order_id": "\\u0000"}', "holds a NUL character"),  # PostgreSQL's DataError before
        (b'{"order_id": "1", "user_id": "ZX\\u0000"}', "holds a NUL character"),
        (b'{"order_id": "\\ud800"}', "holds a lone surrogate"),  # UnicodeEncodeError in the query before
        (b'{"order_id": "1", "user_id": "\\udddd"}', "holds a lone surrogate"),
        (b'{"order_id": "1", "meta": ' + b"[" * 20 + b"]" * 20 + b"}", "nested deeper than 8 levels"),
        (b"[" * 100_000, "not JSON: maximum recursion depth"),  # RecursionError before
    ],
)
def test_bodies_postgresql_or_the_parser_could_not_take_are_refused_as_malformed(world, body, reason):
    with pytest.raises(UpdateRefused, match=reason):
        kite_postback_receive(body)


@pytest.mark.parametrize(
    "changes, reason",
    [
        ({"filled_quantity": float("inf")}, "filled_quantity inf is not a quantity"),  # OverflowError before
        ({"filled_quantity": -5}, "filled_quantity -5 is not a quantity"),  # refused as "a replay" before
        ({"filled_quantity": 2**40}, "filled_quantity 1099511627776 is not a quantity"),
        ({"exchange_update_timestamp": "0001-01-01 00:00:00"}, "is not between 1900 and 2099"),
    ],
)
def test_signed_updates_with_impossible_quantities_or_times_are_refused_as_malformed(world, changes, reason):
    with pytest.raises(UpdateRefused, match=reason):
        receive(world, **changes)
    assert not BrokerUpdate.objects.exists()


def test_an_update_of_year_one_no_longer_breaks_every_later_update_of_its_order(world):
    # Year 1 IST is 1 BC in UTC: stored, it made every later update fail reading the order's newest one.
    with pytest.raises(UpdateRefused):
        receive(world, exchange_update_timestamp="0001-01-01 00:00:00")

    assert receive(world, status="CANCELLED", exchange_update_timestamp="2026-11-24 09:20:00") == "cancelled"


def test_a_cancellation_whose_message_is_longer_than_the_column_is_applied(world):
    # The reason went whole into a 512-character column: PostgreSQL's DataError, a 500.
    assert receive(world, status="CANCELLED", status_message="x" * 600) == "cancelled"

    order = Order.objects.get(pk=world.order.pk)
    assert order.status == Order.Status.CANCELLED and len(order.status_message) == 512


# --- Kite's instruments CSV ----------------------------------------------------------------------------

DUMP = FakeKite(api_key="k", api_secret="s", redirect_url="http://testserver/").instrument_dump(None).decode()


@pytest.mark.parametrize(
    "old, new, message",
    [
        (",NSE,NSE", "," + "S" * 20 + ",NSE", "line 2: segment 'SSSSSSSSSSSSSSSSSSSS': .*at most 16 characters"),
        ("INFOSYS", "INFO\x00SYS", r"line 2: name 'INFO\\x00SYS' holds a NUL character"),
        ("INFOSYS", "I" * 200_000, r"line 2: not readable as CSV \(field larger than field limit"),
        ("0.05", "0.00001", "line 2: tick_size .*no more than 4 decimal places"),
        ("0.05", "NaN", "line 2: tick_size 'NaN' is not a number"),
        ("0.0,,0.0", "1e30,,0.0", "line 2: last_price '1e30' is too large for a price"),
        (",1,EQ", ",99999999999,EQ", "line 2: lot_size 99999999999: .*less than or equal to"),
    ],
)
def test_rows_the_columns_cannot_hold_are_refused_by_line_and_field_and_nothing_is_stored(db, old, new, message):
    # Each passed the parser and failed in PostgreSQL (DataError) or was rounded there (a tick of 0.0000).
    raw = DUMP.replace(old, new, 1).encode()

    with pytest.raises(ValidationError, match=message):
        instruments_import(raw)
    assert not Instrument.objects.exists()


def test_a_lone_carriage_return_ends_a_line_instead_of_raising_csv_error(db):
    # csv.Error ("new-line character seen in unquoted field") escaped before.
    raw = DUMP.replace("\n", "\r").encode()

    assert str(instruments_import(raw)) == "5 instruments created, 0 updated"


# --- CSV bars ------------------------------------------------------------------------------------------

HEADER = "Date,Open,High,Low,Close,Adj Close,Volume\n"


@pytest.mark.parametrize(
    "content, adjusted, message",
    [
        ((HEADER + "2024-01-02,1,2,1,1,1,5\n").encode() + b"\xff\n", False, r"line 3: not UTF-8 text \(byte 0xff"),
        (HEADER + "2024-01-02,1,2,1,1,1," + "5" * 200_000, False, r"line 2: not readable as CSV \(field larger"),
        (HEADER + "2024-01-02,1,150\x031.5,1,1,1,5\n", False, r"high '150\\x031.5' is not a number"),
        (HEADER + "2024-01-02,1,2,1,1,1,1e9999999\n", False, "volume '1e9999999' is not a number of shares"),
        (HEADER + "0001-01-02,1,2,1,1,1,5\n", False, "'0001-01-02' is not between 1900 and 2099"),
        (HEADER + "2024-01-02,0.001,0.002,0.001,0.001,1,5\n", False, "prices must lie from 0.01 to 999999999999.99"),
        (HEADER + "2024-01-02,1,2,1,1,0,5\n", True, "Adj Close '0' is not a price"),
        (HEADER + "2024-01-02,1510,1512.3,1e999999910,10,16,5\n", True, "prices must lie from 0.01"),  # Overflow
        (HEADER + "2024-01-02,1,2,1,1,abc,5\n", True, "adj_close 'abc' is not a number"),
    ],
)
def test_bar_files_that_cannot_be_stored_are_refused_by_line_and_reason(tmp_path, content, adjusted, message):
    # Before: UnicodeDecodeError, csv.Error, "[<class 'decimal.ConversionSyntax'>]", an int of ten million
    # digits (minutes of work), a year-1 bar that broke the minute partitions, a 0.00 price stored,
    # decimal.Overflow scaling a huge price by Adj Close / Close.
    path = tmp_path / "INFY.csv"
    path.write_bytes(content.encode() if isinstance(content, str) else content)

    with pytest.raises(ValidationError, match=message):
        bars_csv_read(path, interval="day", adjusted=adjusted)


def test_a_bar_file_with_a_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "INFY.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (HEADER + "2024-01-02,1,2,1,1.5,1.5,5\n").encode())

    assert [row[1:] for row in bars_csv_read(path, interval="day").rows] == [(D(1), D(2), D(1), D("1.5"), 5)]


# --- News feeds ----------------------------------------------------------------------------------------

RSS = (
    '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Markets</title>'
    "<item><title>{title}</title>{rest}</item></channel></rss>"
)


def test_a_title_with_nul_characters_is_stored_without_them(db):
    # PostgreSQL refused the whole fetch's insert: no article of the feed was stored.
    source = NewsSource.objects.create(name="Wire", kind=NewsSource.Kind.RSS, url="https://news.example/rss")
    feed = RSS.format(title="RBI\x00 holds rates", rest="<link>https://news.example/1\x00</link>").encode()

    articles_store(source, rss_parse(feed))

    assert list(Article.objects.values_list("title", "url")) == [("RBI holds rates", "https://news.example/1")]


@pytest.mark.parametrize(
    "document, error",
    [
        (b'<?xml version="1.0" encoding="\xfe\xff"?><rss/>', "UnicodeDecodeError"),
        (b'<?xml version="1.0" encoding="<\x00?\x00"?><rss/>', "ValueError: embedded null character"),
        (b"<channel<item<link</item</link<", "KeyError: 'links'"),
    ],
)
def test_documents_that_break_feedparser_are_source_errors(document, error):
    # feedparser raised these instead of flagging the document as malformed (bozo).
    with pytest.raises(SourceError, match=f"not an RSS or Atom feed \\(feedparser failed on it: {error}"):
        rss_parse(document)


@pytest.mark.parametrize(
    "rest",
    [
        "<id<s</id<",  # feedparser gives the entry a link of None (AttributeError on storing it before)
        "<updated>00</updated>",  # feedparser reads year -99 (ValueError in timegm before)
        "<links w<link>",  # feedparser gives the entry a link that is a dict (AttributeError on storing it before)
    ],
)
def test_entries_feedparser_leaves_without_a_link_or_a_readable_date_are_kept_without_them(rest):
    (article,) = rss_parse(RSS.format(title="RBI holds rates", rest=rest).encode())

    assert (article.title, article.url, article.published_at) == ("RBI holds rates", "", None)


def newsapi(body: bytes, status: int = 200) -> requests.Response:
    response = requests.Response()
    response.status_code, response.encoding, response._content = status, "utf-8", body
    return response


@pytest.mark.parametrize(
    "body, message",
    [
        (b"0", "a JSON int, not NewsAPI's answer"),  # AttributeError before
        (b'{"status": "ok", "articles": {}}', "`articles` is a JSON dict, not a list"),
        (b'{"status": "ok", "articles": [1]}', "article 1 is a JSON int, not an object"),
        (b'{"status": "ok", "articles": [{"title": 5}]}', "article 1: title is a JSON int, not text"),
        (
            b'{"status": "ok", "articles": [{"title": "t", "publishedAt": "2024-13-45T00:00:00Z"}]}',
            "publishedAt '2024-13-45T00:00:00Z' is not a time in ISO 8601 with an offset",
        ),
        (b"[" * 100_000, "HTTP 200, not JSON"),
    ],
)
def test_newsapi_answers_not_in_its_shape_are_source_errors(body, message):
    with pytest.raises(SourceError, match=message):
        newsapi_articles(newsapi(body), "https://newsapi.org")


def test_a_lone_surrogate_in_newsapis_text_is_replaced_not_sent_to_postgresql():
    # UTF-8 cannot encode "\ud800": storing the article raised UnicodeEncodeError for the whole fetch.
    body = b'{"status": "ok", "articles": [{"title": "RBI \\ud800 holds", "url": "https://a.example/\\udc00"}]}'

    (article,) = newsapi_articles(newsapi(body), "https://newsapi.org")

    assert (article.title, article.url) == ("RBI \ufffd holds", "https://a.example/\ufffd")


def test_a_link_that_is_not_a_url_is_dropped_not_raised():
    # urlsplit raised ValueError ("Invalid IPv6 URL") while the articles were stored.
    assert http_only("http://[x") == ""
    assert http_only("https://news.example/1") == "https://news.example/1"


def test_the_ticker_packets_of_an_index_parse_too():
    index = struct.pack(">7i", 256265, 1500000, 1510000, 1490000, 1495000, 1498000, 0)

    assert frame_packets(ticker_frame([index])) == ([index], None)
