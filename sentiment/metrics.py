"""News sentiment's metrics, exported on /metrics with the request metrics."""

from django.db import DatabaseError
from prometheus_client import REGISTRY, Counter, Gauge
from prometheus_client.core import GaugeMetricFamily

ARTICLES_FETCHED = Counter("sentiment_articles_fetched_total", "Articles a source returned.", ["source"])
ARTICLES_STORED = Counter("sentiment_articles_stored_total", "Articles new to the store.", ["source"])
ARTICLES_SCORED = Counter("sentiment_articles_scored_total", "Articles scored.", ["analyzer"])
SOURCE_FAILURES = Counter("sentiment_source_failures_total", "Fetches of a source that failed.", ["source"])
SYMBOL_SCORE = Gauge(
    "sentiment_symbol_score", "A symbol's decayed mean sentiment (-1..1) at the last aggregation.", ["symbol", "window"]
)


class EvaluationCollector:
    """sentiment_model_evaluation{analyzer, version, metric}: each analyzer's latest evaluation
    (manage.py sentiment_evaluate, kept in the database), read when /metrics is scraped."""

    def family(self) -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "sentiment_model_evaluation",
            "An analyzer's figures at its latest evaluation on held-out data.",
            labels=["analyzer", "version", "metric"],
        )

    def describe(self):  # what registering asks for, so that it does not query the database then
        yield self.family()

    def collect(self):
        from sentiment.models import SentimentEvaluation

        family = self.family()
        try:
            latest = SentimentEvaluation.objects.order_by("analyzer", "-evaluated_at").distinct("analyzer")
            for row in latest:
                for metric in ("accuracy", "macro_f1", "texts_per_second"):
                    family.add_metric([row.analyzer, row.version, metric], getattr(row, metric))
        except DatabaseError:  # the database down: the other metrics are still served
            pass
        yield family


REGISTRY.register(EvaluationCollector())
