"""Settings for every process (web, feed, worker, beat, tests), read from the environment.

Every value has a safe local default so a fresh clone runs; production sets them through the Helm
chart. Secrets may also come from a file named by `<NAME>_FILE` (Kubernetes-mounted secrets).
Malformed values stop start-up with the variable's name rather than being guessed at.
"""

import hashlib
import re
import secrets
from decimal import Decimal, InvalidOperation
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from tradingsite.settings_ops import env_secret  # secrets from <NAME>_FILE or <NAME>

env = environ.Env()

BASE_DIR = Path(__file__).resolve().parent.parent
# Local state that must survive restarts (embedded servers, the local secret key); never committed.
DATA_DIR = Path(env.str("TRADINGSITE_DATA_DIR", str(BASE_DIR / ".data")))


def env_decimal(name: str, default: str) -> Decimal:
    raw = env.str(name, default)
    try:
        return Decimal(raw)
    except InvalidOperation as exc:
        raise ImproperlyConfigured(f"{name} must be a decimal number, not {raw!r}") from exc


def redis_namespace_of(database: dict) -> str:
    """`ts-<database name>-<hash of host:port/name>`: the same for every process of one installation, and
    different for two installations, which may share a Redis server (its pub/sub ignores database numbers)."""
    name = database.get("NAME") or ""
    host = database.get("HOST") or (database.get("OPTIONS") or {}).get("host", "")  # or a socket's folder
    where = f"{host}:{database.get('PORT') or ''}/{name}"
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "-", name)[:32]
    return f"ts-{readable}-{hashlib.sha256(where.encode()).hexdigest()[:8]}"


def local_secret_key() -> str:
    """A random key kept under the data folder, so local sessions survive restarts without a shared default."""
    path = DATA_DIR / "secret-key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


# PRODUCTION switches on the deployment hardening (HTTPS only, secure cookies, HSTS, no local password
# login, secrets only from the environment). Local runs and tests leave it off.
PRODUCTION = env.bool("PRODUCTION", False)
DEBUG = env.bool("DJANGO_DEBUG", False)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DJANGO_DEBUG must be off when PRODUCTION is on")
SECRET_KEY = env_secret("SECRET_KEY") or ("" if PRODUCTION else local_secret_key())
if PRODUCTION and len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY (or SECRET_KEY_FILE) must be set to at least 50 characters in production")
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
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "mozilla_django_oidc",
    "django_celery_beat",
    "django_prometheus",
    "tradingsite",
    "audit",
    "trading",
    "portfolio",
    "strategies",
    "sentiment",
    "rl",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "tradingsite.request_context.RequestContextMiddleware",
    "tradingsite.health.ProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "tradingsite.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "audit.middleware.AccessRecordMiddleware",
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
                "tradingsite.csp.csp_nonce",
            ],
        },
    },
]

# PostgreSQL is the system of record; there is no SQLite fallback.
DATABASE_URL = env_secret("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tradingsite")
DATABASES = {"default": env.db_url_config(DATABASE_URL)}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured(f"DATABASE_URL must name a PostgreSQL database, not {DATABASES['default']['ENGINE']}")
# HTTP requests run on a pool of this many threads per web process, so they overlap their database
# waits (tradingsite/wsgi_bridge.py); each thread keeps one persistent database connection.
HTTP_THREADS = env.int("HTTP_THREADS", 8)
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", 60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", 5))
# Parameters travel apart from the SQL, so a statement's text repeats, and psycopg prepares a statement
# on the server once it has run DATABASE_PREPARE_THRESHOLD times on a connection: PostgreSQL then parses
# and plans the order path's statements once per connection, not once per order. Behind a connection
# pooler in transaction mode (PgBouncer before 1.21), set DATABASE_PREPARE_THRESHOLD=0 (never prepare).
DATABASES["default"]["OPTIONS"].setdefault("server_side_binding", env.bool("DATABASE_SERVER_SIDE_BINDING", True))
PREPARE_THRESHOLD = env.int("DATABASE_PREPARE_THRESHOLD", 5)
if PREPARE_THRESHOLD < 0:
    raise ImproperlyConfigured(f"DATABASE_PREPARE_THRESHOLD must be 0 (never) or more, not {PREPARE_THRESHOLD}")
DATABASES["default"]["OPTIONS"].setdefault("prepare_threshold", PREPARE_THRESHOLD or None)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis carries the channel layer, the Celery broker and the caches. Everything this installation keeps
# or publishes there is named under REDIS_NAMESPACE, derived from DATABASE_URL unless set, so that two
# installations on one Redis server never read each other's keys, events or tasks. Every process of a
# site must therefore be given the same DATABASE_URL (or the same REDIS_NAMESPACE). Each of the three
# names below may still be set on its own.
REDIS_URL = env_secret("REDIS_URL", "redis://127.0.0.1:6379/0")
REDIS_TIMEOUT_SECONDS = env.float("REDIS_TIMEOUT_SECONDS", 2.0)
REDIS_NAMESPACE = env.str("REDIS_NAMESPACE", "") or redis_namespace_of(DATABASES["default"])
CACHE_KEY_PREFIX = env.str("CACHE_KEY_PREFIX", "") or REDIS_NAMESPACE
CHANNEL_LAYER_PREFIX = env.str("CHANNEL_LAYER_PREFIX", "") or REDIS_NAMESPACE
CACHES = {
    "default": {
        "BACKEND": "tradingsite.redis_cache.SharedClientRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": CACHE_KEY_PREFIX,
        "OPTIONS": {"socket_connect_timeout": REDIS_TIMEOUT_SECONDS, "socket_timeout": REDIS_TIMEOUT_SECONDS},
    }
}
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL], "prefix": CHANNEL_LAYER_PREFIX},
    }
}

CELERY_BROKER_URL = env_secret("CELERY_BROKER_URL", REDIS_URL)
# The queue a worker takes tasks from (and beat and the web send them to), and the exchanges of remote
# control (`celery inspect`, `celery control shutdown`) and events: Celery's defaults ("celery",
# "celeryev") are the same for everyone on a broker, so another site's worker would run our tasks
# against its own database, and `celery control` would reach every site's workers.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", "") or REDIS_NAMESPACE
CELERY_CONTROL_EXCHANGE = REDIS_NAMESPACE
CELERY_EVENT_EXCHANGE = f"{REDIS_NAMESPACE}.events"
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
# Local username-and-password login is for development; production signs in through OIDC only.
LOCAL_LOGIN_ENABLED = env.bool("LOCAL_LOGIN_ENABLED", not PRODUCTION)
# Failed sign-ins per account within an hour before that account's sign-in is refused for the rest of it.
LOGIN_FAILURES_PER_HOUR = env.int("LOGIN_FAILURES_PER_HOUR", 100)

# OpenID Connect sign-in (mozilla-django-oidc), on when OIDC_ENABLED: authorization code flow with PKCE,
# state and nonce, RS256 ID tokens checked against the provider's JWKS. Roles come from the claim named
# OIDC_ROLES_CLAIM (a list or a space-separated string); users are created on first sign-in.
OIDC_ENABLED = env.bool("OIDC_ENABLED", False)
OIDC_RP_CLIENT_ID = env.str("OIDC_RP_CLIENT_ID", "")
OIDC_RP_CLIENT_SECRET = env_secret("OIDC_RP_CLIENT_SECRET", "")
OIDC_RP_SIGN_ALGO = "RS256"
OIDC_RP_SCOPES = env.str("OIDC_RP_SCOPES", "openid email profile")
# The ID token's `iss` must be this (and its `aud` our client id).
OIDC_OP_ISSUER = env.str("OIDC_OP_ISSUER", "")
OIDC_OP_AUTHORIZATION_ENDPOINT = env.str("OIDC_OP_AUTHORIZATION_ENDPOINT", "")
OIDC_OP_TOKEN_ENDPOINT = env.str("OIDC_OP_TOKEN_ENDPOINT", "")
OIDC_OP_USER_ENDPOINT = env.str("OIDC_OP_USER_ENDPOINT", "")
OIDC_OP_JWKS_ENDPOINT = env.str("OIDC_OP_JWKS_ENDPOINT", "")
OIDC_OP_LOGOUT_ENDPOINT = env.str("OIDC_OP_LOGOUT_ENDPOINT", "")
OIDC_OP_LOGOUT_URL_METHOD = "tradingsite.oidc.provider_logout_url"
OIDC_USE_PKCE = True
OIDC_USE_NONCE = True
OIDC_STORE_ID_TOKEN = True
# Seconds to wait for the provider (token, JWKS and userinfo calls) before the sign-in fails.
OIDC_TIMEOUT = env.float("OIDC_TIMEOUT", 5.0)
OIDC_ROLES_CLAIM = env.str("OIDC_ROLES_CLAIM", "roles")
OIDC_USERNAME_CLAIM = env.str("OIDC_USERNAME_CLAIM", "preferred_username")
# Provider role names that differ from ours: "their-name=our-role,...".
OIDC_ROLE_MAP = env.dict("OIDC_ROLE_MAP", default={})
# Bearer access tokens from the provider are accepted only when issued to OIDC_RP_CLIENT_ID (their aud, azp or
# client_id): asked of the provider's token introspection endpoint (RFC 7662) when this is set, else read from
# the token when it is a JWT signed with the provider's keys; an opaque token without it is refused.
OIDC_OP_INTROSPECTION_ENDPOINT = env.str("OIDC_OP_INTROSPECTION_ENDPOINT", "")
# The person is then read at the provider's userinfo endpoint, and the answer cached this long.
OIDC_BEARER_CACHE_SECONDS = env.int("OIDC_BEARER_CACHE_SECONDS", 60)
# The name on the sign-in button.
OIDC_PROVIDER_NAME = env.str("OIDC_PROVIDER_NAME", "single sign-on")
# Where a failed OIDC sign-in lands (the library redirects to this as a URL, not a URL name).
LOGIN_REDIRECT_URL_FAILURE = "/accounts/login/"
if OIDC_ENABLED:
    missing = [
        name
        for name in (
            "OIDC_RP_CLIENT_ID",
            "OIDC_RP_CLIENT_SECRET",
            "OIDC_OP_ISSUER",
            "OIDC_OP_AUTHORIZATION_ENDPOINT",
            "OIDC_OP_TOKEN_ENDPOINT",
            "OIDC_OP_USER_ENDPOINT",
            "OIDC_OP_JWKS_ENDPOINT",
        )
        if not globals()[name]
    ]
    if missing:
        raise ImproperlyConfigured(f"OIDC_ENABLED is on but these are not set: {', '.join(missing)}")
    AUTHENTICATION_BACKENDS.insert(0, "tradingsite.oidc.RoleMappingOIDCBackend")
if not OIDC_ENABLED and not LOCAL_LOGIN_ENABLED:
    raise ImproperlyConfigured("with LOCAL_LOGIN_ENABLED off, OIDC_ENABLED must be on, or nobody can sign in")

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "tradingsite.schema.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tradingsite.api_auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ]
    + (["tradingsite.oidc.OIDCBearerAuthentication"] if OIDC_ENABLED else []),
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["tradingsite.throttles.ApiThrottle"],
}
# Requests per minute, counted in Redis across all web processes: per API token, and per user over
# all of that user's tokens and sessions. Over the limit is a 429 with Retry-After.
API_THROTTLE_TOKEN_PER_MINUTE = env.int("API_THROTTLE_TOKEN_PER_MINUTE", 3000)
API_THROTTLE_USER_PER_MINUTE = env.int("API_THROTTLE_USER_PER_MINUTE", 6000)
# Personal API tokens: the longest expiry a user may choose.
API_TOKEN_MAX_DAYS = env.int("API_TOKEN_MAX_DAYS", 365)
SPECTACULAR_SETTINGS = {
    "TITLE": "Trading platform API",
    "VERSION": "1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Operations tagged by their area (orders, accounts, backtests, ...), each with a summary and examples.
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "tradingsite.schema.operations_described",
    ],
    # Names for choice sets whose field names other components use for other choices.
    "ENUM_NAME_OVERRIDES": {
        "BacktestStatusEnum": "strategies.models.BacktestRun.Status",
    },
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
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Behind the load balancer that terminates TLS (TRUSTED_PROXY_COUNT > 0), its X-Forwarded-Proto says https.
if TRUSTED_PROXY_COUNT:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.bool("SECURE_COOKIES", PRODUCTION)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", PRODUCTION)
# Probes and the metrics scrape reach pods over plain HTTP inside the cluster.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", 31536000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", PRODUCTION)
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", 12 * 3600)
# Content Security Policy (tradingsite/csp.py): scripts only from this site or with the response's nonce.
CSP_REPORT_ONLY = env.bool("CSP_REPORT_ONLY", False)

LOG_LEVEL = env.str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "tradingsite.request_context.RequestIdLogFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "tradingsite.logs.JsonFormatter"},
    },
    # LOG_FORMAT: "json" lines (production's default, for the log pipeline) or "plain" text.
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": env.str("LOG_FORMAT", "json" if PRODUCTION else "plain"),
            "filters": ["request_id"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

PROMETHEUS_METRIC_NAMESPACE = "tradingsite"

REST_FRAMEWORK["EXCEPTION_HANDLER"] = "tradingsite.exceptions.api_exception_handler"

# Trading.
PRICE_CACHE_SECONDS = env.int("PRICE_CACHE_SECONDS", 5)
# An order worth at least this many rupees (quantity x its reference price) is one the order preview
# (POST /api/v1/orders/preview) marks for the trader to confirm before placing it.
ORDER_CONFIRM_VALUE = env_decimal("ORDER_CONFIRM_VALUE", "200000")
# Paper exchange: slippage on market orders (basis points against the trader) and the share of a
# tick's traded volume one order may take (0 disables partial fills).
PAPER_SLIPPAGE_BPS = env_decimal("PAPER_SLIPPAGE_BPS", "0")
PAPER_MAX_VOLUME_PARTICIPATION = env_decimal("PAPER_MAX_VOLUME_PARTICIPATION", "0")
# Outbox rows claimed by a worker but not sent within this many seconds are re-driven by the sweep.
OUTBOX_CLAIM_TIMEOUT_SECONDS = env.int("OUTBOX_CLAIM_TIMEOUT_SECONDS", 30)
IDEMPOTENCY_KEY_TTL_HOURS = env.int("IDEMPOTENCY_KEY_TTL_HOURS", 24)
# Simulated round trip to the paper exchange on each submission, in milliseconds.
PAPER_SUBMIT_LATENCY_MS = env.int("PAPER_SUBMIT_LATENCY_MS", 0)
# How an accepted order reaches the broker: "redis" (the entry's id on a Redis list that the
# `manage.py outbox_dispatch` processes read; without Celery's per-task cost, which on this machine was
# more than the send itself), "celery" (a task per order, sent by the Celery worker) or "sweep" (only the
# periodic sweep; for tests and single-process runs). The sweep is the backstop of all three.
OUTBOX_DISPATCH = env.str("OUTBOX_DISPATCH", "redis")
if OUTBOX_DISPATCH not in {"celery", "redis", "sweep"}:
    raise ImproperlyConfigured(f"OUTBOX_DISPATCH must be 'celery', 'redis' or 'sweep', not {OUTBOX_DISPATCH!r}")

# Market data. The feed process (manage.py run_feed) takes ticks from FEED: "simulated" (a seeded
# random walk), "replay" (FEED_REPLAY_PATH, a CSV of ticks or bars, played at FEED_REPLAY_SPEED) or
# "kite" (KiteTicker, on the day's session of the Kite-linked account FEED_KITE_ACCOUNT).
FEED = env.str("FEED", "simulated")
if FEED not in {"simulated", "replay", "kite"}:
    raise ImproperlyConfigured(f"FEED must be 'simulated', 'replay' or 'kite', not {FEED!r}")
FEED_SEED = env.int("FEED_SEED", 20241231)
FEED_TICKS_PER_SECOND = env.float("FEED_TICKS_PER_SECOND", 2.0)
# The simulated feed's quote (day OHLC, volume, VWAP, five levels of depth) rides on an instrument's
# tick at most this often, in seconds (0: on every tick); the ticks between carry only the price.
FEED_QUOTE_SECONDS = env.float("FEED_QUOTE_SECONDS", 1.0)
if FEED_QUOTE_SECONDS < 0:
    raise ImproperlyConfigured(f"FEED_QUOTE_SECONDS must be 0 or more, not {FEED_QUOTE_SECONDS}")
# NSE hours (09:15-15:30 IST, weekdays) unless always open (the demo runs at any hour).
FEED_ALWAYS_OPEN = env.bool("FEED_ALWAYS_OPEN", False)
# Annualised volatility of the simulated walk; the intraday profile raises it near open and close.
FEED_VOLATILITY = env_decimal("FEED_VOLATILITY", "0.25")
# Instruments the feed carries: comma-separated tradingsymbols, or all instruments with a last price.
FEED_INSTRUMENTS = env.list("FEED_INSTRUMENTS", default=[])
# Several feed processes split the instruments: shard k of n carries those whose token is k modulo n.
FEED_SHARD, FEED_SHARDS = env.int("FEED_SHARD", 0), env.int("FEED_SHARDS", 1)
if not 0 <= FEED_SHARD < FEED_SHARDS:
    raise ImproperlyConfigured(f"FEED_SHARD must be from 0 to FEED_SHARDS - 1, not {FEED_SHARD} of {FEED_SHARDS}")
FEED_REPLAY_PATH = env.str("FEED_REPLAY_PATH", "")
FEED_REPLAY_SPEED = env.float("FEED_REPLAY_SPEED", 1.0)
# FEED=kite: the account (id or name) whose Kite session streams prices (empty: the only linked one),
# the streaming mode (ltp, quote or full), and how often the instrument list is re-read for new ones.
FEED_KITE_ACCOUNT = env.str("FEED_KITE_ACCOUNT", "")
FEED_KITE_MODE = env.str("FEED_KITE_MODE", "full")
if FEED_KITE_MODE not in {"ltp", "quote", "full"}:
    raise ImproperlyConfigured(f"FEED_KITE_MODE must be 'ltp', 'quote' or 'full', not {FEED_KITE_MODE!r}")
FEED_KITE_REFRESH_SECONDS = env.float("FEED_KITE_REFRESH_SECONDS", 60.0)
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

# Audit trail. Exports and chain checkpoints are signed with HMAC-SHA256 under AUDIT_SIGNING_KEY
# (or AUDIT_SIGNING_KEY_FILE); without one, a key derived from SECRET_KEY (set one in production, so
# an auditor can be given the signing key without the site's secret).
AUDIT_SIGNING_KEY = env_secret("AUDIT_SIGNING_KEY", "")
if PRODUCTION and len(AUDIT_SIGNING_KEY) < 32:
    raise ImproperlyConfigured(
        "AUDIT_SIGNING_KEY (or AUDIT_SIGNING_KEY_FILE) must be at least 32 characters in production"
    )
# A signed checkpoint of the chain's head is written this often; verification reports when the newest
# checkpoint is older than twice this (checkpoints removed, or the schedule stopped).
AUDIT_CHECKPOINT_MINUTES = env.int("AUDIT_CHECKPOINT_MINUTES", 5)
# Events are written unlinked and the sequencer (manage.py audit_sequencer) links them into the hash
# chain every AUDIT_LINK_INTERVAL_SECONDS. A row still unlinked after AUDIT_LINK_MAX_SECONDS is reported
# by audit_verify, /readyz and the audit_unlinked_overdue_rows metric.
AUDIT_LINK_INTERVAL_SECONDS = env.float("AUDIT_LINK_INTERVAL_SECONDS", 0.5)
AUDIT_LINK_MAX_SECONDS = env.float("AUDIT_LINK_MAX_SECONDS", 10.0)
if AUDIT_LINK_INTERVAL_SECONDS <= 0 or AUDIT_LINK_MAX_SECONDS <= AUDIT_LINK_INTERVAL_SECONDS:
    raise ImproperlyConfigured(
        "AUDIT_LINK_INTERVAL_SECONDS must be above 0 and below AUDIT_LINK_MAX_SECONDS "
        f"(got {AUDIT_LINK_INTERVAL_SECONDS} and {AUDIT_LINK_MAX_SECONDS})"
    )
# Retention per record type, in days (0 keeps forever), each applied daily by its own beat job. Audit events
# and checkpoints: seven years by default. Orders, trades and positions are the books and are kept.
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", 7 * 365 + 2)
OUTBOX_RETENTION_DAYS = env.int("OUTBOX_RETENTION_DAYS", 30)
# Bodies of order requests kept in the API access record, at most this many bytes.
AUDIT_REQUEST_BODY_LIMIT = env.int("AUDIT_REQUEST_BODY_LIMIT", 4096)

# Zerodha Kite Connect. The API root and the login page are settings so tests can point the real
# kiteconnect client at a fake Kite on loopback. Access tokens expire at Kite's daily reset (06:00 IST).
KITE_API_ROOT = env.str("KITE_API_ROOT", "https://api.kite.trade")
KITE_LOGIN_URL = env.str("KITE_LOGIN_URL", "https://kite.zerodha.com/connect/login")
KITE_TICKER_ROOT = env.str("KITE_TICKER_ROOT", "wss://ws.kite.trade")
KITE_TIMEOUT_SECONDS = env.int("KITE_TIMEOUT_SECONDS", 7)
# Orders of Kite-linked accounts go to Kite only when this is on. Off by default until order updates
# (postbacks, the ticker's order messages) and reconciliation track what Kite does with them.
KITE_ORDERS_ENABLED = env.bool("KITE_ORDERS_ENABLED", False)
# Kite's order limits per account, enforced before each call (Kite refuses beyond them anyway).
KITE_ORDERS_PER_SECOND = env.int("KITE_ORDERS_PER_SECOND", 10)
KITE_ORDERS_PER_MINUTE = env.int("KITE_ORDERS_PER_MINUTE", 400)
KITE_ORDERS_PER_DAY = env.int("KITE_ORDERS_PER_DAY", 5000)
KITE_MODIFICATIONS_PER_ORDER = env.int("KITE_MODIFICATIONS_PER_ORDER", 25)
# Reconciliation halts an account whose quantities differ from Kite's by more than this (shares or
# units), after looking again this many seconds later.
KITE_RECONCILE_TOLERANCE = env.int("KITE_RECONCILE_TOLERANCE", 0)
KITE_RECONCILE_RECHECK_SECONDS = env.float("KITE_RECONCILE_RECHECK_SECONDS", 1.0)
# Historical candles: a rate-limited request is tried again after this many seconds (times the attempt).
KITE_HISTORICAL_RETRY_SECONDS = env.float("KITE_HISTORICAL_RETRY_SECONDS", 1.0)
# The exchange-approved algo id sent with every order (SEBI's algo rules), when there is one.
KITE_ALGO_ID = env.str("KITE_ALGO_ID", "")
# Postbacks taken per client address per minute; more get 429 (Kite sends one per order update).
KITE_POSTBACKS_PER_MINUTE = env.int("KITE_POSTBACKS_PER_MINUTE", 1200)
# Kite secrets and tokens are encrypted at rest with a key derived from this (else from SECRET_KEY).
FIELD_ENCRYPTION_KEY = env_secret("FIELD_ENCRYPTION_KEY", "")

# News sentiment (tradingsite/settings_news.py); the model queue is named under REDIS_NAMESPACE.
from tradingsite.settings_news import *  # noqa: E402, F403

SENTIMENT_MODEL_QUEUE = SENTIMENT_MODEL_QUEUE or f"{REDIS_NAMESPACE}.models"  # noqa: F405
SENTIMENT_MODEL_CACHE_DIR = SENTIMENT_MODEL_CACHE_DIR or str(BASE_DIR / ".data" / "models")  # noqa: F405

# Metrics, heartbeats and backups (tradingsite/settings_ops.py).
from tradingsite.settings_ops import *  # noqa: E402, F403

# Reinforcement learning (tradingsite/settings_rl.py); training's Celery queue is named under REDIS_NAMESPACE.
from tradingsite.settings_rl import *  # noqa: E402, F403

RL_QUEUE = RL_QUEUE or f"{REDIS_NAMESPACE}.rl"  # noqa: F405
