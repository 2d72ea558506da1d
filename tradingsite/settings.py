"""Settings for every process (web, feed, worker, beat, tests), read from the environment.

Every value has a safe local default so a fresh clone runs; production sets them through the Helm
chart. Secrets may also come from a file named by `<NAME>_FILE` (Kubernetes-mounted secrets).
Malformed values stop start-up with the variable's name rather than being guessed at.
"""

import secrets
from decimal import Decimal, InvalidOperation
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

env = environ.Env()

BASE_DIR = Path(__file__).resolve().parent.parent
# Local state that must survive restarts (embedded servers, the local secret key); never committed.
DATA_DIR = Path(env.str("TRADINGSITE_DATA_DIR", str(BASE_DIR / ".data")))


def env_secret(name: str, default: str | None = None) -> str | None:
    """Read a secret from `<name>_FILE` when set, else from `<name>`, else the default."""
    path = env.str(f"{name}_FILE", "")
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE points at {path!r}, which cannot be read: {exc}") from exc
    return env.str(name, default)


def env_decimal(name: str, default: str) -> Decimal:
    raw = env.str(name, default)
    try:
        return Decimal(raw)
    except InvalidOperation as exc:
        raise ImproperlyConfigured(f"{name} must be a decimal number, not {raw!r}") from exc


def local_secret_key() -> str:
    """A random key kept under the data folder, so local sessions survive restarts without a shared default."""
    path = DATA_DIR / "secret-key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


DEBUG = env.bool("DJANGO_DEBUG", False)
SECRET_KEY = env_secret("SECRET_KEY") or local_secret_key()
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# How many reverse proxies in front of the site append to X-Forwarded-For (0: trust REMOTE_ADDR only).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", 0)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_celery_beat",
    "django_prometheus",
    "tradingsite",
    "audit",
    "trading",
    "portfolio",
    "sentiment",
    "rl",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "tradingsite.request_context.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "tradingsite.urls"
ASGI_APPLICATION = "tradingsite.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tradingsite.navigation.navigation",
            ],
        },
    },
]

# PostgreSQL is the system of record; there is no SQLite fallback.
DATABASE_URL = env.str("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tradingsite")
DATABASES = {"default": env.db_url_config(DATABASE_URL)}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured(f"DATABASE_URL must name a PostgreSQL database, not {DATABASES['default']['ENGINE']}")
# HTTP requests run on a pool of this many threads per web process, so they overlap their database
# waits (tradingsite/wsgi_bridge.py); each thread keeps one persistent database connection.
HTTP_THREADS = env.int("HTTP_THREADS", 8)
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", 60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", 5))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis carries the channel layer, the Celery broker and the caches.
REDIS_URL = env.str("REDIS_URL", "redis://127.0.0.1:6379/0")
REDIS_TIMEOUT_SECONDS = env.float("REDIS_TIMEOUT_SECONDS", 2.0)
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", "tradingsite"),
        "OPTIONS": {"socket_connect_timeout": REDIS_TIMEOUT_SECONDS, "socket_timeout": REDIS_TIMEOUT_SECONDS},
    }
}
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL], "prefix": env.str("CHANNEL_LAYER_PREFIX", "asgi")},
    }
}

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", REDIS_URL)
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", "celery")
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing from a web request must not stall it: one quick retry, then the outbox sweep takes over.
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", 1.0)
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = ["tradingsite.auth_backends.CachedPermissionsBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Trading platform API",
    "VERSION": "1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Timestamps are stored in UTC and shown in India Standard Time.
LANGUAGE_CODE = "en-in"
TIME_ZONE = "Asia/Kolkata"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", str(DATA_DIR / "static")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Static files are served by WhiteNoise ahead of Django (tradingsite/asgi.py), from STATIC_ROOT as
# filled by collectstatic (the demo and the image run it).
STATIC_MAX_AGE_SECONDS = env.int("STATIC_MAX_AGE_SECONDS", 3600)
# Browser libraries come from npm (package.json; `npm ci` is part of `make install` and the image build).
STATICFILES_DIRS = [("vendor/lightweight-charts", BASE_DIR / "node_modules" / "lightweight-charts" / "dist")]

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

LOG_LEVEL = env.str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "tradingsite.request_context.RequestIdLogFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

PROMETHEUS_METRIC_NAMESPACE = "tradingsite"

REST_FRAMEWORK["EXCEPTION_HANDLER"] = "tradingsite.exceptions.api_exception_handler"

# Trading.
PRICE_CACHE_SECONDS = env.int("PRICE_CACHE_SECONDS", 5)
# Paper exchange: slippage on market orders (basis points against the trader) and the share of a
# tick's traded volume one order may take (0 disables partial fills).
PAPER_SLIPPAGE_BPS = env_decimal("PAPER_SLIPPAGE_BPS", "0")
PAPER_MAX_VOLUME_PARTICIPATION = env_decimal("PAPER_MAX_VOLUME_PARTICIPATION", "0")
# Outbox rows claimed by a worker but not sent within this many seconds are re-driven by the sweep.
OUTBOX_CLAIM_TIMEOUT_SECONDS = env.int("OUTBOX_CLAIM_TIMEOUT_SECONDS", 30)
IDEMPOTENCY_KEY_TTL_HOURS = env.int("IDEMPOTENCY_KEY_TTL_HOURS", 24)
# Simulated round trip to the paper exchange on each submission, in milliseconds.
PAPER_SUBMIT_LATENCY_MS = env.int("PAPER_SUBMIT_LATENCY_MS", 0)
# How an accepted order reaches the outbox worker: "celery" (a task per order, the sweep as backstop)
# or "sweep" (only the periodic sweep; for tests and single-process runs).
OUTBOX_DISPATCH = env.str("OUTBOX_DISPATCH", "celery")
if OUTBOX_DISPATCH not in {"celery", "sweep"}:
    raise ImproperlyConfigured(f"OUTBOX_DISPATCH must be 'celery' or 'sweep', not {OUTBOX_DISPATCH!r}")

# Market data. The feed process (manage.py run_feed) takes ticks from FEED: "simulated" (a seeded
# random walk) or "replay" (FEED_REPLAY_PATH, a CSV of ticks or bars, played at FEED_REPLAY_SPEED).
FEED = env.str("FEED", "simulated")
if FEED not in {"simulated", "replay"}:
    raise ImproperlyConfigured(f"FEED must be 'simulated' or 'replay', not {FEED!r}")
FEED_SEED = env.int("FEED_SEED", 20241231)
FEED_TICKS_PER_SECOND = env.float("FEED_TICKS_PER_SECOND", 2.0)
# NSE hours (09:15-15:30 IST, weekdays) unless always open (the demo runs at any hour).
FEED_ALWAYS_OPEN = env.bool("FEED_ALWAYS_OPEN", False)
# Annualised volatility of the simulated walk; the intraday profile raises it near open and close.
FEED_VOLATILITY = env_decimal("FEED_VOLATILITY", "0.25")
# Instruments the feed carries: comma-separated tradingsymbols, or all instruments with a last price.
FEED_INSTRUMENTS = env.list("FEED_INSTRUMENTS", default=[])
FEED_REPLAY_PATH = env.str("FEED_REPLAY_PATH", "")
FEED_REPLAY_SPEED = env.float("FEED_REPLAY_SPEED", 1.0)
# How often the feed writes bars and last prices to PostgreSQL and refreshes its view of resting orders.
FEED_FLUSH_SECONDS = env.float("FEED_FLUSH_SECONDS", 1.0)
# Bars: minute-bar partitions made this many months ahead; retention of minute and hourly bars.
BARS_PARTITIONS_AHEAD = env.int("BARS_PARTITIONS_AHEAD", 2)
BARS_MINUTE_RETENTION_DAYS = env.int("BARS_MINUTE_RETENTION_DAYS", 90)
BARS_HOUR_RETENTION_DAYS = env.int("BARS_HOUR_RETENTION_DAYS", 730)
# A market-data websocket sends at most one frame per this many milliseconds, each with the latest
# price of every instrument that moved: a slow client gets current prices, never a backlog.
MARKET_WS_MIN_INTERVAL_MS = env.int("MARKET_WS_MIN_INTERVAL_MS", 25)
MARKET_WS_MAX_SUBSCRIPTIONS = env.int("MARKET_WS_MAX_SUBSCRIPTIONS", 300)
