import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradingsite.settings")

app = Celery("tradingsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_ready.connect
def worker_heartbeat(sender=None, **kwargs):
    """The worker's liveness (tradingsite.heartbeat): beats while its consumer still runs."""
    from tradingsite.heartbeat import beat_in_background

    consumer = sender

    def alive():
        return getattr(getattr(consumer, "blueprint", None), "state", None) == 1  # RUN

    beat_in_background("worker", alive)
    from tradingsite.metrics_export import metrics_server_start

    metrics_server_start()


@signals.beat_init.connect
def beat_heartbeat(sender=None, **kwargs):
    from tradingsite.heartbeat import beat_in_background

    beat_in_background("beat")
    from tradingsite.metrics_export import metrics_server_start

    metrics_server_start()


@signals.worker_process_init.connect
def worker_child_tracing(**kwargs):
    """Each forked child exports its own spans (the exporter's thread does not survive the fork)."""
    from tradingsite.tracing import tracing_start

    tracing_start("tradingsite-worker")


@signals.worker_process_shutdown.connect
def worker_child_metrics_released(pid=None, **kwargs):
    """A forked child that ends leaves its live gauges' files behind; they no longer count. Its spans
    still waiting are sent."""
    from tradingsite.tracing import tracing_flush

    tracing_flush()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid or os.getpid())
