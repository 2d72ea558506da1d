"""How the API's authentication appears in the OpenAPI schema (loaded by TradingSiteConfig.ready)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "tradingsite.api_auth.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token (tsk_...) made on the API tokens page: 'read' or 'trade' scope.",
        }


class OIDCBearerScheme(OpenApiAuthenticationExtension):
    target_class = "tradingsite.oidc.OIDCBearerAuthentication"
    name = "oidcAccessToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "An access token from the OpenID provider."}
