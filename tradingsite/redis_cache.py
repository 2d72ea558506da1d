"""Django's Redis cache with one client per connection pool.

Django's client builds a new `redis.Redis` for every cache call, and each one fills a table of ~170
response callbacks: three of them per order request cost more than the Redis round trips themselves.
A `redis.Redis` is safe to share between threads (it takes a connection from its pool per command), so
one per pool serves them all.
"""

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class SharedRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
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
