"""Linking an account to Kite Connect with the real kiteconnect client against a fake Kite on loopback:
credentials encrypted at rest, the login round trip with its checksum, the daily expiry, and logout
invalidating the token at Kite."""

from datetime import datetime, timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
import requests
from django.db import connection
from django.utils import timezone

from audit.models import AuditEvent
from tests.fakes.kite import FakeKite
from trading.kite.client import token_expiry
from trading.models import KiteLink, TradingAccount
from trading.orders.accounts import account_create
from tradingsite.encryption import decrypt
from tradingsite.ist import IST

pytestmark = pytest.mark.django_db
SECRET = "the-apps-api-secret-0123456789"


@pytest.fixture
def fake_kite(settings):
    fake = FakeKite(api_key="kiteapp1", api_secret=SECRET, redirect_url="http://testserver/kite/callback").start()
    settings.KITE_API_ROOT = fake.root
    settings.KITE_LOGIN_URL = f"{fake.root}/connect/login"
    yield fake
    fake.stop()


@pytest.fixture
def linked(client_for, alice, fake_kite):
    account = account_create(owner=alice, name="alice-kite", cash=Decimal("0"), created_by=alice)
    page = client_for(alice)
    page.post("/kite/", {"account": account.pk, "api_key": "kiteapp1", "api_secret": SECRET})
    return page, account


def kite_login(page, account) -> str:
    """Start at our page, pass Kite's login page (the fake), and come back to our callback."""
    to_kite = page.get(f"/kite/login/{account.pk}")
    at_kite = requests.get(to_kite["Location"], allow_redirects=False, timeout=5)
    back = urlsplit(at_kite.headers["Location"])
    return page.get(f"{back.path}?{back.query}", follow=True).content.decode()


def test_linking_stores_the_secret_encrypted_and_marks_the_account_as_kite(linked):
    page, account = linked

    link = KiteLink.objects.get(account=account)
    with connection.cursor() as cursor:
        cursor.execute("SELECT api_secret_encrypted FROM trading_kitelink WHERE id = %s", [link.pk])
        raw = cursor.fetchone()[0]
    assert SECRET not in raw and decrypt(raw) == SECRET
    account.refresh_from_db()
    assert account.broker == TradingAccount.Broker.KITE
    assert "login needed" in page.get("/kite/").content.decode()


def test_the_kite_login_round_trip_stores_the_days_token_encrypted(linked, fake_kite):
    page, account = linked

    shown = kite_login(page, account)

    link = KiteLink.objects.get(account=account)
    assert "Logged in to Kite as ZX1234" in shown
    assert decrypt(link.access_token_encrypted) in fake_kite.access_tokens
    assert link.access_token_encrypted not in fake_kite.access_tokens
    assert link.expires_at == token_expiry(link.logged_in_at) and link.expires_at > timezone.now()
    posted = [params for method, path, params in fake_kite.calls if (method, path) == ("POST", "/session/token")]
    assert posted and set(posted[0]) == {"api_key", "request_token", "checksum"}  # never the secret itself
    assert AuditEvent.objects.filter(action="kite.login", object_id=str(account.pk)).exists()
    # the session's start reconciles with Kite before any trading
    assert link.reconciled_at is not None and link.reconcile_report["problems"] == []
    assert {path for _, path, _ in fake_kite.calls} >= {"/orders", "/trades", "/portfolio/positions"}


def test_a_wrong_secret_is_refused_by_kite_and_the_page_says_so(client_for, alice, fake_kite):
    account = account_create(owner=alice, name="alice-kite", cash=Decimal("0"), created_by=alice)
    page = client_for(alice)
    page.post("/kite/", {"account": account.pk, "api_key": "kiteapp1", "api_secret": "not-the-secret"})

    shown = kite_login(page, account)

    assert "Kite refused the credentials: Invalid `checksum`." in shown
    assert KiteLink.objects.get(account=account).access_token_encrypted == ""
    assert AuditEvent.objects.filter(action="kite.login_failed", object_id=str(account.pk)).exists()


def test_a_callback_that_did_not_start_here_is_refused(linked, fake_kite):
    page, account = linked
    at_kite = requests.get(
        f"{fake_kite.root}/connect/login?api_key=kiteapp1&redirect_params=account%3D{account.pk}%26state%3Dforged",
        allow_redirects=False,
        timeout=5,
    )
    back = urlsplit(at_kite.headers["Location"])

    shown = page.get(f"{back.path}?{back.query}", follow=True).content.decode()

    assert "did not start from this browser" in shown
    assert KiteLink.objects.get(account=account).access_token_encrypted == ""
    assert not [call for call in fake_kite.calls if call[1] == "/session/token"]


def test_logout_invalidates_the_token_at_kite(linked, fake_kite):
    page, account = linked
    kite_login(page, account)
    token = decrypt(KiteLink.objects.get(account=account).access_token_encrypted)

    shown = page.post(f"/kite/logout/{account.pk}", follow=True).content.decode()

    assert "the access token is invalidated" in shown
    assert token in fake_kite.invalidated
    assert KiteLink.objects.get(account=account).access_token_encrypted == ""
    assert "login needed" in shown


def test_the_session_ends_at_kites_daily_reset_and_the_page_asks_for_a_new_login(linked, fake_kite):
    page, account = linked
    kite_login(page, account)
    KiteLink.objects.filter(account=account).update(expires_at=timezone.now() - timedelta(seconds=1))

    shown = page.get("/kite/").content.decode()

    assert "login needed" in shown and "Log in to Kite" in shown


@pytest.mark.parametrize(
    ("logged_in", "expires"),
    [
        (datetime(2026, 11, 24, 5, 0, tzinfo=IST), datetime(2026, 11, 24, 6, 0, tzinfo=IST)),
        (datetime(2026, 11, 24, 9, 30, tzinfo=IST), datetime(2026, 11, 25, 6, 0, tzinfo=IST)),
    ],
)
def test_a_token_expires_at_the_next_six_oclock_ist(logged_in, expires):
    assert token_expiry(logged_in) == expires


def test_the_trade_page_asks_for_a_kite_login_when_the_session_has_ended(linked, fake_kite):
    page, account = linked
    before = page.get(f"/trade/?account={account.pk}").content.decode()
    kite_login(page, account)
    during = page.get(f"/trade/?account={account.pk}").content.decode()
    KiteLink.objects.filter(account=account).update(expires_at=timezone.now())
    after = page.get(f"/trade/?account={account.pk}").content.decode()

    assert 'id="kite-login-needed"' in before
    assert 'id="kite-login-needed"' not in during
    assert 'id="kite-login-needed"' in after and 'href="/kite/"' in after


@pytest.mark.parametrize("named", ["abc", "", str(2**63), "-1"])
def test_an_account_that_cannot_exist_is_reported_as_not_found_on_the_page(client_for, alice, named):
    page = client_for(alice)

    answer = page.post("/kite/", {"account": named, "api_key": "kiteapp1", "api_secret": SECRET}, follow=True)

    assert answer.status_code == 200
    assert f"no trading account {named}" in answer.content.decode()
    assert not KiteLink.objects.exists()
