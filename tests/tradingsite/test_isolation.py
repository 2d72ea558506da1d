"""Two installations on one Redis server: each reads its namespace from its own settings (derived from
its DATABASE_URL), and neither sees the other's account events, cached prices or Celery tasks, while
every process of one installation still meets the others."""

import asyncio
import json
import os
import subprocess
import sys
import uuid

import pytest
import redis
from celery import Celery
from django.conf import settings as django_settings
from django.core.cache import cache
from django.core.cache.backends.redis import RedisCache
from django.utils.module_loading import import_string

from tests.conftest import RUN_PREFIX
from trading.market.prices import price_key
from trading.realtime.streams import _send, pubsub_channel, user_group

NAMESPACE_VARIABLES = ("REDIS_NAMESPACE", "CACHE_KEY_PREFIX", "CHANNEL_LAYER_PREFIX", "CELERY_TASK_DEFAULT_QUEUE")
SHOW_SETTINGS = """
import json
from django.conf import settings
print(json.dumps({
    "cache": settings.CACHES["default"],
    "layer": settings.CHANNEL_LAYERS["default"],
    "queue": settings.CELERY_TASK_DEFAULT_QUEUE,
    "control": settings.CELERY_CONTROL_EXCHANGE,
    "events": settings.CELERY_EVENT_EXCHANGE,
}))
"""


def site_settings(database: str, host: str = "127.0.0.1:5432", **env: str) -> dict:
    """The Redis names a process of the installation on `database` reads from the settings module, in a
    process of its own (as web, feed and worker each are), with none of the namespace variables set.
    `host` may be a socket folder (as the embedded PostgreSQL's URL has it)."""
    environment = {name: value for name, value in os.environ.items() if name not in NAMESPACE_VARIABLES}
    environment |= {
        "DJANGO_SETTINGS_MODULE": "tradingsite.settings",
        "DATABASE_URL": (
            f"postgres://postgres@/{database}?host={host}"
            if host.startswith("/")
            else f"postgres://postgres@{host}/{database}"
        ),
        "REDIS_URL": django_settings.REDIS_URL,
        **env,
    }
    shown = subprocess.run(
        [sys.executable, "-c", SHOW_SETTINGS],
        cwd=django_settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(shown.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def sites() -> dict:
    database = f"isolation_{uuid.uuid4().hex[:6]}"
    return {
        "database_a": f"{database}_a",
        "a_web": site_settings(f"{database}_a"),
        "a_feed": site_settings(f"{database}_a"),
        "b_web": site_settings(f"{database}_b"),
        "a_elsewhere": site_settings(f"{database}_a", host="db.example:6432"),
        "a_in_one_clone": site_settings(f"{database}_a", host="/home/one/tradingsite/.data/postgres"),
        "a_in_another_clone": site_settings(f"{database}_a", host="/home/two/tradingsite/.data/postgres"),
    }


def layer_of(site: dict):
    return import_string(site["layer"]["BACKEND"])(**site["layer"]["CONFIG"])


def cache_of(site: dict) -> RedisCache:
    return RedisCache(site["cache"]["LOCATION"], site["cache"])


def test_each_installation_gets_its_own_names_and_every_process_of_one_the_same(sites):
    a, a_feed, b, elsewhere = sites["a_web"], sites["a_feed"], sites["b_web"], sites["a_elsewhere"]
    prefix = a["layer"]["CONFIG"]["prefix"]

    assert a == a_feed
    assert prefix.startswith(f"ts-{sites['database_a']}-") and a["cache"]["KEY_PREFIX"] == prefix
    assert (a["queue"], a["control"], a["events"]) == (prefix, prefix, f"{prefix}.events")
    for other in (b, elsewhere, sites["a_in_one_clone"]):
        assert other["layer"]["CONFIG"]["prefix"] != prefix
        assert other["cache"]["KEY_PREFIX"] != a["cache"]["KEY_PREFIX"]
        assert other["queue"] != a["queue"] and other["control"] != a["control"]
    # two clones' embedded servers, reached by their socket folders, are two installations too
    one, another = sites["a_in_one_clone"], sites["a_in_another_clone"]
    assert one["layer"]["CONFIG"]["prefix"] != another["layer"]["CONFIG"]["prefix"]


def test_an_account_event_of_one_installation_never_reaches_the_other(sites, settings):
    # given site A's web publishing account events the way the platform does (trading/realtime/streams.py)
    settings.CHANNEL_LAYERS = {"default": sites["a_web"]["layer"]}
    a_socket, b_socket, b_web = layer_of(sites["a_feed"]), layer_of(sites["b_web"]), layer_of(sites["b_web"])
    group = user_group(1)  # the same user id exists on both sites
    event = {"type": "account.event", "kind": "order", "data": {"id": 7, "tradingsymbol": "RELIANCE"}}

    async def scenario():
        received = {"a": [], "b": []}
        listeners = []
        for name, layer in (("a", a_socket), ("b", b_socket)):
            channel = await layer.new_channel()
            await layer.group_add(group, channel)
            listeners.append(asyncio.create_task(listen(layer, channel, received[name])))
        await asyncio.sleep(0.2)  # both subscriptions are in place at Redis

        # when site A publishes alice's order event
        _send(group, event)

        # then A's socket gets it, and B's, listening on the same group name, gets nothing ...
        await until(lambda: received["a"])
        await asyncio.sleep(1)
        seen_by_b = list(received["b"])
        # ... though it was listening all along: B's own event reaches it
        await b_web.group_send(group, {**event, "data": {"id": 8}})
        await until(lambda: received["b"])
        for listener in listeners:
            listener.cancel()
        await asyncio.gather(*listeners, return_exceptions=True)
        for layer in (a_socket, b_socket, b_web):
            await layer.flush()
        return received, seen_by_b

    received, seen_by_b = asyncio.run(scenario())

    assert received["a"] == [event]
    assert seen_by_b == []
    assert [message["data"] for message in received["b"]] == [{"id": 8}]


async def listen(layer, channel: str, into: list) -> None:
    while True:
        into.append(await layer.receive(channel))


async def until(condition, timeout: float = 5) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


def test_a_cached_price_of_one_installation_is_invisible_to_the_other(sites):
    a_web, a_feed, b_web = cache_of(sites["a_web"]), cache_of(sites["a_feed"]), cache_of(sites["b_web"])
    key = price_key(738561)
    try:
        a_feed.set(key, "2500.00", 60)

        assert a_web.get(key) == "2500.00"
        assert b_web.get(key) is None
    finally:
        a_feed.delete(key)


def test_a_task_sent_by_one_installation_waits_only_in_its_own_queue(sites):
    client = redis.Redis.from_url(django_settings.REDIS_URL)
    a_queue, b_queue = sites["a_web"]["queue"], sites["b_web"]["queue"]
    app = Celery("isolation", broker=django_settings.REDIS_URL, set_as_current=False)
    app.conf.task_default_queue = a_queue
    try:
        app.send_task("trading.tasks.outbox_send", args=[1])

        assert client.llen(a_queue) == 1
        assert client.llen(b_queue) == 0
    finally:
        client.delete(a_queue, f"_kombu.binding.{a_queue}", f"_kombu.binding_permanent.{a_queue}")
        client.close()
        app.close()


def test_names_set_explicitly_are_honoured():
    one = site_settings("isolation_explicit", REDIS_NAMESPACE="shared-site")
    each = site_settings(
        "isolation_explicit",
        CACHE_KEY_PREFIX="my-cache",
        CHANNEL_LAYER_PREFIX="my-layer",
        CELERY_TASK_DEFAULT_QUEUE="my-queue",
    )

    assert (one["cache"]["KEY_PREFIX"], one["layer"]["CONFIG"]["prefix"], one["queue"]) == ("shared-site",) * 3
    assert one["control"] == "shared-site"
    assert (each["cache"]["KEY_PREFIX"], each["layer"]["CONFIG"]["prefix"], each["queue"]) == (
        "my-cache",
        "my-layer",
        "my-queue",
    )


def test_the_test_runs_own_prefixes_still_apply():
    assert cache.make_key("x").startswith(f"{RUN_PREFIX}:")
    assert pubsub_channel("user.1") == f"{RUN_PREFIX}__group__user.1"
