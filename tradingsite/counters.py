"""Counters in Redis shared by every process: rate limits (API throttles, Kite's order limits) and the
sign-in failure limit. Each count lives under a key that names its window and expires after it."""

from django.core.cache import cache


def counts_increment(keys_ttls: list[tuple[str, int]]) -> list[int]:
    """Add one to each (key, ttl seconds) counter in one pipelined round trip; the new counts, in order.
    Keys take the cache's prefix, so tests and benches keep theirs apart. Raises if Redis is unreachable."""
    keys = [cache.make_and_validate_key(key) for key, _ in keys_ttls]
    pipeline = cache._cache.get_client(keys[0], write=True).pipeline(transaction=False)
    for key, (_, ttl) in zip(keys, keys_ttls, strict=True):
        pipeline.incr(key)
        pipeline.expire(key, ttl)
    return pipeline.execute()[::2]


def members_add(keys_ttls: list[tuple[str, int]], member) -> list[int]:
    """Add `member` to each (key, ttl seconds) set in one pipelined round trip; each set's new size.
    A member added again (a retry of the same thing) is counted once."""
    keys = [cache.make_and_validate_key(key) for key, _ in keys_ttls]
    pipeline = cache._cache.get_client(keys[0], write=True).pipeline(transaction=False)
    for key, (_, ttl) in zip(keys, keys_ttls, strict=True):
        pipeline.sadd(key, str(member))
        pipeline.expire(key, ttl)
        pipeline.scard(key)
    return pipeline.execute()[2::3]


def members_remove(keys: list[str], member) -> None:
    """Take `member` out of each set again (what it counted did not happen)."""
    full = [cache.make_and_validate_key(key) for key in keys]
    pipeline = cache._cache.get_client(full[0], write=True).pipeline(transaction=False)
    for key in full:
        pipeline.srem(key, str(member))
    pipeline.execute()
