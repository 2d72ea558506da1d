from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from audit.models import AuditEvent
from audit.tasks import LAST_VERIFY_CACHE_KEY

from .health import database_check, redis_check
from .roles import STATUS_ROLES, user_roles


@login_required
def home(request):
    return render(request, "home.html")


@login_required
def system_status(request):
    if not (user_roles(request.user) & STATUS_ROLES or request.user.is_superuser):
        raise PermissionDenied("System status is for the ops and admin roles.")
    checks = [("PostgreSQL", database_check()), ("Redis", redis_check())]
    head = AuditEvent.objects.order_by("-sequence").values("sequence", "created_at").first()
    try:
        last_verify = cache.get(LAST_VERIFY_CACHE_KEY)
    except Exception:  # Redis down is already reported above; the page must still render
        last_verify = None
    context = {"checks": checks, "audit_head": head, "last_verify": last_verify}
    return render(request, "system_status.html", context)
