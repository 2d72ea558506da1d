"""The site's own metrics, exported on /metrics beside django-prometheus's request metrics."""

from django.db import DatabaseError
from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily

from tradingsite.metrics_export import state_collector

# Requests refused for want of valid credentials are counted and logged, not audited: nobody is known
# to have done anything, and a flood of them must not each take the audit chain's lock.
unauthenticated_requests = Counter(
    "tradingsite_unauthenticated_requests_total",
    "Requests refused with 401 because they carried no valid credentials, by what they carried: "
    "missing (nothing), malformed (an Authorization header that is not one bearer token), "
    "api_token (a personal token unknown, expired, revoked or of a deactivated user), "
    "provider_token (a provider access token the site does not accept).",
    ["reason"],
)


class BackupCollector:
    """tradingsite_backup_last_success_timestamp_seconds: when the newest backup's snapshot was taken."""

    def describe(self):
        return [self.family()]

    @staticmethod
    def family():
        return GaugeMetricFamily(
            "tradingsite_backup_last_success_timestamp_seconds", "Unix time of the newest backup's snapshot."
        )

    def collect(self):
        family = self.family()
        try:
            from tradingsite.models import BackupRecord

            newest = BackupRecord.objects.values_list("taken_at", flat=True).first()
        except DatabaseError:
            newest = None
        if newest is not None:
            family.add_metric([], newest.timestamp())
        return [family]


state_collector(BackupCollector())
