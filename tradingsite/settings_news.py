"""News-sentiment settings, read from the environment (imported into tradingsite.settings)."""

import environ
from django.core.exceptions import ImproperlyConfigured

from tradingsite.settings_ops import env_secret

env = environ.Env()

# News sentiment. Sources are rows of sentiment.NewsSource (the back office); NewsAPI's key is a secret.
NEWSAPI_URL = env.str("NEWSAPI_URL", "https://newsapi.org")
NEWSAPI_KEY = env_secret("NEWSAPI_KEY", "")
NEWS_FETCH_TIMEOUT_SECONDS = env.float("NEWS_FETCH_TIMEOUT_SECONDS", 10.0)
NEWS_USER_AGENT = env.str("NEWS_USER_AGENT", "tradingsite-news/1.0")
# A failing source waits 1, 2, 4 ... minutes before its next try, at most this long.
NEWS_RETRY_MAX_SECONDS = env.int("NEWS_RETRY_MAX_SECONDS", 3600)
# The analyzer whose scores the aggregates, the API's latest values and the sentiment strategy use.
SENTIMENT_ANALYZER = env.str("SENTIMENT_ANALYZER", "vader")
if SENTIMENT_ANALYZER not in {"vader", "trained", "finbert"}:
    raise ImproperlyConfigured(f"SENTIMENT_ANALYZER must be vader, trained or finbert, not {SENTIMENT_ANALYZER!r}")
SENTIMENT_CACHE_SECONDS = env.int("SENTIMENT_CACHE_SECONDS", 300)
# Analyzers besides VADER that score every new article in batches (for example "trained,finbert"), on
# their own Celery queue, which a GPU node's worker can take (`celery worker -Q <this queue>`).
SENTIMENT_MODEL_ANALYZERS = env.list("SENTIMENT_MODEL_ANALYZERS", default=[])
if set(SENTIMENT_MODEL_ANALYZERS) - {"trained", "finbert"}:
    raise ImproperlyConfigured(f"SENTIMENT_MODEL_ANALYZERS may name trained, finbert: {SENTIMENT_MODEL_ANALYZERS}")
SENTIMENT_MODEL_QUEUE = env.str("SENTIMENT_MODEL_QUEUE", "")  # empty: "<REDIS_NAMESPACE>.models"
# Texts per batch for the transformer analyzers (on a CPU with 8-bit linear layers: over twice as fast);
# where registry models are unpacked; FinBERT's local `save_pretrained` directory (nothing is downloaded).
SENTIMENT_BATCH = env.int("SENTIMENT_BATCH", 64)
SENTIMENT_CPU_INT8 = env.bool("SENTIMENT_CPU_INT8", True)
SENTIMENT_MODEL_CACHE_DIR = env.str("SENTIMENT_MODEL_CACHE_DIR", "")  # empty: .data/models
FINBERT_MODEL_DIR = env.str("FINBERT_MODEL_DIR", "")
