"""News sources: feeds and NewsAPI served on loopback, and files, stored once each, tagged and scored;
a failing source is reported and retried later without holding up the others."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from sentiment.models import Article, ArticleScore, NewsSource
from sentiment.services import articles_store, file_import, source_fetch, sources_due
from sentiment.sources import RawArticle, SourceError
from tests.conftest import metrics_scrape
from tests.fakes.news import Item

pytestmark = pytest.mark.django_db
PUBLISHED = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)


def metric(client, series: str) -> float:
    """A series' value on /metrics (0 where it is absent)."""
    for line in metrics_scrape(client).splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def rss(site, path="/markets.xml", name="Markets"):
    return NewsSource.objects.create(name=name, kind=NewsSource.Kind.RSS, url=site.url + path)


def test_an_rss_feed_becomes_articles_tagged_with_symbols_and_scored(news_site):
    news_site.feeds["/markets.xml"] = [
        Item(
            "Infosys shares surge after strong quarterly profit",
            summary="<p>The IT major <b>beat</b> estimates &amp; raised guidance.</p>",
            link="https://news.example/infosys-q3",
            guid="et-1001",
            published=PUBLISHED,
        ),
        Item("Tata Steel plunges as losses widen in Europe", link="https://news.example/tata-steel", guid="et-1002"),
    ]
    source = rss(news_site)
    fetched_at = timezone.now()

    assert source_fetch(source, at=fetched_at) == 2

    infosys = Article.objects.get(guid="et-1001")
    assert infosys.summary == "The IT major beat estimates & raised guidance."
    assert (infosys.url, infosys.published_at, infosys.available_at) == (
        "https://news.example/infosys-q3",
        PUBLISHED,
        fetched_at,
    )
    assert list(infosys.symbols.values_list("symbol", flat=True)) == ["INFY"]
    steel = Article.objects.get(guid="et-1002")
    assert steel.published_at is None  # the feed gave no date: none is made up
    assert list(steel.symbols.values_list("symbol", flat=True)) == ["TATASTEEL"]
    labels = dict(ArticleScore.objects.filter(analyzer="vader").values_list("article__guid", "label"))
    assert labels == {"et-1001": "positive", "et-1002": "negative"}
    source.refresh_from_db()
    assert (source.last_fetched_at, source.last_new, source.last_error, source.failures) == (fetched_at, 2, "", 0)


def test_an_atom_feed_is_read_as_well(news_site):
    news_site.feeds["/atom.xml"] = [
        Item("Wipro wins large deal", link="https://news.example/wipro", published=PUBLISHED)
    ]
    news_site.atom.add("/atom.xml")

    assert source_fetch(rss(news_site, "/atom.xml")) == 1

    article = Article.objects.get()
    assert (article.title, article.guid, article.published_at) == (
        "Wipro wins large deal",
        "https://news.example/wipro",
        PUBLISHED,
    )


def test_a_repeated_fetch_stores_nothing_new_and_a_story_is_stored_once_across_sources(news_site):
    item = Item("ITC to demerge hotels business", link="https://news.example/itc", guid="g-1")
    news_site.feeds["/a.xml"] = [item]
    news_site.feeds["/b.xml"] = [Item("ITC to demerge hotels  business!", link="https://other.example/itc-hotels")]
    first, second = rss(news_site, "/a.xml", "A"), rss(news_site, "/b.xml", "B")
    assert source_fetch(first) == 1

    # when: the same feed again, and another site carrying the story under its own address
    assert source_fetch(first) == 0
    assert source_fetch(second) == 0
    # and a new item joins the first feed
    news_site.feeds["/a.xml"].append(Item("NTPC commissions new solar capacity", guid="g-2"))
    assert source_fetch(first) == 1

    assert Article.objects.count() == 2
    assert ArticleScore.objects.count() == 2
    first.refresh_from_db()
    assert first.last_new == 1


def test_duplicates_in_a_fetch_and_across_sites_are_stored_once_and_links_are_web_links_only(news_site):
    infosys = Item("Infosys wins $1.5 billion deal", summary="From the wire", link="https://a.example/1", guid="a1")
    news_site.feeds["/a.xml"] = [
        infosys,
        infosys,  # twice in one feed
        Item("इंफोसिस के शेयर चढ़े", link="https://a.example/2"),
        Item("टीसीएस का मुनाफा बढ़ा", link="https://a.example/3"),  # another story in the same script
        Item("Wipro gains 2%", link="javascript:alert(document.cookie)"),
    ]
    # the same story on another site, with that site's own summary and address
    news_site.feeds["/b.xml"] = [
        Item("Infosys Wins $1.5-billion Deal", summary="Our reporter writes", link="https://b.example/9")
    ]

    assert source_fetch(rss(news_site, "/a.xml", "A")) == 4
    assert source_fetch(rss(news_site, "/b.xml", "B")) == 0

    assert Article.objects.get(title="Wipro gains 2%").url == ""  # the javascript: link is not kept
    # a headline that recurs on another day is another story
    today = datetime.now(UTC)
    again = [RawArticle("Infosys to hold board meeting next week", published_at=today - timedelta(days=7))]
    again.append(RawArticle("Infosys to hold board meeting next week", published_at=today))
    assert len(articles_store(NewsSource.objects.get(name="A"), again)) == 2


def test_a_failing_source_is_reported_and_retried_later_without_stopping_the_others(news_site, client_for, root_admin):
    NewsSource.objects.all().delete()  # the default feeds, which are on the internet
    news_site.feeds["/good.xml"] = [Item("Cipla gets USFDA nod for generic drug")]
    news_site.broken["/down.xml"] = 503
    down = rss(news_site, "/down.xml", "Down")
    gone = NewsSource.objects.create(name="Gone", kind=NewsSource.Kind.RSS, url="http://127.0.0.1:9/feed.xml")
    not_a_feed = rss(news_site, "/missing.xml", "Missing")
    rss(news_site, "/good.xml", "Good")
    now = timezone.now()
    scored_before = metric(client_for(root_admin), 'sentiment_articles_scored_total{analyzer="vader"}')

    stored = {source.name: source_fetch(source, at=now) for source in sources_due(now)}

    assert stored == {"Down": 0, "Gone": 0, "Missing": 0, "Good": 1}
    for source, error in ((down, "HTTP 503"), (gone, "ConnectionError"), (not_a_feed, "HTTP 404")):
        source.refresh_from_db()
        assert error in source.last_error, source.last_error
        assert (source.failures, source.retry_at) == (1, now + timedelta(minutes=1))
    # not tried again until its backoff has passed, which doubles with each failure
    assert [s.name for s in sources_due(now + timedelta(seconds=30))] == ["Good"]
    later = now + timedelta(minutes=1)
    assert [s.name for s in sources_due(later)] == ["Down", "Gone", "Missing", "Good"]
    source_fetch(NewsSource.objects.get(name="Down"), at=later)
    down.refresh_from_db()
    assert (down.failures, down.retry_at) == (2, later + timedelta(minutes=2))
    # and /metrics counts what each source did
    metrics = metrics_scrape(client_for(root_admin))
    assert 'sentiment_source_failures_total{source="Down"} 2.0' in metrics
    assert 'sentiment_articles_stored_total{source="Good"} 1.0' in metrics
    assert metric(client_for(root_admin), 'sentiment_articles_scored_total{analyzer="vader"}') == scored_before + 1
    # and once it answers, its record is clean
    news_site.broken.clear()
    news_site.feeds["/down.xml"] = [Item("Coal India output rises 8%")]
    assert source_fetch(down) == 1
    down.refresh_from_db()
    assert (down.failures, down.retry_at, down.last_error) == (0, None, "")


def test_newsapi_everything_with_the_key_from_the_environment(news_site, settings):
    news_site.api_items = [
        Item(
            "HDFC Bank raises deposit rates",
            summary="Lender lifts rates",
            link="https://wire.example/1",
            published=PUBLISHED,
        )
    ]
    source = NewsSource.objects.create(name="NewsAPI", kind=NewsSource.Kind.NEWSAPI, url=news_site.url, query="NIFTY")
    settings.NEWSAPI_URL, settings.NEWSAPI_KEY = news_site.url, "wrong"

    assert source_fetch(source) == 0
    source.refresh_from_db()
    assert "apiKeyInvalid" in source.last_error

    settings.NEWSAPI_KEY = "test-key"
    assert source_fetch(source) == 1
    article = Article.objects.get()
    assert (article.title, article.summary, article.published_at) == (
        "HDFC Bank raises deposit rates",
        "Lender lifts rates",
        PUBLISHED,
    )
    assert list(article.symbols.values_list("symbol", flat=True)) == ["HDFCBANK"]

    # a source pointed anywhere else is refused before the key leaves
    elsewhere = NewsSource.objects.create(name="Elsewhere", kind="newsapi", url="http://127.0.0.1:9", query="NIFTY")
    assert source_fetch(elsewhere) == 0
    elsewhere.refresh_from_db()
    assert "the NewsAPI key is sent only to NEWSAPI_URL" in elsewhere.last_error


def test_articles_import_from_csv_and_json_lines_and_a_bad_row_is_named(tmp_path):
    csv_file = tmp_path / "news.csv"
    csv_file.write_text(
        "title,summary,url,published_at\n"
        "Maruti Suzuki sales jump 12%,Strong festive demand,https://x.example/1,2026-12-01T10:00:00+05:30\n"
        "Bharti Airtel raises tariffs,,https://x.example/2,\n"
    )
    lines = tmp_path / "news.jsonl"
    lines.write_text('{"title": "Titan posts record jewellery sales", "url": "https://x.example/3"}\n\n')

    assert len(file_import(csv_file)) == 2
    assert len(file_import(lines)) == 1
    assert len(file_import(csv_file)) == 0  # imported already
    maruti = Article.objects.get(url="https://x.example/1")
    assert maruti.published_at == datetime(2026, 12, 1, 4, 30, tzinfo=UTC)
    assert sorted(Article.objects.values_list("symbols__symbol", flat=True)) == ["BHARTIARTL", "MARUTI", "TITAN"]

    # an archive imported as published is available from its own dates, for backtests over the past
    archive = tmp_path / "archive.jsonl"
    archive.write_text('{"title": "Wipro wins deal", "published_at": "2024-03-01T10:00:00+05:30"}\n')
    call_command("news_import", str(archive), "--as-published", "--source", "archive", stdout=StringIO())
    assert Article.objects.get(title="Wipro wins deal").available_at == datetime(2024, 3, 1, 4, 30, tzinfo=UTC)
    with pytest.raises(CommandError, match="have no published_at to be available from"):
        call_command("news_import", str(lines), "--as-published", stdout=StringIO())

    bad = tmp_path / "bad.csv"
    bad.write_text("title,published_at\nWipro results,yesterday\n")
    with pytest.raises(SourceError, match=r"bad.csv line 2: published_at 'yesterday' is not ISO 8601"):
        file_import(bad)
    headless = tmp_path / "headless.csv"
    headless.write_text("headline\nSomething\n")
    with pytest.raises(SourceError, match="must name a `title` column"):
        file_import(headless)
    assert Article.objects.count() == 4
