"""The audit trail's metrics on /metrics: the rows waiting for the sequencer, read at each scrape."""

import logging

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from tradingsite.metrics_export import state_collector

logger = logging.getLogger(__name__)


UNLINKED = ("audit_unlinked_rows", "Audit events written but not yet linked into the chain.")
OVERDUE = (
    "audit_unlinked_overdue_rows",
    "Audit events unlinked for longer than AUDIT_LINK_MAX_SECONDS (the sequencer is behind or stopped).",
)


class AuditBacklogCollector(Collector):
    def describe(self):
        # Without this the registry would call collect(), and so query the database, at registration.
        return [GaugeMetricFamily(*UNLINKED), GaugeMetricFamily(*OVERDUE)]

    def collect(self):
        from audit.sequencer import audit_backlog

        try:
            backlog = audit_backlog()
        except Exception:  # a scrape during a database outage reports the other metrics
            logger.warning("audit backlog not readable for /metrics", exc_info=True)
            return
        yield GaugeMetricFamily(*UNLINKED, value=backlog.rows)
        yield GaugeMetricFamily(*OVERDUE, value=backlog.overdue)


_registered = False


def metrics_register() -> None:
    global _registered
    if not _registered:
        state_collector(AuditBacklogCollector())
        _registered = True
