"""The page where a trader links an account to their Kite Connect app, logs in to Kite each day and
logs out. Kite's login page sends the browser back to /kite/callback with a request_token."""

import logging
import secrets
import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from trading.kite.client import kite_link_set, kite_login_url, kite_logout, kite_session_complete, kite_session_live
from trading.kite.reconcile import kite_reconcile
from trading.kite.updates import UpdateRefused, kite_postback_receive
from trading.metrics import kite_updates_refused
from trading.models import KiteLink
from trading.orders.selectors import account_for_user, accounts_for_user
from tradingsite.counters import counts_increment
from tradingsite.exceptions import ApplicationError
from tradingsite.ist import IST
from tradingsite.request_context import client_ip_from_request

STATE_KEY = "kite_login_states"
logger = logging.getLogger(__name__)


def link_of(user, account_id) -> KiteLink:
    account = account_for_user(user, account_id)
    link = KiteLink.objects.filter(account=account).first()
    if link is None:
        raise ApplicationError(f"account {account.name} is not linked to a Kite app yet", code="kite_not_linked")
    return link


@login_required
@permission_required("trading.change_tradingaccount", raise_exception=True)
def kite_page(request):
    if request.method == "POST":
        try:
            account = account_for_user(request.user, request.POST.get("account"))
            kite_link_set(
                account=account,
                api_key=request.POST.get("api_key", ""),
                api_secret=request.POST.get("api_secret", ""),
                linked_by=request.user,
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request, f"{account.name} is linked to Kite app {account.kite_link.api_key}. Log in to Kite to trade."
            )
        return redirect("kite")
    rows = []
    for account in accounts_for_user(request.user).select_related("kite_link"):
        link = getattr(account, "kite_link", None)
        state = "unlinked" if link is None else ("live" if kite_session_live(link) else "login needed")
        rows.append({"account": account, "link": link, "state": state})
    return render(request, "trading/kite.html", {"rows": rows})


@login_required
@permission_required("trading.change_tradingaccount", raise_exception=True)
def kite_login(request, account_id: int):
    try:
        link = link_of(request.user, account_id)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("kite")
    state = secrets.token_urlsafe(24)
    request.session[STATE_KEY] = {**request.session.get(STATE_KEY, {}), state: link.account_id}
    return redirect(kite_login_url(link, state))


@login_required
@permission_required("trading.change_tradingaccount", raise_exception=True)
def kite_callback(request):
    """Kite's redirect after its login: a request_token, and our redirect_params (account and state)."""
    states = request.session.get(STATE_KEY, {})
    account_id = states.pop(request.GET.get("state", ""), None)
    request.session[STATE_KEY] = states
    if account_id is None or str(account_id) != request.GET.get("account", ""):
        messages.error(request, "That Kite login did not start from this browser's session; start it again here.")
        return redirect("kite")
    if request.GET.get("status") != "success" or not request.GET.get("request_token"):
        messages.error(request, f"Kite did not complete the login (status {request.GET.get('status', 'missing')!r}).")
        return redirect("kite")
    try:
        link = link_of(request.user, account_id)
        kite_session_complete(link=link, request_token=request.GET["request_token"], logged_in_by=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        ends = link.expires_at.astimezone(IST)
        messages.success(request, f"Logged in to Kite as {link.kite_user_id} until {ends:%d %b %H:%M} IST.")
        # The session starts: what happened at Kite since the last one is taken in before trading.
        outcome = kite_reconcile(link)
        if outcome.get("error"):
            messages.error(request, f"Reconciliation with Kite could not run: {outcome['error']}")
        elif outcome.get("problems"):
            messages.error(
                request,
                "Kite's books differ from the platform's; the account is halted: " + "; ".join(outcome["problems"]),
            )
    return redirect("kite")


@login_required
@require_POST
@permission_required("trading.change_tradingaccount", raise_exception=True)
def kite_logout_view(request, account_id: int):
    try:
        kite_logout(link=link_of(request.user, account_id), logged_out_by=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Logged out of Kite: the access token is invalidated.")
    return redirect("kite")


@csrf_exempt
@require_POST
def kite_postback(request):
    """Kite's postback URL. No session: the checksum is what authenticates it, checked before anything
    is written. Refusals are counted (trading_kite_updates_refused_total) and logged, not audited."""
    address = client_ip_from_request(request) or "unknown"
    (count,) = counts_increment([(f"kite-postbacks:{address}:{int(time.time() // 60)}", 120)])
    if count > settings.KITE_POSTBACKS_PER_MINUTE:
        kite_updates_refused.labels(source="postback", reason="throttled").inc()
        logger.warning("postbacks from %s throttled: %s this minute", address, count)
        answer = JsonResponse(
            {
                "error": {
                    "code": "throttled",
                    "message": f"more than {settings.KITE_POSTBACKS_PER_MINUTE} postbacks a minute from {address}",
                }
            },
            status=429,
        )
        answer["Retry-After"] = str(60 - int(time.time()) % 60)
        answer.refusal_counted = True
        return answer
    try:
        outcome = kite_postback_receive(request.body)
    except UpdateRefused as exc:
        answer = JsonResponse({"error": exc.as_dict()}, status=exc.status)
        answer.refusal_counted = True  # counted and logged by kite_postback_receive; not audited
        return answer
    return JsonResponse({"status": "ok", "applied": outcome})
