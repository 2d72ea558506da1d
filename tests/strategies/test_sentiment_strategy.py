"""The news sentiment strategy, backtested on stored bars and the sentiment store's point-in-time values:
it acts on a story when the platform had it, not when the story says it was published."""

import io
from datetime import UTC, date, datetime

import pytest
from django.core.management import call_command

from sentiment.models import NewsSource
from sentiment.services import articles_store
from sentiment.sources import RawArticle
from strategies.services import backtest_run_create, backtest_run_execute
from tests.strategies.test_runs import walk_csv
from tradingsite.ist import IST

pytestmark = pytest.mark.django_db


def ist(day: int, hour: int) -> datetime:
    return datetime(2024, 1, day, hour, tzinfo=IST)


@pytest.fixture
def infy_bars(tmp_path):
    call_command(
        "bars_import", str(walk_csv(tmp_path / "INFY.csv", 10, seed=5)), "--create-instruments", stdout=io.StringIO()
    )


def news(title: str, *, available: datetime, published: datetime | None = None, url: str = ""):
    source, _ = NewsSource.objects.get_or_create(name="Wire", kind=NewsSource.Kind.FILE)
    articles_store(source, [RawArticle(title, url=url, published_at=published)], at=available.astimezone(UTC))


def run(**parameters):
    backtest = backtest_run_create(
        strategy="news_sentiment",
        instruments=["NSE:INFY"],
        start=date(2024, 1, 1),
        end=date(2024, 1, 12),
        parameters={"strong": 1.0, "quantity": 10, **parameters},
        charges=False,
    )
    backtest = backtest_run_execute(backtest)
    assert backtest.status == "done", backtest.error
    return [(t["side"], t["quantity"], t["decided_at"][:10], t["filled_at"][:10]) for t in backtest.trades]


def test_it_buys_on_good_news_and_sells_on_bad_news_when_the_platform_had_it(infy_bars):
    # two good stories on Tuesday 2 January
    news("Infosys wins record $2 billion deal, shares surge", available=ist(2, 10), url="https://x.example/1")
    news("Infosys profit beats estimates, raises guidance", available=ist(2, 11), url="https://x.example/2")
    # a bad one dated Wednesday 3 January that reached the platform only on Friday 5 January
    news(
        "Infosys shares plunge on fraud probe",
        published=ist(3, 10),
        available=ist(5, 10),
        url="https://x.example/3",
    )

    trades = run()

    # decided on each day's bar (midnight IST of the day: 18:30 UTC the day before), filled at the next open
    assert trades == [
        ("BUY", 10, "2024-01-01", "2024-01-02"),  # the bar of 2 January, filled on the 3rd
        ("SELL", 10, "2024-01-04", "2024-01-07"),  # the bar of 5 January, filled on Monday the 8th
    ]


def test_it_sells_when_the_news_goes_quiet_and_needs_enough_articles_to_buy(infy_bars):
    news("Infosys wins record $2 billion deal, shares surge", available=ist(2, 10), url="https://x.example/1")
    news("Infosys profit beats estimates, raises guidance", available=ist(2, 11), url="https://x.example/2")

    assert run(quiet=2) == [("BUY", 10, "2024-01-01", "2024-01-02"), ("SELL", 10, "2024-01-03", "2024-01-04")]
    assert run(min_articles=3) == []
