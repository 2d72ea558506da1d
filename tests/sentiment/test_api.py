"""The news and sentiment API: articles with their symbols and scores, point in time, and each
symbol's sentiment now and over time."""

from datetime import timedelta

import pytest
from django.utils import timezone

from sentiment.models import Article, ArticleScore, NewsSource
from sentiment.services import aggregates_record, articles_store
from sentiment.sources import RawArticle
from tests.conftest import api_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def news(db):
    wire = NewsSource.objects.create(name="Wire", kind=NewsSource.Kind.FILE)
    now = timezone.now()
    articles_store(
        wire, [RawArticle("Infosys profit beats estimates", url="https://x.example/1")], at=now - timedelta(hours=2)
    )
    articles_store(
        wire, [RawArticle("Infosys and TCS shares plunge", url="https://x.example/2")], at=now - timedelta(minutes=5)
    )
    articles_store(
        wire, [RawArticle("Rupee ends flat against dollar", url="https://x.example/3")], at=now - timedelta(minutes=1)
    )
    aggregates_record(at=now - timedelta(hours=1))
    aggregates_record(at=now)
    return now


def test_news_lists_articles_with_their_symbols_and_scores_newest_first(news, alice):
    body = api_for(alice).get("/api/v1/news", {"symbol": "infy"}).json()

    assert [a["title"] for a in body["results"]] == ["Infosys and TCS shares plunge", "Infosys profit beats estimates"]
    first = body["results"][0]
    assert (first["source"], sorted(first["symbols"]), first["url"]) == ("Wire", ["INFY", "TCS"], "https://x.example/2")
    [score] = first["scores"]
    assert (score["analyzer"], score["label"]) == ("vader", "negative") and score["score"] < 0
    # as it stood an hour ago: only what was available then
    hour_ago = (news - timedelta(hours=1)).isoformat()
    # a score made later (a model run since) is not shown as of an hour ago
    first = Article.objects.get(title="Infosys profit beats estimates")
    ArticleScore.objects.create(
        article=first, analyzer="trained", version="m1", label="positive", score=0.9, scored_at=news
    )
    body = api_for(alice).get("/api/v1/news", {"symbol": "INFY", "until": hour_ago}).json()
    assert [a["title"] for a in body["results"]] == ["Infosys profit beats estimates"]
    assert [s["analyzer"] for s in body["results"][0]["scores"]] == ["vader"]
    now = api_for(alice).get("/api/v1/news", {"symbol": "INFY"}).json()["results"][1]
    assert sorted(s["analyzer"] for s in now["scores"]) == ["trained", "vader"]


def test_sentiment_of_a_symbol_now_and_over_time(news, alice):
    body = api_for(alice).get("/api/v1/sentiment", {"symbol": "INFY"}).json()

    assert (body["symbol"], body["analyzer"]) == ("INFY", "vader")
    assert (body["latest"]["1d"]["count"], body["latest"]["15m"]["count"]) == (2, 1)
    assert body["latest"]["1d"]["share_negative"] == 0.5
    assert [(row["count"], row["share_positive"]) for row in body["history"]] == [(1, 1.0), (2, 0.5)]


def test_sentiment_by_symbol_lists_every_symbol_in_the_news(news, carol):
    body = api_for(carol).get("/api/v1/sentiment").json()

    assert [(row["symbol"], row["count"]) for row in body["symbols"]] == [("INFY", 2), ("TCS", 1)]


def test_bad_parameters_are_named_and_news_needs_a_role_that_reads_it(news, alice, dave):
    response = api_for(alice).get("/api/v1/sentiment", {"symbol": "INFY", "window": "1h"})
    assert response.status_code == 400
    assert "window" in response.json()["error"]["details"]
    response = api_for(alice).get("/api/v1/sentiment", {"symbol": "INFY", "window": "15m", "days": 30})
    assert response.status_code == 400 and "at most 7 days" in response.json()["error"]["message"]
    response = api_for(alice).get("/api/v1/news", {"until": "yesterday"})
    assert response.status_code == 400 and "until" in response.json()["error"]["details"]

    assert api_for(dave).get("/api/v1/sentiment", {"symbol": "INFY"}).status_code == 403
