"""Production settings: `check --deploy` is clean, secrets come from files, pages carry a nonce-based
Content Security Policy, HSTS and frame denial, and password sign-in is off."""

import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from trading.orders.accounts import account_create

ROOT = Path(__file__).resolve().parents[2]


def production_env(tmp_path, **extra) -> dict[str, str]:
    secret = tmp_path / "secret-key"
    secret.write_text("s" * 40 + "-production-secret-key-from-a-file-0123456789")
    signing = tmp_path / "audit-key"
    signing.write_text("audit-signing-key-from-a-mounted-secret-file")
    env = {
        **os.environ,
        "PRODUCTION": "true",
        "SECRET_KEY_FILE": str(secret),
        "AUDIT_SIGNING_KEY_FILE": str(signing),
        "ALLOWED_HOSTS": "trade.example.com",
        "CSRF_TRUSTED_ORIGINS": "https://trade.example.com",
        "TRUSTED_PROXY_COUNT": "1",
        "OIDC_ENABLED": "true",
        "OIDC_RP_CLIENT_ID": "tradingsite",
        "OIDC_RP_CLIENT_SECRET": "client-secret",
        "OIDC_OP_ISSUER": "https://id.example.com",
        "OIDC_OP_AUTHORIZATION_ENDPOINT": "https://id.example.com/auth",
        "OIDC_OP_TOKEN_ENDPOINT": "https://id.example.com/token",
        "OIDC_OP_USER_ENDPOINT": "https://id.example.com/me",
        "OIDC_OP_JWKS_ENDPOINT": "https://id.example.com/jwks",
        **extra,
    }
    env.pop("DJANGO_DEBUG", None)
    return env


def manage(env, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_production_settings_pass_check_deploy_with_no_warnings(tmp_path):
    result = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_state_what_is_missing(tmp_path):
    no_secret = production_env(tmp_path)
    del no_secret["SECRET_KEY_FILE"]
    unreadable = production_env(tmp_path, SECRET_KEY_FILE=str(tmp_path / "absent"))
    no_oidc = production_env(tmp_path, OIDC_ENABLED="false")

    assert "SECRET_KEY (or SECRET_KEY_FILE) must be set" in manage(no_secret, "check").stderr
    assert "SECRET_KEY_FILE points at" in manage(unreadable, "check").stderr
    assert "OIDC_ENABLED must be on" in manage(no_oidc, "check").stderr


def test_production_answers_with_hsts_secure_cookies_and_no_password_sign_in(tmp_path):
    script = (
        "import django; django.setup();"
        "from django.conf import settings as s;"
        "print(s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT,"
        " s.LOCAL_LOGIN_ENABLED, s.AUDIT_SIGNING_KEY)"
    )
    env = {**production_env(tmp_path), "DJANGO_SETTINGS_MODULE": "tradingsite.settings"}
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)

    assert result.stdout.split() == [
        "31536000",
        "True",
        "True",
        "True",
        "False",
        "audit-signing-key-from-a-mounted-secret-file",
    ]


@pytest.mark.django_db
def test_pages_carry_a_nonce_csp_and_refuse_framing(client_for, alice):
    account_create(owner=alice, name="alice-paper", cash=Decimal("100000"), created_by=alice)
    first = client_for(alice).get("/trade/")
    second = client_for(alice).get("/trade/")

    policy = first["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([\w-]+)'", policy).group(1)
    assert "script-src 'self' 'nonce-" in policy and "frame-ancestors 'none'" in policy
    assert "object-src 'none'" in policy and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    assert nonce not in second["Content-Security-Policy"]
    assert first["X-Frame-Options"] == "DENY" and first["X-Content-Type-Options"] == "nosniff"
    # every script on the page is a file from this site (or inert JSON data): nothing inline to imitate
    scripts = re.findall(r"<script([^>]*)>", first.content.decode())
    code = [attributes for attributes in scripts if 'type="application/json"' not in attributes]
    assert code and all('src="/static/' in attributes for attributes in code)
    # nor inline event handlers, which the policy would block, on any page
    for path in ("/trade/", "/dashboard/", "/", "/accounts/tokens/"):
        assert not re.search(r"\son[a-z]+=", client_for(alice).get(path).content.decode()), path


@pytest.mark.django_db
def test_api_docs_run_no_inline_script(client_for, alice):
    for path in ("/api/docs/", "/api/redoc/"):
        page = client_for(alice).get(path).content.decode()
        assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page) == [], path
