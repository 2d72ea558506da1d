"""The point-in-time store: a symbol's sentiment at t uses only the articles the platform had by t;
aggregates are recorded once per minute however often the job runs; the latest values are cached."""

import time
from datetime import UTC, datetime, timedelta

import pytest

from sentiment.models import ArticleScore, NewsSource, SymbolSentiment
from sentiment.selectors import sentiment_at, sentiment_latest
from sentiment.services import aggregates_record, articles_store
from sentiment.sources import RawArticle
from tests.conftest import metrics_scrape

pytestmark = pytest.mark.django_db
T = datetime(2026, 12, 4, 4, 0, tzinfo=UTC)  # 09:30 IST


@pytest.fixture
def wire():
    return NewsSource.objects.create(name="Wire", kind=NewsSource.Kind.FILE)


def store(source, title, *, available, published=None):
    [article] = articles_store(source, [RawArticle(title=title, published_at=published)], at=available)
    return article, ArticleScore.objects.get(article=article).score


def test_the_value_at_t_ignores_an_article_made_available_after_t_although_published_before(wire):
    # given a story published at 09:00 that reached the platform only at 09:30, and one at 09:12
    late, late_score = store(
        wire, "Infosys wins record $2 billion deal", published=T - timedelta(minutes=30), available=T
    )
    early, early_score = store(wire, "Infosys shares plunge on weak guidance", available=T - timedelta(minutes=18))
    assert late_score > 0 > early_score

    # at 09:20 only the early one was known
    before = sentiment_at("INFY", T - timedelta(minutes=10), window="1d")
    assert (before.count, before.decayed_mean, before.share_negative) == (1, pytest.approx(early_score), 1.0)

    # at 09:30 both, the older weighed by 2^(-18 min / 4 h)
    both = sentiment_at("INFY", T, window="1d")
    weight = 2 ** (-18 / 240)
    expected = (late_score + weight * early_score) / (1 + weight)
    assert (both.count, both.share_positive, both.share_negative) == (2, 0.5, 0.5)
    assert both.decayed_mean == pytest.approx(expected, abs=1e-6)
    # and the quarter-hour window has forgotten the one 18 minutes old
    quarter = sentiment_at("INFY", T, window="15m")
    assert (quarter.count, quarter.decayed_mean) == (1, pytest.approx(late_score))
    # another symbol's news is not this one's
    assert sentiment_at("TCS", T, window="1d").count == 0


def test_aggregates_are_recorded_once_however_often_the_job_runs(wire, client_for, root_admin):
    store(wire, "Wipro profit jumps 20%", available=T - timedelta(minutes=5))
    store(wire, "TCS and Wipro slump as US clients cut spending", available=T - timedelta(minutes=2))

    assert aggregates_record(at=T) == 2
    assert aggregates_record(at=T + timedelta(seconds=20)) == 2  # the same minute

    rows = SymbolSentiment.objects.order_by("symbol", "window")
    assert [(r.symbol, r.window, r.at, r.count) for r in rows] == [
        ("TCS", "15m", T, 1),
        ("TCS", "1d", T, 1),
        ("WIPRO", "15m", T, 2),
        ("WIPRO", "1d", T, 2),
    ]
    wipro = rows.get(symbol="WIPRO", window="1d").decayed_mean
    assert wipro == sentiment_at("WIPRO", T, window="1d").decayed_mean
    metrics = metrics_scrape(client_for(root_admin))
    assert f'sentiment_symbol_score{{symbol="WIPRO",window="1d"}} {wipro}' in metrics


def test_the_latest_values_are_cached_and_the_cache_expires(wire, settings):
    settings.SENTIMENT_CACHE_SECONDS = 1
    now = datetime.now(UTC)
    store(wire, "Cipla gets USFDA nod for generic inhaler", available=now - timedelta(minutes=1))
    assert sentiment_latest("CIPLA")["1d"]["count"] == 1

    store(wire, "Cipla recalls inhalers in US market", available=now)
    assert sentiment_latest("CIPLA")["1d"]["count"] == 1  # cached

    time.sleep(1.2)
    latest = sentiment_latest("CIPLA")
    assert (latest["1d"]["count"], latest["15m"]["count"]) == (2, 2)
