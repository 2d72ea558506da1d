"""Linking a trading account to Zerodha Kite Connect: the app's credentials, the daily login through
Kite's login page (request_token exchanged for an access token by `generate_session`, with its
checksum), the token's expiry at Kite's daily reset, and logout, which invalidates the token at Kite.

All calls go through the official kiteconnect client, pointed at KITE_API_ROOT.
"""

from datetime import datetime, time, timedelta
from urllib.parse import urlencode

import daphne.server  # noqa: F401 - before kiteconnect: daphne installs the asyncio Twisted reactor first
import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from kiteconnect import KiteConnect
from kiteconnect import exceptions as kite_errors

from audit.services import audit_record
from trading.models import KiteLink, TradingAccount
from tradingsite.encryption import decrypt, encrypt
from tradingsite.exceptions import ApplicationError, ValidationError
from tradingsite.ist import IST

# Kite invalidates every access token at this time each day (IST); a new login is needed after it.
DAILY_RESET = time(6, 0)


class KiteError(ApplicationError):
    code = "kite_error"
    status = 502


def token_expiry(logged_in_at: datetime) -> datetime:
    """The next daily reset after a login."""
    local = logged_in_at.astimezone(IST)
    reset = datetime.combine(local.date(), DAILY_RESET, tzinfo=IST)
    return reset if local < reset else reset + timedelta(days=1)


def kite_client(link: KiteLink, *, with_token: bool = True) -> KiteConnect:
    token = decrypt(link.access_token_encrypted) if with_token else None
    return KiteConnect(
        api_key=link.api_key,
        access_token=token or None,
        root=settings.KITE_API_ROOT,
        timeout=settings.KITE_TIMEOUT_SECONDS,
    )


def kite_error_message(exc: Exception) -> str:
    if isinstance(exc, kite_errors.TokenException):
        return f"Kite refused the credentials: {exc}"
    if isinstance(exc, kite_errors.KiteException):
        return f"Kite answered with an error: {exc}"
    return f"Kite could not be reached: {exc}"


@transaction.atomic
def kite_link_set(*, account: TradingAccount, api_key: str, api_secret: str, linked_by) -> KiteLink:
    api_key, api_secret = api_key.strip(), api_secret.strip()
    if not api_key or not api_secret:
        raise ValidationError("give both the Kite app's API key and its API secret", code="kite_credentials")
    link, _ = KiteLink.objects.update_or_create(
        account=account,
        defaults={
            "api_key": api_key,
            "api_secret_encrypted": encrypt(api_secret),
            "access_token_encrypted": "",
            "kite_user_id": "",
            "logged_in_at": None,
            "expires_at": None,
        },
    )
    TradingAccount.objects.filter(pk=account.pk).update(broker=TradingAccount.Broker.KITE)
    audit_record(
        action="kite.link", actor=linked_by, object_type="account", object_id=account.pk, payload={"api_key": api_key}
    )
    return link


def kite_login_url(link: KiteLink, state: str) -> str:
    """Kite's login page for this app; Kite sends `redirect_params` back to the app's redirect URL."""
    query = {
        "api_key": link.api_key,
        "v": "3",
        "redirect_params": urlencode({"account": link.account_id, "state": state}),
    }
    return f"{settings.KITE_LOGIN_URL}?{urlencode(query)}"


def kite_session_complete(*, link: KiteLink, request_token: str, logged_in_by) -> KiteLink:
    client = kite_client(link, with_token=False)
    try:
        session = client.generate_session(request_token, api_secret=decrypt(link.api_secret_encrypted))
    except (kite_errors.KiteException, requests.RequestException) as exc:
        audit_record(
            action="kite.login_failed",
            actor=logged_in_by,
            object_type="account",
            object_id=link.account_id,
            payload={"reason": str(exc)[:500]},
        )
        raise KiteError(kite_error_message(exc)) from exc
    kite_user_id = str(session.get("user_id", ""))[:32]
    other = KiteLink.objects.filter(kite_user_id=kite_user_id).exclude(pk=link.pk).select_related("account").first()
    if kite_user_id and other is not None:
        # Kite's order ids, postbacks and positions are per Kite user: two accounts here on one Kite
        # user would each take the other's orders as their own.
        raise KiteError(
            f"Kite user {kite_user_id} is already linked to account {other.account.name}: "
            "link each Kite user to one trading account",
            code="kite_user_linked",
        )
    now = timezone.now()
    link.access_token_encrypted = encrypt(session["access_token"])
    link.kite_user_id = kite_user_id
    link.logged_in_at, link.expires_at = now, token_expiry(now)
    link.save(update_fields=["access_token_encrypted", "kite_user_id", "logged_in_at", "expires_at", "updated_at"])
    audit_record(
        action="kite.login",
        actor=logged_in_by,
        object_type="account",
        object_id=link.account_id,
        payload={"kite_user_id": link.kite_user_id, "expires_at": link.expires_at},
    )
    return link


def kite_link_named(wanted: str) -> KiteLink:
    """The Kite link of an account given by id or name; with nothing given, the only link there is."""
    links = KiteLink.objects.select_related("account").order_by("account_id")
    wanted = (wanted or "").strip()
    if wanted:
        found = links.filter(account_id=int(wanted)) if wanted.isdigit() else links.filter(account__name=wanted)
        link = found.first()
        if link is None:
            raise ValidationError(f"no Kite-linked account is called {wanted!r}")
        return link
    found = list(links[:2])
    if len(found) != 1:
        names = ", ".join(link.account.name for link in links) or "none"
        raise ValidationError(f"name the Kite-linked account to use (linked: {names})")
    return found[0]


def kite_session_live(link: KiteLink) -> bool:
    return bool(link.access_token_encrypted) and link.expires_at is not None and link.expires_at > timezone.now()


def kite_live_client(link: KiteLink) -> KiteConnect:
    """The client of a link's live session, or a ValidationError asking for a login when it has ended."""
    if not kite_session_live(link):
        raise ValidationError(
            f"the Kite session of account {link.account.name} has ended (Kite resets sessions at 06:00 IST): "
            "log in at /kite/ first"
        )
    return kite_client(link)


def kite_logout(*, link: KiteLink, logged_out_by) -> KiteLink:
    """Invalidate the access token at Kite, then forget it here (forgotten even if Kite cannot be reached)."""
    problem = ""
    if link.access_token_encrypted:
        try:
            kite_client(link).invalidate_access_token()
        except (kite_errors.KiteException, requests.RequestException) as exc:
            problem = kite_error_message(exc)
    link.access_token_encrypted, link.expires_at = "", None
    link.save(update_fields=["access_token_encrypted", "expires_at", "updated_at"])
    audit_record(
        action="kite.logout",
        actor=logged_out_by,
        object_type="account",
        object_id=link.account_id,
        payload={"invalidated_at_kite": not problem, "problem": problem},
    )
    if problem:
        raise KiteError(
            f"signed out here, but {problem[0].lower()}{problem[1:]}; the token expires at Kite's daily reset"
        )
    return link
