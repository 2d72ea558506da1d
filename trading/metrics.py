"""Business metrics of the order path, exported on /metrics with the request metrics."""

from prometheus_client import Counter

kite_updates_refused = Counter(
    "trading_kite_updates_refused_total",
    "Kite order updates refused before anything was written: forged, malformed, repeated, stale or throttled.",
    ["source", "reason"],
)
