"""Content Security Policy with a fresh nonce per response.

Scripts run only from this site or inline with the response's nonce (templates write
`nonce="{{ csp_nonce }}"`), so injected markup cannot run script. Style attributes stay allowed:
the chart library and the admin set them, and they cannot execute code.
"""

import secrets
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.functional import SimpleLazyObject


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def policy(nonce: str) -> str:
    # The OIDC sign-in and sign-out post forms whose answer redirects to the provider.
    form_targets = {origin_of(settings.OIDC_OP_AUTHORIZATION_ENDPOINT), origin_of(settings.OIDC_OP_LOGOUT_ENDPOINT)}
    form_action = " ".join(["'self'", *sorted(target for target in form_targets if target)])
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            # Redoc (the API reference) renders in a web worker it starts from a blob: URL.
            "worker-src 'self' blob:",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self' ws: wss:",
            "object-src 'none'",
            "base-uri 'self'",
            f"form-action {form_action}",
            "frame-ancestors 'none'",
        ]
    )


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        nonce = secrets.token_urlsafe(16)
        request.csp_nonce = nonce
        response = self.get_response(request)
        header = "Content-Security-Policy-Report-Only" if settings.CSP_REPORT_ONLY else "Content-Security-Policy"
        response.headers.setdefault(header, policy(nonce))
        return response


def csp_nonce(request):
    return {"csp_nonce": SimpleLazyObject(lambda: getattr(request, "csp_nonce", ""))}
