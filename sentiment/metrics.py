"""News sentiment's metrics on /metrics. The work happens in Celery workers, which serve no /metrics of
their own, so what they count is kept in Redis (two hashes under the cache's prefix) and the latest
evaluations in the database; the web process reads them when /metrics is scraped.

- sentiment_articles_fetched_total{source}, sentiment_articles_stored_total{source}
- sentiment_articles_scored_total{analyzer}
- sentiment_source_failures_total{source}
- sentiment_symbol_score{symbol, window}: the decayed mean at the last aggregation
- sentiment_model_evaluation{analyzer, version, metric}: accuracy, macro_f1, texts_per_second
"""

import logging

from django.core.cache import cache
from django.db import DatabaseError
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from tradingsite.metrics_export import state_collector

logger = logging.getLogger(__name__)
COUNTS, SCORES = "sentiment:metrics:counts", "sentiment:metrics:scores"
COUNTERS = {
    "fetched": ("sentiment_articles_fetched", "Articles sources returned.", "source"),
    "stored": ("sentiment_articles_stored", "Articles new to the store.", "source"),
    "scored": ("sentiment_articles_scored", "Articles scored.", "analyzer"),
    "failures": ("sentiment_source_failures", "Fetches of a source that failed.", "source"),
}


def client_and_key(name: str):
    key = cache.make_and_validate_key(name)
    return cache._cache.get_client(key, write=True), key


def count(kind: str, label: str, amount: int = 1) -> None:
    """Add to a counter; a Redis outage costs the count, never the work."""
    if not amount:
        return
    try:
        client, key = client_and_key(COUNTS)
        client.hincrby(key, f"{kind}|{label}", amount)
    except Exception:
        logger.warning("sentiment metric %s{%s} not counted: Redis is unreachable", kind, label)


def symbol_scores_set(scores: dict[tuple[str, str], float]) -> None:
    """(symbol, window) -> decayed mean, as of the latest aggregation: these replace the last ones, so a
    symbol out of the news leaves the metric."""
    try:
        client, key = client_and_key(SCORES)
        pipeline = client.pipeline(transaction=True)
        pipeline.delete(key)
        if scores:
            pipeline.hset(key, mapping={f"{symbol}|{window}": value for (symbol, window), value in scores.items()})
        pipeline.execute()
    except Exception:
        logger.warning("sentiment scores not kept for /metrics: Redis is unreachable")


def hash_read(name: str) -> dict[str, str]:
    client, key = client_and_key(name)
    return {field.decode(): value.decode() for field, value in client.hgetall(key).items()}


class SentimentCollector:
    def describe(self):  # what registering asks for: the families, without reading Redis or the database
        return self.families({}, {}, [])

    def collect(self):
        try:
            counts, scores = hash_read(COUNTS), hash_read(SCORES)
        except Exception:  # Redis down: the other metrics are still served
            counts, scores = {}, {}
        try:
            from sentiment.models import SentimentEvaluation

            latest = SentimentEvaluation.objects.order_by("analyzer", "-evaluated_at").distinct("analyzer")
            evaluations = list(latest.values_list("analyzer", "version", "accuracy", "macro_f1", "texts_per_second"))
        except DatabaseError:
            evaluations = []
        return self.families(counts, scores, evaluations)

    def families(self, counts: dict, scores: dict, evaluations: list) -> list:
        families = {}
        for kind, (name, text, label) in COUNTERS.items():
            families[kind] = CounterMetricFamily(name, text, labels=[label])
        for field, value in counts.items():
            kind, label = field.split("|", 1)
            if kind in families:
                families[kind].add_metric([label], float(value))
        symbol = GaugeMetricFamily(
            "sentiment_symbol_score",
            "A symbol's decayed mean sentiment (-1 to 1) at the last aggregation.",
            labels=["symbol", "window"],
        )
        for field, value in scores.items():
            symbol.add_metric(field.split("|", 1), float(value))
        evaluation = GaugeMetricFamily(
            "sentiment_model_evaluation",
            "An analyzer's figures at its latest evaluation on held-out data (manage.py sentiment_evaluate).",
            labels=["analyzer", "version", "metric"],
        )
        for analyzer, version, accuracy, macro_f1, rate in evaluations:
            for metric, value in (("accuracy", accuracy), ("macro_f1", macro_f1), ("texts_per_second", rate)):
                evaluation.add_metric([analyzer, version, metric], value)
        return [*families.values(), symbol, evaluation]


state_collector(SentimentCollector())
