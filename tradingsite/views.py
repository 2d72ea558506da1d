from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from audit.models import AuditEvent

from .health import database_check, redis_check
from .roles import ADMIN, OPS, user_roles


@login_required
def home(request):
    return render(request, "home.html")


@login_required
def system_status(request):
    if not (user_roles(request.user) & {OPS, ADMIN} or request.user.is_superuser):
        raise PermissionDenied("System status is for the ops and admin roles.")
    checks = [("PostgreSQL", database_check()), ("Redis", redis_check())]
    head = AuditEvent.objects.order_by("-sequence").values("sequence", "created_at").first()
    return render(request, "system_status.html", {"checks": checks, "audit_head": head})
