"""Django's Redis cache with one client per connection pool, behind a circuit breaker.

Django's client builds a new `redis.Redis` for every cache call, and each one fills a table of ~170
response callbacks: three of them per order request cost more than the Redis round trips themselves.
A `redis.Redis` is safe to share between threads (it takes a connection from its pool per command), so
one per pool serves them all.

A Redis that stops answering (frozen, or behind a network that drops packets) costs each command its
full timeout, and a request makes several: 10 s and more per request. After CIRCUIT_FAILURES commands
in a row time out or find no connection, the cache's circuit opens and commands fail at once, as they
do when Redis is down (every caller copes: counters let requests through, prices come from the
database, tokens are read from the database); after REDIS_CIRCUIT_RESET_SECONDS one command tries
again. The pause is short because Redis usually comes back quickly, and a longer one would keep a
process off a Redis that is back.
"""

import redis
from django.core.cache.backends.redis import RedisCache, RedisCacheClient

from tradingsite.circuit import Circuit, CircuitOpen, circuit

REDIS_CIRCUIT_RESET_SECONDS = 2.0
UNREACHABLE = (redis.ConnectionError, redis.TimeoutError)


def unreachable(exc: BaseException) -> bool:
    return isinstance(exc, UNREACHABLE) and not isinstance(exc, redis.AuthenticationError)


def guarded(breaker: Circuit, command, *args, **kwargs):
    try:
        with breaker.call(unreachable):
            return command(*args, **kwargs)
    except CircuitOpen:
        raise redis.ConnectionError(f"Redis is not asked: {breaker.refusal()}") from None


class CircuitRedis(redis.Redis):
    """A client whose commands, and pipelines, go through its pool's circuit."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        options = self.connection_pool.connection_kwargs
        name = f"redis.{options.get('host', '')}:{options.get('port', '')}"
        self.breaker = circuit(name, reset_seconds=REDIS_CIRCUIT_RESET_SECONDS)

    def execute_command(self, *args, **options):
        return guarded(self.breaker, super().execute_command, *args, **options)

    def pipeline(self, transaction=True, shard_hint=None):
        pipeline = super().pipeline(transaction, shard_hint)
        execute = pipeline.execute
        pipeline.execute = lambda *args, **kwargs: guarded(self.breaker, execute, *args, **kwargs)
        return pipeline


class SharedRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._client = CircuitRedis
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class SharedClientRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = SharedRedisCacheClient
