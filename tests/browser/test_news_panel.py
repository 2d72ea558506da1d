"""The trade page's news panel in a real browser: the chosen symbol's sentiment and latest headlines,
and the dashboard's sentiment by symbol."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone
from playwright.sync_api import expect

from sentiment.models import NewsSource
from sentiment.services import aggregates_record, articles_store
from sentiment.sources import RawArticle
from tests.browser.conftest import logged_in_page
from tests.trading.conftest import instrument_make
from trading.orders.accounts import account_create


def test_the_trade_page_shows_the_chosen_symbols_sentiment_and_headlines(stack, chromium, alice):
    instrument_make("SAWCO", 5_000_002, "1000.00")
    account_create(owner=alice, name="alice-paper", cash=Decimal("1000000"), created_by=alice)
    wire = NewsSource.objects.create(name="Wire", kind=NewsSource.Kind.FILE)
    now = timezone.now()
    articles_store(wire, [RawArticle("SAWCO wins record order, shares surge", url="https://x.example/1")], at=now)
    articles_store(
        wire, [RawArticle("SAWCO profit falls on weak demand", url="https://x.example/2")], at=now - timedelta(hours=3)
    )
    articles_store(wire, [RawArticle("Rupee steady against the dollar")], at=now)
    aggregates_record(at=now)
    stack.web()

    page = logged_in_page(chromium, stack.base_url, "alice")

    news = page.locator("#news")
    expect(news.locator("#news-symbol")).to_have_text("SAWCO", timeout=20_000)
    expect(news).to_have_attribute("data-headlines", "2", timeout=20_000)
    headlines = news.locator("#headlines li")
    expect(headlines.nth(0)).to_contain_text("SAWCO wins record order, shares surge")
    expect(headlines.nth(0).locator("b")).to_have_class("up")
    expect(headlines.nth(1).locator("b")).to_have_class("down")
    expect(news.locator('[data-figure="1d"]')).to_contain_text("2 articles")
    expect(news.locator('[data-figure="15m"]')).to_contain_text("1 article ")

    page.goto(f"{stack.base_url}/dashboard/")
    expect(page.locator("#sentiment tbody tr")).to_have_count(1)
    expect(page.locator("#sentiment tbody tr")).to_contain_text("SAWCO")
