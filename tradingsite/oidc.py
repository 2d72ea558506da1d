"""OpenID Connect sign-in and bearer access tokens (mozilla-django-oidc), with roles from a claim.

What mozilla-django-oidc leaves to the site, done here: the ID token's audience and issuer are
checked (the library checks only the signature and expiry); roles follow the provider's claim at
every sign-in; the claims of the ID token and of userinfo are read together; each failure is
recorded in the audit trail with its reason and shown to the person as a sentence; and a provider
that does not answer fails the sign-in after OIDC_TIMEOUT instead of hanging the request.
"""

import hashlib
import logging
from contextlib import contextmanager
from urllib.parse import urlencode, urlsplit

import jwt
import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import SuspiciousOperation
from django.http import HttpResponseBadRequest, HttpResponseRedirect
from django.template.loader import render_to_string
from django.urls import reverse
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.contrib.drf import OIDCAuthentication
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView
from requests.auth import HTTPBasicAuth
from rest_framework import exceptions

from audit.services import audit_record
from tradingsite.circuit import CircuitOpen, circuit
from tradingsite.roles import ROLES, user_roles_set

logger = logging.getLogger(__name__)


class OIDCLoginRefused(SuspiciousOperation):
    """The provider's answer cannot be trusted or names nobody we may let in; the message says why."""


def roles_from_claims(claims: dict) -> set[str]:
    raw = claims.get(settings.OIDC_ROLES_CLAIM) or []
    names = raw.split() if isinstance(raw, str) else [str(name) for name in raw if isinstance(name, str | int)]
    mapped = {settings.OIDC_ROLE_MAP.get(name, name) for name in names}
    return mapped & set(ROLES)


class RoleMappingOIDCBackend(OIDCAuthenticationBackend):
    # Signing in only: permissions come from CachedPermissionsBackend, which follows the roles set here.
    def get_all_permissions(self, user_obj, obj=None):
        return set()

    def has_perm(self, user_obj, perm, obj=None):
        return False

    def has_module_perms(self, user_obj, app_label):
        return False

    def _verify_jws(self, payload, key):
        header = jwt.get_unverified_header(payload)
        if header.get("alg") != self.OIDC_RP_SIGN_ALGO:
            raise OIDCLoginRefused(f"the ID token is signed with {header.get('alg')!r}, not {self.OIDC_RP_SIGN_ALGO}")
        try:
            return jwt.decode(
                payload,
                key,
                algorithms=[self.OIDC_RP_SIGN_ALGO],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=settings.OIDC_OP_ISSUER,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.InvalidTokenError as exc:
            raise OIDCLoginRefused(f"the ID token is not valid: {exc}") from exc

    def verify_token(self, token, **kwargs):
        try:
            return super().verify_token(token, **kwargs)
        except OIDCLoginRefused:
            raise
        except SuspiciousOperation as exc:
            if "Nonce" in str(exc):
                raise OIDCLoginRefused("the ID token's nonce is not the one this sign-in sent") from exc
            raise OIDCLoginRefused(str(exc)) from exc

    def get_token(self, payload):
        with provider_call():
            return super().get_token(payload)

    def retrieve_matching_jwk(self, token):
        with provider_call():
            return super().retrieve_matching_jwk(token)

    def get_userinfo(self, access_token, id_token, payload):
        # Roles may be in the ID token, in userinfo, or both; userinfo is the fresher.
        with provider_call():
            return {**(payload or {}), **super().get_userinfo(access_token, id_token, payload)}

    def verify_claims(self, claims):
        if not claims.get(settings.OIDC_USERNAME_CLAIM) and not claims.get("sub"):
            raise OIDCLoginRefused(f"the provider sent neither {settings.OIDC_USERNAME_CLAIM!r} nor 'sub'")
        if not roles_from_claims(claims):
            raise OIDCLoginRefused(
                f"your account at the provider has no role for this site (claim {settings.OIDC_ROLES_CLAIM!r} "
                f"names none of {', '.join(ROLES)})"
            )
        return True

    def username_of(self, claims) -> str:
        return str(claims.get(settings.OIDC_USERNAME_CLAIM) or claims["sub"])[:150]

    def filter_users_by_claims(self, claims):
        return get_user_model().objects.filter(username=self.username_of(claims))

    def create_user(self, claims):
        user = get_user_model().objects.create_user(
            username=self.username_of(claims), email=claims.get("email", "")[:254], password=None
        )
        audit_record(
            action="user.create",
            actor="system:oidc",
            object_type="user",
            object_id=user.pk,
            payload={"username": user.username, "source": "oidc", "subject": str(claims.get("sub", ""))},
        )
        return self.update_user(user, claims)

    def update_user(self, user, claims):
        if claims.get("email") and user.email != claims["email"]:
            user.email = claims["email"][:254]
            user.save(update_fields=["email"])
        # The provider is the source of roles: a role removed there is removed here at the next sign-in.
        user_roles_set(user=user, roles=roles_from_claims(claims), actor="system:oidc")
        return user

    def get_or_create_user(self, access_token, id_token, payload):
        try:
            return super().get_or_create_user(access_token, id_token, payload)
        except SuspiciousOperation as exc:
            # The library turns this into a plain "no user"; keep the reason for the callback to show.
            if getattr(self, "request", None) is not None:
                self.request.oidc_refusal = str(exc)
            raise OIDCLoginRefused(str(exc)) from exc


@contextmanager
def provider_call():
    """A call to the OpenID provider through its circuit breaker (tradingsite/circuit.py): while the
    circuit is open the call is not made and fails as an unreachable provider would, at once, so a
    provider that hangs does not hold a web thread per sign-in for the timeout. A timeout, a refused
    connection or a 5xx counts against the provider; any other answer, a 4xx included, for it."""
    breaker = circuit(f"oidc.{urlsplit(settings.OIDC_OP_TOKEN_ENDPOINT or '').netloc}")
    try:
        with breaker.call(provider_unreachable):
            yield
    except CircuitOpen as exc:
        raise requests.ConnectionError(f"the sign-in provider is not asked: {exc}") from None


def provider_unreachable(exc: BaseException) -> bool:
    if not isinstance(exc, requests.RequestException):
        return False
    response = getattr(exc, "response", None)
    return response is None or response.status_code >= 500


def login_failure_record(reason: str, **details) -> None:
    audit_record(
        action="auth.login_failed", actor=None, object_type="user", payload={"via": "oidc", "reason": reason, **details}
    )


class CallbackView(OIDCAuthenticationCallbackView):
    """The provider's redirect back: a forged or replayed answer is refused (400); a provider that cannot
    be reached or refuses us sends the person back to the sign-in page with the reason."""

    def get(self, request):
        if request.GET.get("error"):
            reason = f"the provider answered {request.GET['error']}: {request.GET.get('error_description', '')}"
            login_failure_record(reason.strip(": "))
            messages.error(request, f"Sign-in failed: {reason.strip(': ')}.")
        try:
            return super().get(request)
        except OIDCLoginRefused as exc:
            login_failure_record(str(exc))
            return refused(request, str(exc))
        except SuspiciousOperation as exc:  # the state is not one this browser's session started
            reason = "the sign-in answer does not belong to a sign-in started in this browser (state)"
            login_failure_record(reason, detail=str(exc))
            return refused(request, reason)
        except requests.RequestException as exc:
            reason = (
                "the sign-in provider did not answer in time"
                if is_timeout(exc)
                else "the sign-in provider could not be reached"
            )
            logger.warning("OIDC sign-in failed: %s", exc)
            login_failure_record(reason, detail=type(exc).__name__)
            messages.error(request, f"Sign-in failed: {reason}. Try again in a moment.")
            return HttpResponseRedirect(reverse("login"))

    def login_failure(self):
        if not self.request.GET.get("error"):
            reason = getattr(self.request, "oidc_refusal", "") or "the provider's answer did not sign anyone in"
            login_failure_record(reason)
            messages.error(self.request, f"Sign-in failed: {reason}.")
        return super().login_failure()


def is_timeout(exc: requests.RequestException) -> bool:
    return isinstance(exc, requests.Timeout) or "timed out" in str(exc).lower()


def refused(request, reason: str):
    body = render_to_string("registration/refused.html", {"reason": reason}, request=request)
    return HttpResponseBadRequest(body)


def provider_logout_url(request) -> str:
    local = request.build_absolute_uri(reverse(settings.LOGOUT_REDIRECT_URL))
    id_token = request.session.get("oidc_id_token")
    if not id_token or not settings.OIDC_OP_LOGOUT_ENDPOINT:
        return local
    query = urlencode({"id_token_hint": id_token, "post_logout_redirect_uri": local})
    return f"{settings.OIDC_OP_LOGOUT_ENDPOINT}?{query}"


class OIDCBearerAuthentication(OIDCAuthentication):
    """`Authorization: Bearer <provider access token>`, accepted only when the provider issued it to this
    site's client (OIDC_RP_CLIENT_ID): a token another application obtained for the same person must
    not let that application act here. Whom a token was issued to is asked of the provider's
    introspection endpoint when one is set (OIDC_OP_INTROSPECTION_ENDPOINT), else read from the token
    itself when it is a JWT signed with the provider's keys; an opaque token without introspection is
    refused. The person is then read from userinfo, and the answer cached for OIDC_BEARER_CACHE_SECONDS
    so a busy client does not call the provider every time."""

    def authenticate(self, request):
        access_token = self.get_access_token(request)
        if not access_token:
            return None
        key = "oidc-bearer:" + hashlib.sha256(access_token.encode()).hexdigest()
        user_id = cache.get(key)
        if user_id is not None:
            user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
            if user is not None:
                return user, access_token
        try:
            access_token_client_check(self.backend, access_token)
            found = super().authenticate(request)
        except requests.RequestException as exc:
            if getattr(exc, "response", None) is not None and exc.response.status_code in (400, 401, 403):
                raise exceptions.AuthenticationFailed("the provider does not accept this access token") from exc
            raise exceptions.AuthenticationFailed(
                "the sign-in provider could not be reached to check this token"
            ) from exc
        except SuspiciousOperation as exc:
            raise exceptions.AuthenticationFailed(f"access token refused: {exc}") from exc
        if found is not None:
            cache.set(key, found[0].pk, settings.OIDC_BEARER_CACHE_SECONDS)
        return found

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


def access_token_client_check(backend: OIDCAuthenticationBackend, access_token: str) -> None:
    """Raise AuthenticationFailed, naming why, unless the provider issued `access_token` to our client:
    its `aud` names our client id, or its `azp` or `client_id` is our client id."""
    ours = settings.OIDC_RP_CLIENT_ID
    if settings.OIDC_OP_INTROSPECTION_ENDPOINT:
        claims = access_token_introspect(backend, access_token)
        if claims.get("active") is not True:
            raise exceptions.AuthenticationFailed(
                "the provider says this access token is not active (expired, revoked or never issued)"
            )
    elif is_jwt(access_token):
        claims = access_token_jwt_verify(backend, access_token)
    else:
        raise exceptions.AuthenticationFailed(
            "this access token is opaque and the site has no introspection endpoint to ask whom it was issued "
            "to (OIDC_OP_INTROSPECTION_ENDPOINT), so it is not accepted"
        )
    audience = claims.get("aud") or []
    audience = [audience] if isinstance(audience, str) else [str(name) for name in audience]
    if ours in audience or ours in (claims.get("azp"), claims.get("client_id")):
        return
    holder = claims.get("client_id") or claims.get("azp") or ", ".join(audience)
    if not holder:
        raise exceptions.AuthenticationFailed(
            "the provider does not say whom this access token was issued to (no aud, azp or client_id), "
            f"so it is not accepted for client {ours!r}"
        )
    raise exceptions.AuthenticationFailed(
        f"this access token was issued to another application ({holder!r}), not to this site ({ours!r})"
    )


def access_token_introspect(backend: OIDCAuthenticationBackend, access_token: str) -> dict:
    """The provider's answer about the token (RFC 7662), authenticating as our client the way the token
    endpoint is called (client_secret_post, or Basic with OIDC_TOKEN_USE_BASIC_AUTH)."""
    data = {"token": access_token, "token_type_hint": "access_token"}
    client = (settings.OIDC_RP_CLIENT_ID, settings.OIDC_RP_CLIENT_SECRET)
    auth = None
    if backend.get_settings("OIDC_TOKEN_USE_BASIC_AUTH", False):
        auth = HTTPBasicAuth(*client)
    else:
        data |= {"client_id": client[0], "client_secret": client[1]}
    with provider_call():
        response = requests.post(
            settings.OIDC_OP_INTROSPECTION_ENDPOINT,
            data=data,
            auth=auth,
            verify=backend.get_settings("OIDC_VERIFY_SSL", True),
            timeout=settings.OIDC_TIMEOUT,
            proxies=backend.get_settings("OIDC_PROXY", None),
        )
        if response.status_code >= 500:
            response.raise_for_status()  # a provider in trouble counts against its circuit
    if response.status_code in (400, 401, 403):
        logger.warning(
            "the provider refused our introspection request (HTTP %s): %s", response.status_code, response.text[:500]
        )
        raise exceptions.AuthenticationFailed(
            f"the provider refused this site's question about the token (introspection answered HTTP "
            f"{response.status_code}), so it cannot be accepted"
        )
    response.raise_for_status()
    try:
        claims = response.json()
    except ValueError:
        claims = None
    if not isinstance(claims, dict):
        raise exceptions.AuthenticationFailed("the provider's introspection answer is not a JSON object")
    return claims


def is_jwt(token: str) -> bool:
    if token.count(".") != 2:
        return False
    try:
        jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:
        return False
    return True


def access_token_jwt_verify(backend: OIDCAuthenticationBackend, access_token: str) -> dict:
    """The claims of a JWT access token signed with the provider's key (as its ID tokens are), from our
    issuer and not expired; the audience is checked by the caller, which accepts `azp` too."""
    algorithm = settings.OIDC_RP_SIGN_ALGO
    alg = jwt.get_unverified_header(access_token).get("alg")
    if alg != algorithm:
        raise exceptions.AuthenticationFailed(f"the access token is signed with {alg!r}, not {algorithm}")
    try:
        key = backend.retrieve_matching_jwk(access_token)
    except KeyError as exc:
        raise exceptions.AuthenticationFailed("the access token does not name the key it is signed with") from exc
    try:
        return jwt.decode(
            access_token,
            key,
            algorithms=[algorithm],
            issuer=settings.OIDC_OP_ISSUER,
            options={"verify_aud": False, "require": ["exp", "iss"]},
        )
    except jwt.InvalidTokenError as exc:
        raise exceptions.AuthenticationFailed(f"the access token is not valid: {exc}") from exc
