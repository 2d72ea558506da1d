"""Sign-in through a real OpenID provider (the npm package oidc-provider on loopback) in Chromium: the
role comes from the provider's claim, sign-out ends the provider's session too, a forged state or nonce
is refused, and a provider that stops answering fails the sign-in within the timeout while the rest of
the site keeps serving; a provider access token works as an API bearer token only when issued to this
site."""

import base64
import hashlib
import json
import os
import re
import secrets
import signal
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
import requests
from playwright.sync_api import expect

from audit.models import AuditEvent
from tradingsite.embedded import free_port
from tradingsite.roles import user_roles

ROOT = Path(__file__).resolve().parents[2]
PROVIDER_SCRIPT = Path(__file__).with_name("oidc_provider.mjs")
ACCOUNTS = {
    "erin": {"email": "erin@example.com", "roles": ["trader"]},
    "cora": {"email": "cora@example.com", "roles": ["compliance", "not-a-role-here"]},
    "nobody": {"email": "nobody@example.com", "roles": []},
}
TIMEOUT_SECONDS = 3
SITE_CLIENT = ("tradingsite", "a-client-secret-for-tests")
OTHER_CLIENT = ("reporting-tool", "another-applications-secret")


@pytest.fixture
def provider(tmp_path):
    """The provider process; `stack_env` points the web at it. Its log is in the test's tmp folder."""
    if not (ROOT / "node_modules" / "oidc-provider").exists():
        pytest.fail("node_modules/oidc-provider is missing: `make install` runs `npm ci`, which installs it")
    port = free_port()
    web_port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PORT": str(port),
        "CLIENT_ID": SITE_CLIENT[0],
        "CLIENT_SECRET": SITE_CLIENT[1],
        "OTHER_CLIENT_ID": OTHER_CLIENT[0],
        "OTHER_CLIENT_SECRET": OTHER_CLIENT[1],
        "REDIRECT_URI": f"http://127.0.0.1:{web_port}/oidc/callback/",
        "TOOL_REDIRECT_URI": f"http://127.0.0.1:{web_port}/tool-callback",
        "POST_LOGOUT_REDIRECT_URI": f"http://127.0.0.1:{web_port}/accounts/login/",
        "OIDC_ACCOUNTS": json.dumps(ACCOUNTS),
    }
    log = (tmp_path / "provider.log").open("wb")
    process = subprocess.Popen(["node", str(PROVIDER_SCRIPT)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(f"{issuer}/.well-known/openid-configuration", timeout=1).ok:
                break
        except requests.RequestException:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"oidc-provider did not start:\n{(tmp_path / 'provider.log').read_text()}")
        time.sleep(0.2)
    process.issuer, process.web_port = issuer, web_port
    yield process
    os.kill(process.pid, signal.SIGCONT)
    process.terminate()
    process.wait(10)
    log.close()


@pytest.fixture
def site(stack, provider):
    """The web process with OIDC on and password sign-in off, as in production."""
    stack.port = provider.web_port
    stack.env.update(
        OIDC_ENABLED="true",
        LOCAL_LOGIN_ENABLED="false",
        OIDC_RP_CLIENT_ID=SITE_CLIENT[0],
        OIDC_RP_CLIENT_SECRET=SITE_CLIENT[1],
        OIDC_RP_SCOPES="openid email profile roles",
        OIDC_OP_ISSUER=provider.issuer,
        OIDC_OP_AUTHORIZATION_ENDPOINT=f"{provider.issuer}/auth",
        OIDC_OP_TOKEN_ENDPOINT=f"{provider.issuer}/token",
        OIDC_OP_USER_ENDPOINT=f"{provider.issuer}/me",
        OIDC_OP_JWKS_ENDPOINT=f"{provider.issuer}/jwks",
        OIDC_OP_INTROSPECTION_ENDPOINT=f"{provider.issuer}/token/introspection",
        OIDC_OP_LOGOUT_ENDPOINT=f"{provider.issuer}/session/end",
        OIDC_TIMEOUT=str(TIMEOUT_SECONDS),
        OIDC_PROVIDER_NAME="Example ID",
    )
    stack.web()
    # the trail outlives transactional tests (it cannot be truncated): each test looks at its own rows only
    stack.audit_since = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    return stack


def recorded(site):
    return AuditEvent.objects.filter(id__gt=site.audit_since)


def new_page(chromium, base_url):
    context = chromium.new_context(base_url=base_url)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    return page


def sign_in_at_provider(page, username: str) -> None:
    """The provider's own sign-in page, then its consent page (both served by oidc-provider)."""
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", "any password")
    page.click("button[type=submit]")
    page.click("button[type=submit]")  # consent: "Continue"


def start_sign_in(page) -> None:
    page.goto("/trade/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/trade/$"))
    page.click("#oidc-login")


def with_param(url: str, name: str, value: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query[name] = value
    return urlunsplit(parts._replace(query=urlencode(query)))


def test_sign_in_takes_the_role_from_the_claim_and_sign_out_ends_the_provider_session(site, provider, chromium):
    page = new_page(chromium, site.base_url)

    # when erin signs in through the provider
    start_sign_in(page)
    expect(page.locator("input[name=login]")).to_be_visible()
    assert page.url.startswith(provider.issuer)
    sign_in_at_provider(page, "erin")

    # then she lands where she was going, as a trader, created on first sign-in and on the record
    page.wait_for_url(f"{site.base_url}/trade/")
    expect(page.locator("header .who")).to_contain_text("erin")
    expect(page.locator("header .who .badge")).to_have_text(["trader"])
    from django.contrib.auth import get_user_model

    erin = get_user_model().objects.get(username="erin")
    assert user_roles(erin) == {"trader"} and erin.email == "erin@example.com" and not erin.has_usable_password()
    assert recorded(site).filter(action="auth.login", actor="erin").exists()
    assert recorded(site).filter(action="user.roles_set", actor="system:oidc", object_id=str(erin.pk)).exists()

    # when she signs out: the site's session ends, and the provider's (after its own confirmation)
    page.click("header .who button[type=submit]")
    expect(page).to_have_url(re.compile(re.escape(f"{provider.issuer}/session/end")))
    page.click("button[autofocus], button[type=submit]")
    page.wait_for_url(f"{site.base_url}/accounts/login/**")
    assert recorded(site).filter(action="auth.logout", actor="erin").exists()
    page.goto("/trade/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/trade/$"))
    # signing in again asks for the password at the provider: its session is gone too
    page.click("#oidc-login")
    expect(page.locator("input[name=login]")).to_be_visible()
    assert page.errors == []


def test_roles_unknown_here_are_ignored_and_no_role_at_all_is_refused(site, provider, chromium):
    page = new_page(chromium, site.base_url)
    start_sign_in(page)
    sign_in_at_provider(page, "cora")
    page.wait_for_url(f"{site.base_url}/trade/")  # a compliance user may not trade: the page says so
    from django.contrib.auth import get_user_model

    assert user_roles(get_user_model().objects.get(username="cora")) == {"compliance"}

    other = new_page(chromium, site.base_url)
    start_sign_in(other)
    sign_in_at_provider(other, "nobody")
    other.wait_for_url(f"{site.base_url}/accounts/login/**")
    expect(other.locator(".errorlist")).to_contain_text("has no role for this site")
    assert not get_user_model().objects.filter(username="nobody").exists()


def redirect_rewritten(route, name: str, value: str) -> None:
    """Our /oidc/authenticate/ answer, with one parameter of its redirect to the provider changed, as an
    attacker in the middle would. (Playwright cannot intercept a redirect's target, only its start.)"""
    response = route.fetch(max_redirects=0)
    route.fulfill(
        response=response,
        headers={**response.headers, "location": with_param(response.headers["location"], name, value)},
    )


@pytest.mark.parametrize(
    ("name", "reason", "logged_reason"),
    [
        ("state", "does not belong to a sign-in started in this browser", "(state)"),
        ("nonce", "nonce is not the one this sign-in sent", "nonce"),
    ],
)
def test_a_tampered_state_or_nonce_is_refused(site, provider, chromium, name, reason, logged_reason):
    page = new_page(chromium, site.base_url)
    page.route(re.compile(r"/oidc/authenticate/"), lambda route: redirect_rewritten(route, name, "forged-" + name))

    start_sign_in(page)
    sign_in_at_provider(page, "erin")

    expect(page.locator("h1")).to_have_text("Sign-in refused")
    expect(page.locator(".errorlist")).to_contain_text(reason)
    page.goto("/trade/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/trade/$"))
    assert recorded(site).filter(action="auth.login_failed", payload__reason__icontains=logged_reason).exists()


def test_an_unreachable_provider_fails_the_sign_in_within_the_timeout_while_the_site_keeps_serving(
    site, provider, chromium
):
    page = new_page(chromium, site.base_url)
    timings = {}

    def consent_then_provider_stops(route):
        """After consent, follow the provider's redirects up to our callback, then freeze the provider:
        the browser arrives at the callback, and the site's token request gets no answer."""
        if route.request.method != "POST" or "prompt=consent" not in (route.request.post_data or ""):
            route.continue_()
            return
        location = route.fetch(max_redirects=0).headers["location"]
        while not location.startswith(site.base_url):
            location = page.context.request.get(location, max_redirects=0).headers["location"]
        os.kill(provider.pid, signal.SIGSTOP)
        timings["callback_started"] = time.monotonic()
        route.fulfill(status=303, headers={"location": location})

    page.route(re.compile(re.escape(f"{provider.issuer}/interaction/")), consent_then_provider_stops)
    others = []

    def other_requests():
        while "callback_started" not in timings and "done" not in timings:
            time.sleep(0.05)
        while "done" not in timings:
            started = time.monotonic()
            status = requests.get(f"{site.base_url}/healthz", timeout=10).status_code
            status = min(status, requests.get(f"{site.base_url}/accounts/login/", timeout=10).status_code)
            others.append((status, time.monotonic() - started))
            time.sleep(0.2)

    start_sign_in(page)
    meanwhile = threading.Thread(target=other_requests)
    meanwhile.start()
    try:
        sign_in_at_provider(page, "erin")
        page.wait_for_url(re.compile(r"/accounts/login/$"), timeout=20_000)
        timings["done"] = time.monotonic()
    finally:
        timings.setdefault("done", time.monotonic())
        meanwhile.join(15)
        os.kill(provider.pid, signal.SIGCONT)

    took = timings["done"] - timings["callback_started"]
    expect(page.locator(".errorlist")).to_contain_text("did not answer in time")
    assert TIMEOUT_SECONDS - 0.5 <= took <= TIMEOUT_SECONDS + 4, took
    assert len(others) >= 3 and all(status == 200 and seconds < 1.5 for status, seconds in others), others
    assert recorded(site).filter(action="auth.login_failed", payload__reason__icontains="did not answer").exists()


def test_an_integrator_calls_the_api_with_an_access_token_from_the_provider(site, provider, chromium):
    """A tool signs the user in at the provider itself (code flow with PKCE) and sends the provider's
    access token as a bearer token: the site checks it at the provider and acts as that user."""
    access_token = provider_access_token(chromium, site, provider, client=SITE_CLIENT)

    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {access_token}"
    accounts = api.get(f"{site.base_url}/api/v1/accounts", timeout=10)
    refused = requests.get(
        f"{site.base_url}/api/v1/accounts", headers={"Authorization": "Bearer not-a-token"}, timeout=10
    )

    assert accounts.status_code == 200 and accounts.json() == []
    assert refused.status_code == 401
    event = recorded(site).filter(action="api.request", actor="erin").latest("id")
    assert event.payload["auth"] == "oidc_bearer" and event.payload["status"] == 200


def test_an_access_token_the_provider_issued_to_another_application_is_refused(site, provider, chromium):
    """The same person, signed in at the same provider, but by another application: its access token is
    good at the provider's userinfo, yet it was not issued to this site, which must not act on it."""
    access_token = provider_access_token(chromium, site, provider, client=OTHER_CLIENT)
    assert requests.get(
        f"{provider.issuer}/me", headers={"Authorization": f"Bearer {access_token}"}, timeout=10
    ).ok  # the provider itself takes it

    refused = requests.get(
        f"{site.base_url}/api/v1/accounts", headers={"Authorization": f"Bearer {access_token}"}, timeout=10
    )

    assert refused.status_code == 401
    assert refused.json()["error"]["message"] == (
        "this access token was issued to another application ('reporting-tool'), not to this site ('tradingsite')"
    )
    from django.contrib.auth import get_user_model

    assert not get_user_model().objects.filter(username="erin").exists()
    assert not recorded(site).filter(payload__path="/api/v1/accounts").exists()


def provider_access_token(chromium, site, provider, *, client: tuple[str, str]) -> str:
    """erin's access token from the provider for `client`, as a tool gets one: the code flow with PKCE
    in a browser, arriving at the tool's address, then the code exchanged at the token endpoint."""
    client_id, client_secret = client
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    redirect_uri = f"{site.base_url}/tool-callback"
    query = {
        "client_id": client_id,
        "response_type": "code",
        "scope": "openid profile roles",
        "redirect_uri": redirect_uri,
        "state": "tool",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    page = new_page(chromium, site.base_url)
    arrived = {}

    def tool_callback(route):
        arrived["url"] = route.request.url
        route.fulfill(status=200, body="signed in")

    page.route(re.compile(re.escape(redirect_uri)), tool_callback)
    consent_redirect = re.compile(re.escape(f"{provider.issuer}/interaction/"))
    page.route(consent_redirect, lambda route: follow_to_tool(route, page, redirect_uri, arrived))
    page.goto(f"{provider.issuer}/auth?{urlencode(query)}")
    sign_in_at_provider(page, "erin")
    code = dict(parse_qsl(urlsplit(arrived["url"]).query))["code"]
    tokens = requests.post(
        f"{provider.issuer}/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": client_id,
            "client_secret": client_secret,
            "code_verifier": verifier,
        },
        timeout=10,
    ).json()
    page.context.close()
    return tokens["access_token"]


def follow_to_tool(route, page, redirect_uri: str, arrived: dict) -> None:
    """The provider's redirects after consent lead to the tool's address, where nothing listens: follow
    them here and note where they end."""
    if route.request.method != "POST" or "prompt=consent" not in (route.request.post_data or ""):
        route.continue_()
        return
    location = route.fetch(max_redirects=0).headers["location"]
    while not location.startswith(redirect_uri):
        location = page.context.request.get(location, max_redirects=0).headers["location"]
    arrived["url"] = location
    route.fulfill(status=200, body="signed in")
