"""API authentication by personal token: `Authorization: Bearer tsk_...`.

A `read` token may only read (GET, HEAD, OPTIONS); anything else is refused with 403 naming the scope.
A token never grants more than its user's role allows: permissions are still the user's.
"""

from rest_framework import authentication, exceptions
from rest_framework.permissions import SAFE_METHODS

from tradingsite.models import ApiToken
from tradingsite.tokens import TOKEN_PREFIX, api_token_for_key


def bearer_credential(request) -> str | None:
    parts = authentication.get_authorization_header(request).split()
    if len(parts) != 2 or parts[0].lower() not in (b"bearer", b"token"):
        return None
    try:
        return parts[1].decode()
    except UnicodeError:
        raise exceptions.AuthenticationFailed("the token contains characters a token never has") from None


def unauthenticated_reason(request) -> str:
    """What a request refused with 401 carried, as one of the fixed reasons of the metric (tradingsite/metrics.py)."""
    parts = authentication.get_authorization_header(request).split()
    if not parts:
        return "missing"
    if len(parts) != 2 or parts[0].lower() not in (b"bearer", b"token"):
        return "malformed"
    return "api_token" if parts[1].startswith(TOKEN_PREFIX.encode()) else "provider_token"


class ApiTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        key = bearer_credential(request)
        if key is None or not key.startswith(TOKEN_PREFIX):
            return None  # not ours: an OIDC access token, or no credentials
        token = api_token_for_key(key)
        if token is None:
            raise exceptions.AuthenticationFailed("this API token is unknown, expired or revoked")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("the user of this API token is deactivated")
        if token.scope == ApiToken.Scope.READ and request.method not in SAFE_METHODS:
            # DRF forgets who authenticated when authenticate() raises; the access record names them.
            request._request.api_token_refused = token
            raise exceptions.PermissionDenied(
                f"token {token.name!r} has the 'read' scope; {request.method} needs a 'trade' token"
            )
        return token.user, token

    def authenticate_header(self, request):
        return 'Bearer realm="api"'
