"""News sentiment's metrics, exported on /metrics with the request metrics."""

from prometheus_client import Counter, Gauge

ARTICLES_FETCHED = Counter("sentiment_articles_fetched_total", "Articles a source returned.", ["source"])
ARTICLES_STORED = Counter("sentiment_articles_stored_total", "Articles new to the store.", ["source"])
ARTICLES_SCORED = Counter("sentiment_articles_scored_total", "Articles scored.", ["analyzer"])
SOURCE_FAILURES = Counter("sentiment_source_failures_total", "Fetches of a source that failed.", ["source"])
SYMBOL_SCORE = Gauge(
    "sentiment_symbol_score", "A symbol's decayed mean sentiment (-1..1) at the last aggregation.", ["symbol", "window"]
)
MODEL_EVALUATION = Gauge(
    "sentiment_model_evaluation",
    "An analyzer's figures at its last evaluation (sentiment_evaluate).",
    ["analyzer", "metric"],
)
