import sys

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views import defaults
from django.views.decorators.http import require_POST

from audit.chain import chain_verify_last
from audit.models import AuditEvent
from tradingsite.exceptions import ApplicationError, NotFoundError
from tradingsite.health import database_check, redis_check
from tradingsite.models import ApiToken
from tradingsite.roles import STATUS_ROLES, user_roles
from tradingsite.tokens import api_token_create, api_token_revoke, api_tokens_for_user
from tradingsite.unavailable import service_unavailable, unavailable_response


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
        last_verify = chain_verify_last()
    except Exception:  # Redis down is already reported above; the page must still render
        last_verify = None
    from tradingsite import status

    context = {
        "checks": checks,
        "audit_head": head,
        "last_verify": last_verify,
        "feed": status.feed_freshness(),
        "workers": status.workers_answering(),
        "jobs": status.beat_jobs(),
        "outbox": status.outbox_state(),
        "kite": status.kite_sessions(),
        "backup": status.latest_backup(),
    }
    return render(request, "system_status.html", context)


class TokenForm(forms.Form):
    name = forms.CharField(max_length=64)
    scope = forms.ChoiceField(choices=ApiToken.Scope.choices, initial=ApiToken.Scope.READ)
    days = forms.IntegerField(min_value=1, initial=90, label="Expires after (days)")


@login_required
@permission_required("tradingsite.add_apitoken", raise_exception=True)
def api_tokens(request):
    """The user's API tokens: make one (its key shown on this response only), see them, revoke them."""
    issued = None
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            issued = api_token_create(user=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            form = TokenForm()
    context = {
        "form": form,
        "issued": issued,
        "tokens": api_tokens_for_user(request.user),
        "max_days": settings.API_TOKEN_MAX_DAYS,
        "now": timezone.now(),
    }
    response = render(request, "tokens.html", context, status=400 if form.errors else 200)
    response["Cache-Control"] = "no-store"  # the page may carry a token's key
    return response


@login_required
@require_POST
@permission_required("tradingsite.add_apitoken", raise_exception=True)
def api_token_revoke_view(request, token_id: int):
    try:
        token = api_token_revoke(user=request.user, token_id=token_id)
    except NotFoundError:
        raise Http404(f"no API token {token_id}") from None
    messages.success(request, f"Token {token.name!r} is revoked: it no longer works.")
    return redirect("api-tokens")


def not_found(request, exception=None):
    """Under /api/ a JSON error like every other API answer (an id that is not a number matches no path)."""
    if request.path.startswith("/api/"):
        message = f"no API operation at {request.path}: check the path against /api/schema/"
        return JsonResponse({"error": {"code": "not_found", "message": message}}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    """500, or 503 with Retry-After when the error was PostgreSQL or Redis being out of reach (Django calls
    this while handling the exception, so sys.exc_info() names it)."""
    service = service_unavailable(sys.exc_info()[1])
    if service is not None:
        return unavailable_response(request, service)
    if request.path.startswith("/api/"):
        request_id = getattr(request, "request_id", "")
        message = f"an unexpected error; it is logged under request id {request_id}"
        return JsonResponse({"error": {"code": "server_error", "message": message}}, status=500)
    return defaults.server_error(request)


def metrics(request):
    """The site's metrics for Prometheus on the public port: only with the bearer token METRICS_TOKEN, and
    not at all where none is set (scrape each process's METRICS_PORT inside the cluster instead)."""
    from prometheus_client import CONTENT_TYPE_LATEST

    from tradingsite.metrics_export import scrape, token_ok

    if not settings.METRICS_TOKEN:
        raise Http404("metrics are served on the metrics port")
    if not token_ok(request.headers.get("Authorization")):
        refusal = "the metrics want the bearer token (METRICS_TOKEN)\n"
        response = HttpResponse(refusal, status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(scrape(), content_type=CONTENT_TYPE_LATEST)
