from django.apps import AppConfig
from django.db.models.signals import post_migrate


class TradingSiteConfig(AppConfig):
    name = "tradingsite"
    verbose_name = "Trading site"

    def ready(self):
        # auth_backends, auth_cache and login_limits connect signal receivers; schema registers the API
        # auth schemes; metrics registers the backup collector.
        from tradingsite import auth_backends, auth_cache, checks, login_limits, metrics, roles, schema  # noqa: F401

        # Runs after every migrate (and test database creation), once all permissions exist.
        post_migrate.connect(roles.roles_sync_after_migrate, dispatch_uid="tradingsite.roles_sync")
