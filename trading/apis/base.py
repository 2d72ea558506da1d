"""What every API view here shares: exact decimal inputs with honest schemas, query and body parsing,
pagination, and permissions by model permission."""

from decimal import Decimal

from django.http import QueryDict
from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiSerializerFieldExtension
from rest_framework import serializers
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.permissions import BasePermission
from rest_framework.views import APIView

from tradingsite.exceptions import ValidationError
from tradingsite.schema import AutoSchema

# PostgreSQL's integer and bigint: a quantity or id past these can be neither stored nor looked up.
INT_MAX = 2**31 - 1


BIGINT_MAX = 2**63 - 1


class DecimalInput(serializers.DecimalField):
    """A decimal taken as a string (a JSON number is taken too), whose schema's pattern is what is accepted:
    drf-spectacular's would allow '', '.', a minus sign, and values past the maximum, which are refused."""

    def __init__(self, *, pattern: str, **kwargs):
        self.pattern = pattern
        super().__init__(**kwargs)

    def validate_empty_values(self, data):
        # DRF's DecimalField reads '' as null; here null is null and '' is not a number.
        return serializers.Field.validate_empty_values(self, data)


class DecimalInputSchema(OpenApiSerializerFieldExtension):
    target_class = DecimalInput

    def map_serializer_field(self, auto_schema, direction):
        return {"type": "string", "format": "decimal", "pattern": self.target.pattern}


class BlankableText(serializers.CharField):
    """Text that may be blank (a filter left empty, a tag not given). Its schema is written here: the
    pattern the site's AutoSchema gives text (no NUL) matches '' too, and drf-spectacular offers blank
    as a second choice beside it (oneOf), so '' would match both and be invalid by the schema."""

    def __init__(self, **kwargs):
        super().__init__(allow_blank=True, **kwargs)


class BlankableTextSchema(OpenApiSerializerFieldExtension):
    target_class = BlankableText

    def map_serializer_field(self, auto_schema, direction):
        # Non-blank here; drf-spectacular adds the blank choice (oneOf ..., maxLength 0).
        return {"type": "string", "pattern": "^[^\\x00]+$"}


def schema_requires_any(serializer_class, *alternatives: list[str]) -> None:
    """Have the schema say what the serializer's validate() asks: at least one of these sets of fields."""

    class RequiresAny(OpenApiSerializerExtension):
        target_class = serializer_class

        def map_serializer(self, auto_schema, direction):
            schema = auto_schema._map_basic_serializer(self.target, direction)
            schema["anyOf"] = [{"required": names} for names in alternatives]
            return schema


class BodyRequiredSchema(AutoSchema):
    """For a PATCH that must change something: drf-spectacular makes a body required only when one field
    is, and every field of a PATCH is optional (schema_requires_any says which one must be there)."""

    def _get_request_body(self, direction="request"):
        body = super()._get_request_body(direction)
        if body is not None:
            body["required"] = True
        return body


def price_input(**kwargs) -> DecimalInput:
    """A price as NUMERIC(14,2) stores it, never negative: 0 to 999999999999.99."""
    return DecimalInput(
        max_digits=14, decimal_places=2, min_value=Decimal("0"), pattern=r"^\d{1,12}(?:\.\d{1,2})?$", **kwargs
    )


def amount_input(ceiling: Decimal, **kwargs) -> DecimalInput:
    """0 to `ceiling`, a power of ten, to the paisa."""
    digits = len(str(int(ceiling))) - 1
    if ceiling != 10**digits:
        raise ValueError(f"amount_input's pattern is written for a power of ten, not {ceiling}")
    pattern = rf"^(?:\d{{1,{digits}}}(?:\.\d{{1,2}})?|{int(ceiling)}(?:\.0{{1,2}})?)$"
    return DecimalInput(
        max_digits=digits + 3, decimal_places=2, min_value=Decimal("0"), max_value=ceiling, pattern=pattern, **kwargs
    )


def query_params(serializer_class, request) -> dict:
    """The request's query parameters, validated: a malformed or blank one is a 400 that names it.

    DRF reads a QueryDict as an HTML form, where a blank value of an optional field means "not given";
    as a plain dict a blank value is checked like any other (only fields that allow blank take it).
    """
    params = serializer_class(data=request.query_params.dict())
    params.is_valid(raise_exception=True)
    return params.validated_data


def body_fields(request):
    """The request body's fields, a form's as a plain dict. DRF reads a blank field of a form as "not
    given", so `price=` would pass where JSON's `"price": ""` is refused; read like this, both are."""
    data = request.data
    return data.dict() if isinstance(data, QueryDict) else data


PAGE_MAX = 500


class PageParams(serializers.Serializer):
    limit = serializers.IntegerField(required=False, min_value=1, max_value=PAGE_MAX)
    offset = serializers.IntegerField(required=False, min_value=0)


class Pagination(LimitOffsetPagination):
    """Limit and offset, checked: DRF would quietly use its default for a blank, malformed or negative one."""

    default_limit = 50
    max_limit = PAGE_MAX
    # Page-number paging's parameters, which this API does not take: a client sending them would get
    # the first page whatever it asked for.
    foreign = ("page", "page_size")

    def paginate_queryset(self, queryset, request, view=None):
        for name in self.foreign:
            if name in request.query_params:
                raise ValidationError(
                    f"{name}: this API pages with limit (at most {PAGE_MAX}) and offset, not {name}",
                    details={name: ["page with limit and offset"]},
                )
        self.asked = query_params(PageParams, request)
        return super().paginate_queryset(queryset, request, view)

    def get_limit(self, request):
        return self.asked.get("limit", self.default_limit)

    def get_offset(self, request):
        return self.asked.get("offset", 0)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        bounds = {"limit": {"minimum": 1, "maximum": PAGE_MAX}, "offset": {"minimum": 0}}
        for parameter in parameters:
            parameter["schema"].update(bounds.get(parameter["name"], {}))
        return parameters


def has_perm(codename: str) -> type[BasePermission]:
    class HasPerm(BasePermission):
        message = f"your role does not allow this ({codename})"

        def has_permission(self, request, view):
            return bool(request.user and request.user.has_perm(codename))

    return HasPerm


CanPlaceOrders = has_perm("trading.add_order")


CanChangeOrders = has_perm("trading.change_order")


CanChangeAccounts = has_perm("trading.change_tradingaccount")


CanViewInstruments = has_perm("trading.view_instrument")


CanViewOrders = has_perm("trading.view_order")


CanViewTrades = has_perm("trading.view_trade")


CanViewPositions = has_perm("trading.view_position")


CanViewAccounts = has_perm("trading.view_tradingaccount")


class AccountFilter(serializers.Serializer):
    account = serializers.IntegerField(required=False, min_value=1, max_value=BIGINT_MAX)


def paginated(view: APIView, request, queryset, serializer_class):
    paginator = Pagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)
