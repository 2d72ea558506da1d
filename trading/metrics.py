"""Business metrics of the order path and market data, exported with the request metrics (see
tradingsite.metrics_export: each process's metrics port, or /metrics with the token).

Counted where they happen, in whichever process that is (web, dispatcher, worker, feed):
- trading_orders_placed_total{outcome, source}: accepted or rejected at placement, by a person or a strategy
- trading_order_rejections_total{rule}: rejections by the risk rule that made them
- trading_order_broker_latency_seconds{broker}: from the order's placement to the broker's acceptance
- trading_fills_total{product}; trading_fill_slippage_bps: each fill against the price at placement
  (positive: worse for the trader)
- trading_feed_ticks_total{shard}, trading_feed_last_tick_timestamp_seconds{shard}, trading_tick_lag_seconds:
  ticks, the newest tick's time, and how late ticks reach the feed process after the exchange's timestamp
- trading_websocket_clients: websockets open now

Read from the database and Redis when scraped (TradingStateCollector):
- trading_orders{status}: today's orders by status
- trading_outbox_depth, trading_outbox_oldest_age_seconds: orders and changes accepted but not yet sent
- trading_market_open: 1 in NSE session hours
- trading_reconciliation_differences{account}: positions differing from Kite at the last reconciliation
- trading_kite_session_expires_timestamp_seconds{account}: when each Kite session ends
- trading_pnl_rupees{symbol, kind}: realised and unrealised P&L of the open books by symbol
- trading_slippage_bps{symbol}: today's mean slippage of fills against the price at placement
- celery_queue_length{queue}: tasks waiting in each of the site's Celery queues
"""

import logging
from datetime import UTC, datetime

from django.db import DatabaseError, connection
from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily

from tradingsite.ist import session_open
from tradingsite.metrics_export import state_collector

logger = logging.getLogger(__name__)

kite_updates_refused = Counter(
    "trading_kite_updates_refused_total",
    "Kite order updates refused before anything was written: forged, malformed, repeated, stale or throttled.",
    ["source", "reason"],
)
orders_placed = Counter(
    "trading_orders_placed", "Orders placed, by outcome at placement and by who placed them.", ["outcome", "source"]
)
order_rejections = Counter(
    "trading_order_rejections", "Orders rejected, by the risk rule that rejected them.", ["rule"]
)
broker_latency = Histogram(
    "trading_order_broker_latency_seconds",
    "Seconds from an order's placement to the broker's acceptance.",
    ["broker"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
fills = Counter("trading_fills", "Fills booked.", ["product"])
fill_slippage = Histogram(
    "trading_fill_slippage_bps",
    "Each fill's price against the last price at placement, in basis points (positive: worse for the trader).",
    buckets=(-50, -20, -10, -5, -2, 0, 2, 5, 10, 20, 50, 100),
)
feed_ticks = Counter("trading_feed_ticks", "Ticks the feed received.", ["shard"])
feed_last_tick = Gauge(
    "trading_feed_last_tick_timestamp_seconds",
    "Unix time of the newest tick the feed received.",
    ["shard"],
    multiprocess_mode="max",
)
tick_lag = Histogram(
    "trading_tick_lag_seconds",
    "Seconds from a tick's exchange timestamp to its arrival at the feed process.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0),
)
websocket_clients = Gauge("trading_websocket_clients", "Websockets open now.", multiprocess_mode="livesum")

TODAYS_ORDERS_SQL = """
SELECT status, count(*) FROM trading_order
 WHERE created_at >= date_trunc('day', now() AT TIME ZONE 'Asia/Kolkata') AT TIME ZONE 'Asia/Kolkata'
 GROUP BY status
"""
PNL_SQL = """
SELECT i.tradingsymbol, sum(p.realised_pnl), sum(p.quantity * coalesce(i.last_price, 0) - p.open_cost)
  FROM trading_position p JOIN trading_instrument i ON i.id = p.instrument_id
 GROUP BY i.tradingsymbol
"""
SLIPPAGE_SQL = """
SELECT t.tradingsymbol,
       avg(CASE WHEN t.transaction_type = 'BUY' THEN 1 ELSE -1 END
           * (t.price - o.arrival_price) / o.arrival_price * 10000)
  FROM trading_trade t JOIN trading_order o ON o.id = t.order_id
 WHERE o.arrival_price > 0
   AND t.fill_timestamp >= date_trunc('day', now() AT TIME ZONE 'Asia/Kolkata') AT TIME ZONE 'Asia/Kolkata'
 GROUP BY t.tradingsymbol
"""


def outbox_backlog() -> tuple[int, datetime | None]:
    """Order placements and changes accepted but not yet sent: how many, and when the oldest was written
    (the metrics and the ops status page both read it here)."""
    from django.db.models import Count, Min

    from trading.models import OutboxEntry

    unsent = OutboxEntry.objects.filter(sent_at__isnull=True).aggregate(n=Count("pk"), oldest=Min("created_at"))
    return unsent["n"], unsent["oldest"]


def family(name: str, text: str, labels=()) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, text, labels=list(labels))


class TradingStateCollector:
    def describe(self):
        return self.families()

    def families(self):
        return {
            "orders": family("trading_orders", "Today's orders by status.", ["status"]),
            "depth": family("trading_outbox_depth", "Order placements and changes accepted but not yet sent."),
            "age": family("trading_outbox_oldest_age_seconds", "Age of the oldest unsent outbox entry (0: none)."),
            "open": family("trading_market_open", "1 while the NSE session is open."),
            "differences": family(
                "trading_reconciliation_differences",
                "Positions differing from Kite at the account's last reconciliation.",
                ["account"],
            ),
            "kite": family(
                "trading_kite_session_expires_timestamp_seconds",
                "When each Kite session ends (Unix time).",
                ["account"],
            ),
            "pnl": family("trading_pnl_rupees", "P&L of the open books by symbol.", ["symbol", "kind"]),
            "slippage": family("trading_slippage_bps", "Today's mean fill slippage by symbol (bps).", ["symbol"]),
            "queues": family("celery_queue_length", "Tasks waiting in each Celery queue.", ["queue"]),
        }.values()

    def collect(self):
        out = {f.name: f for f in self.families()}
        out["trading_market_open"].add_metric([], 1.0 if session_open(datetime.now(UTC)) else 0.0)
        try:
            self.collect_database(out)
        except DatabaseError:
            logger.warning("trading state metrics not read: the database is unreachable")
        try:
            self.collect_queues(out["celery_queue_length"])
        except Exception:  # noqa: BLE001 - Redis down: the other metrics are still served
            logger.warning("Celery queue lengths not read: Redis is unreachable")
        return list(out.values())

    @staticmethod
    def collect_database(out: dict) -> None:
        from trading.models import KiteLink

        with connection.cursor() as cursor:
            cursor.execute(TODAYS_ORDERS_SQL)
            for status, count in cursor.fetchall():
                out["trading_orders"].add_metric([status], count)
            depth, oldest_at = outbox_backlog()
            out["trading_outbox_depth"].add_metric([], depth)
            age = (datetime.now(UTC) - oldest_at).total_seconds() if oldest_at else 0.0
            out["trading_outbox_oldest_age_seconds"].add_metric([], age)
            cursor.execute(PNL_SQL)
            for symbol, realised, unrealised in cursor.fetchall():
                out["trading_pnl_rupees"].add_metric([symbol, "realised"], float(realised or 0))
                out["trading_pnl_rupees"].add_metric([symbol, "unrealised"], float(unrealised or 0))
            cursor.execute(SLIPPAGE_SQL)
            for symbol, bps in cursor.fetchall():
                out["trading_slippage_bps"].add_metric([symbol], float(bps))
        for account, expires, report in KiteLink.objects.values_list("account_id", "expires_at", "reconcile_report"):
            if expires is not None:
                out["trading_kite_session_expires_timestamp_seconds"].add_metric([str(account)], expires.timestamp())
            if report:
                differences = len(report.get("problems") or [])
                out["trading_reconciliation_differences"].add_metric([str(account)], differences)

    @staticmethod
    def collect_queues(queues: GaugeMetricFamily) -> None:
        import redis
        from django.conf import settings

        client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=1, socket_connect_timeout=1)
        try:
            names = {settings.CELERY_TASK_DEFAULT_QUEUE, settings.RL_QUEUE, settings.SENTIMENT_MODEL_QUEUE}
            for name in sorted(names):
                queues.add_metric([name], client.llen(name))
        finally:
            client.close()


state_collector(TradingStateCollector())
