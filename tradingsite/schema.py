"""The OpenAPI schema's authentication schemes (registered by TradingSiteConfig.ready) and error answers."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as BaseAutoSchema
from rest_framework import serializers


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


class ErrorDetail(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, for programs: e.g. invalid, not_found, risk_rejected.")
    message = serializers.CharField(help_text="A sentence for a person.")
    details = serializers.DictField(required=False)


class ErrorOutput(serializers.Serializer):
    error = ErrorDetail()


# The errors any operation can answer with, all in the one shape tradingsite.exceptions renders.
ERROR_RESPONSES = {
    "400": "The request is malformed; the message names the parameter or field.",
    "401": "No credentials, or a token that is unknown, expired or revoked.",
    "403": "The role or the token's scope does not allow this.",
    "404": "No such object among those you may see (another user's objects are not found either).",
    "406": "The requested response format is not available (ask for JSON).",
    "409": "The object is not in a state that allows this.",
    "415": "The request body is not in a supported format (send JSON).",
    "429": "Rate limited: the Retry-After header says when to try again.",
}


class AutoSchema(BaseAutoSchema):
    """drf-spectacular's schema, with the common error answers documented on every operation, and
    text fields saying what DRF enforces but the schema omits: they may not contain NUL characters."""

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        result = super()._map_serializer_field(field, direction, bypass_extensions)
        plain_text = result.get("type") == "string" and not {"pattern", "enum", "format"} & set(result)
        if direction == "request" and type(field) is serializers.CharField and plain_text:
            result["pattern"] = "^[^\\x00]*$"
        return result

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for status, description in ERROR_RESPONSES.items():
            if status not in responses:
                responses[status] = self._get_response_for_code(ErrorOutput, status)
                responses[status]["description"] = description
        return responses


# Values a trader would send, shown as examples in the API docs instead of strings made from a pattern.
EXAMPLES = {
    "exchange": "NSE",
    "tradingsymbol": "INFY",
    "transaction_type": "BUY",
    "order_type": "LIMIT",
    "product": "CNC",
    "validity": "DAY",
    "quantity": 10,
    "price": "1512.50",
    "trigger_price": "1500.00",
    "tag": "swing-infy",
    "instrument_token": 408065,
    "interval": "1d",
    "instruments": ["NSE:INFY", "NSE:TCS"],
    "strategy": "sma_crossover",
    "symbol": "INFY",
    "reason": "end of the trading day",
}
KINDS = {str: "string", int: "integer", list: "array"}


def operations_described(result, generator, request, public):
    """drf-spectacular postprocessing: a summary for every operation (the first sentence of its
    description, else its method and path) and real examples for the fields traders send."""
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or operation.get("summary"):
                continue
            description = (operation.get("description") or "").strip()
            first = description.split(". ")[0].split("\n\n")[0].strip().rstrip(".")
            operation["summary"] = (first[:100] + "…") if len(first) > 100 else first or f"{method.upper()} {path}"
    for schema in result.get("components", {}).get("schemas", {}).values():
        for name, field in (schema.get("properties") or {}).items():
            example = EXAMPLES.get(name)
            if example is not None and "example" not in field and field.get("type") == KINDS[type(example)]:
                field["example"] = example
    return result
