import uuid

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tradingsite.roles import ADMIN, COMPLIANCE, OPS, TRADER, user_create

PASSWORD = "correct-horse-battery-staple"
RUN_PREFIX = f"test-{uuid.uuid4().hex[:8]}"
METRICS_TOKEN = f"metrics-{uuid.uuid4().hex}"


@pytest.fixture(scope="session", autouse=True)
def redis_keys_removed_after_the_run():
    yield
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.REDIS_URL)
    for key in client.scan_iter(match=f"{RUN_PREFIX}*"):
        client.delete(key)
    client.close()


@pytest.fixture(scope="session", autouse=True)
def connections_closed_after_each_request():
    """Pool threads would otherwise keep their connections open, and the test database could not be
    dropped at the end of the run."""
    from django.db import connections

    connections.settings["default"]["CONN_MAX_AGE"] = 0


@pytest.fixture(autouse=True)
def redis_keys_of_this_run(settings):
    """Tests share the Redis server a developer may be running the demo on: keep their keys apart."""
    # Orders reach the broker through the sweep in tests; tests that need a real worker start one.
    settings.OUTBOX_DISPATCH = "sweep"
    settings.METRICS_TOKEN = METRICS_TOKEN
    settings.CACHES = {**settings.CACHES, "default": {**settings.CACHES["default"], "KEY_PREFIX": RUN_PREFIX}}
    settings.CHANNEL_LAYERS = {
        **settings.CHANNEL_LAYERS,
        "default": {
            **settings.CHANNEL_LAYERS["default"],
            "CONFIG": {**settings.CHANNEL_LAYERS["default"]["CONFIG"], "prefix": RUN_PREFIX},
        },
    }


def persona(username: str, roles: set[str]):
    return user_create(username=username, password=PASSWORD, roles=roles, actor="tests")


@pytest.fixture
def alice(db):
    return persona("alice", {TRADER})


@pytest.fixture
def bob(db):
    return persona("bob", {TRADER})


@pytest.fixture
def carol(db):
    return persona("carol", {COMPLIANCE})


@pytest.fixture
def dave(db):
    return persona("dave", {OPS})


@pytest.fixture
def root_admin(db):
    user = persona("admin", {ADMIN})
    user.is_superuser = True
    user.save(update_fields=["is_superuser"])
    return user


def bearer(key: str) -> APIClient:
    """An API client that sends this token, as an integrator's program does."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture
def client_for():
    def logged_in(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return logged_in


def api_for(user, scope: str = "trade") -> APIClient:
    """An API client sending a fresh personal token of `user` (a new one per call, so several may coexist)."""
    from tradingsite.tokens import api_token_create

    token = api_token_create(user=user, name=f"tests-{uuid.uuid4().hex[:8]}", scope=scope, days=1)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.key}")
    return client


def metrics_scrape(client) -> str:
    """/metrics as Prometheus scrapes it on the web port: with the bearer token."""
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def audit_linked(*events):
    """Run the sequencer's pass now, as its process would within a second; the given events re-read."""
    from audit.sequencer import audit_link_all

    audit_link_all()
    for event in events:
        event.refresh_from_db()
    return events
