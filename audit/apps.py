from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit trail"

    def ready(self):
        # Authentication outcomes are only observable through Django's auth signals.
        from audit import receivers  # noqa: F401
        from audit.metrics import metrics_register

        metrics_register()
