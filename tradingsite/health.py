"""Liveness and readiness probes for Kubernetes and the local demo."""

import redis
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@require_GET
@never_cache
def healthz(request):
    """The process is alive and serving. Touches no dependency, so a database outage does not restart pods."""
    return JsonResponse({"status": "alive"})


def database_check() -> str | None:
    """None when PostgreSQL answers a query, else the reason it did not."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure to reach the database is a readiness failure, whatever its type
        return f"database unreachable: {exc.__class__.__name__}: {str(exc).strip() or 'no detail'}"
    return None


def redis_check() -> str | None:
    """None when Redis answers PING, else the reason it did not."""
    timeout = settings.REDIS_TIMEOUT_SECONDS
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        client.ping()
    except redis.RedisError as exc:
        return f"redis unreachable: {exc.__class__.__name__}: {str(exc).strip() or 'no detail'}"
    finally:
        client.close()
    return None


def audit_chain_check() -> str | None:
    """None when no audit row has waited for the sequencer longer than AUDIT_LINK_MAX_SECONDS."""
    from audit.sequencer import audit_backlog

    try:
        backlog = audit_backlog()
    except Exception as exc:  # the database check names the outage
        return f"audit backlog not readable: {exc.__class__.__name__}"
    return None if backlog.ok else backlog.describe()


@require_GET
@never_cache
def readyz(request):
    """Ready to take traffic: PostgreSQL and Redis both reachable (503 names what is not).

    An audit sequencer that has fallen behind is reported ("degraded", with the reason) but does not
    take the site out of service: events are still written and sealed, and are linked once it runs."""
    checks = {"database": database_check(), "redis": redis_check()}
    failures = {name: reason for name, reason in checks.items() if reason}
    audit_chain = audit_chain_check() if not failures else None
    status = "unavailable" if failures else "degraded" if audit_chain else "ready"
    body = {
        "status": status,
        "checks": {name: reason or "ok" for name, reason in checks.items()} | {"audit_chain": audit_chain or "ok"},
    }
    return JsonResponse(body, status=503 if failures else 200)


class ProbeMiddleware:
    """The probes answer whatever host they were asked as: the kubelet and the load balancer's health
    check address a pod by its IP, which ALLOWED_HOSTS does not (and should not) list, and Django's host
    check would answer them 400. Everything else goes on down the chain, host check included."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.probes = {"/healthz": healthz, "/readyz": readyz}

    def __call__(self, request):
        probe = self.probes.get(request.path_info)
        return probe(request) if probe is not None else self.get_response(request)
