from django.apps import AppConfig
from django.db.models.signals import post_migrate


class TradingSiteConfig(AppConfig):
    name = "tradingsite"
    verbose_name = "Trading site"

    def ready(self):
        from . import auth_backends, checks, roles  # noqa: F401 - auth_backends connects its cache invalidation

        # Runs after every migrate (and test database creation), once all permissions exist.
        post_migrate.connect(roles.roles_sync_after_migrate, dispatch_uid="tradingsite.roles_sync")
