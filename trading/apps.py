from django.apps import AppConfig
from django.db.models.signals import post_migrate


class TradingConfig(AppConfig):
    name = "trading"
    verbose_name = "Trading"

    def ready(self):
        from trading import metrics  # noqa: F401 - registers the state collector on /metrics
        from trading.orders.charge_rates import charge_rates_seed_after_migrate

        post_migrate.connect(charge_rates_seed_after_migrate, sender=self, dispatch_uid="trading.charge_rates")
