"""Provider access tokens as API bearer tokens are accepted only when the provider issued them to this
site's client: asked of the provider's introspection endpoint when there is one, else read from a JWT
signed with the provider's keys; an opaque token with no way to ask is refused. A small provider on
loopback answers JWKS, userinfo and introspection as a real one does (the browser tests use a real one)."""

import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from tests.fakes.http import json_answer
from tradingsite.oidc import OIDCBearerAuthentication, RoleMappingOIDCBackend

pytestmark = pytest.mark.django_db
CLIENT_ID, CLIENT_SECRET = "tradingsite", "site-secret"
ERIN = {"sub": "erin", "preferred_username": "erin", "email": "erin@example.com", "roles": ["trader"]}


class Provider:
    """JWKS, userinfo (for the tokens it issued) and introspection (for our client's credentials only)."""

    def __init__(self):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.tokens: dict[str, dict] = {}  # access token -> introspection answer (userinfo is ERIN's)
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path == "/jwks":
                    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(provider.key.public_key(), as_dict=True)
                    return self.answer(200, {"keys": [{**jwk, "kid": "k1", "alg": "RS256", "use": "sig"}]})
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                if self.path == "/me" and (token in provider.tokens or token.count(".") == 2):
                    return self.answer(200, ERIN)
                return self.answer(401, {"error": "invalid_token"})

            def do_POST(self):
                form = dict(parse_qsl(self.rfile.read(int(self.headers["Content-Length"])).decode()))
                if (form.get("client_id"), form.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET):
                    return self.answer(401, {"error": "invalid_client"})
                return self.answer(200, provider.tokens.get(form.get("token"), {"active": False}))

            def answer(self, status: int, body: dict):
                json_answer(self, status, body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def opaque(self, **introspection) -> str:
        token = uuid.uuid4().hex
        self.tokens[token] = {"active": True, "sub": "erin", "token_type": "Bearer", **introspection}
        return token

    def signed(self, key=None, **claims) -> str:
        now = int(time.time())
        payload = {"iss": self.issuer, "sub": "erin", "iat": now, "exp": now + 300, **claims}
        return jwt.encode(payload, key or self.key, algorithm="RS256", headers={"kid": "k1"})


@pytest.fixture
def provider(settings):
    provider = Provider()
    settings.OIDC_RP_CLIENT_ID, settings.OIDC_RP_CLIENT_SECRET = CLIENT_ID, CLIENT_SECRET
    settings.OIDC_OP_ISSUER = provider.issuer
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = f"{provider.issuer}/auth"
    settings.OIDC_OP_TOKEN_ENDPOINT = f"{provider.issuer}/token"
    settings.OIDC_OP_USER_ENDPOINT = f"{provider.issuer}/me"
    settings.OIDC_OP_JWKS_ENDPOINT = f"{provider.issuer}/jwks"
    settings.OIDC_OP_INTROSPECTION_ENDPOINT = f"{provider.issuer}/introspect"
    yield provider
    provider.server.shutdown()
    provider.server.server_close()


def authenticate(token: str):
    request = Request(APIRequestFactory().get("/api/v1/accounts", HTTP_AUTHORIZATION=f"Bearer {token}"))
    return OIDCBearerAuthentication(backend=RoleMappingOIDCBackend()).authenticate(request)


def refusal(token: str) -> str:
    with pytest.raises(AuthenticationFailed) as refused:
        authenticate(token)
    return str(refused.value.detail)


def test_with_introspection_only_a_token_issued_to_this_site_is_accepted(provider):
    ours = provider.opaque(client_id=CLIENT_ID)
    for_us_as_audience = provider.opaque(client_id="reporting-tool", aud=["https://api.example", CLIENT_ID])

    user, token = authenticate(ours)

    assert (user.username, token) == ("erin", ours)
    assert authenticate(for_us_as_audience)[0] == user
    assert refusal(provider.opaque(client_id="other-tool")) == (
        "this access token was issued to another application ('other-tool'), not to this site ('tradingsite')"
    )
    assert "not active" in refusal(uuid.uuid4().hex)
    assert "does not say whom this access token was issued to" in refusal(provider.opaque())


def test_a_provider_refusing_our_introspection_request_refuses_the_token_and_says_so(provider, settings):
    settings.OIDC_RP_CLIENT_SECRET = "not-the-secret"

    assert "introspection answered HTTP 401" in refusal(provider.opaque(client_id=CLIENT_ID))


def test_without_introspection_a_jwt_access_token_is_verified_and_its_audience_or_azp_checked(provider, settings):
    settings.OIDC_OP_INTROSPECTION_ENDPOINT = ""
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    assert authenticate(provider.signed(aud=CLIENT_ID))[0].username == "erin"
    assert authenticate(provider.signed(aud="https://api.example", azp=CLIENT_ID))[0].username == "erin"
    assert "issued to another application ('other-tool')" in refusal(provider.signed(aud="other-tool"))
    assert "issued to another application ('other-tool')" in refusal(provider.signed(client_id="other-tool"))
    assert refusal(provider.signed(key=stranger, aud=CLIENT_ID)).startswith("the access token is not valid")
    assert "not valid" in refusal(provider.signed(aud=CLIENT_ID, iss="https://elsewhere.example"))
    assert "not valid" in refusal(provider.signed(aud=CLIENT_ID, exp=int(time.time()) - 60))


def test_without_introspection_an_opaque_token_is_refused_naming_the_setting(provider, settings):
    settings.OIDC_OP_INTROSPECTION_ENDPOINT = ""

    assert "OIDC_OP_INTROSPECTION_ENDPOINT" in refusal(provider.opaque(client_id=CLIENT_ID))
