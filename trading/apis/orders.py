"""The trading REST API (/api/v1/): one view per operation, input and output serializers nested.

Views parse, call a service or selector, and render; they hold no business logic. Another user's
objects are always 404, never 403, so ids cannot be probed.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.http import QueryDict
from django.utils import timezone
from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiSerializerFieldExtension
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from portfolio.models import PnlDaily
from portfolio.selectors import pnl_history, portfolio_summary, positions_for_account
from trading.market.bars import bars_history
from trading.market.prices import quotes_latest
from trading.models import ApprovalRequest, Instrument, Order, Trade, TradingAccount
from trading.orders import approvals, idempotency, selectors, services
from tradingsite.exceptions import ValidationError
from tradingsite.schema import AutoSchema, ErrorDetail, ErrorOutput
from tradingsite.serializers import OutputSerializer

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
CanViewPnl = has_perm("portfolio.view_pnldaily")


class AccountFilter(serializers.Serializer):
    account = serializers.IntegerField(required=False, min_value=1, max_value=BIGINT_MAX)


def paginated(view: APIView, request, queryset, serializer_class):
    paginator = Pagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)


class InstrumentOutput(OutputSerializer):
    class Meta:
        model = Instrument
        fields = [
            "id",
            "instrument_token",
            "exchange_token",
            "tradingsymbol",
            "name",
            "exchange",
            "segment",
            "instrument_type",
            "tick_size",
            "lot_size",
            "expiry",
            "strike",
            "last_price",
            "last_price_at",
        ]


class OrderOutput(OutputSerializer):
    instrument_token = serializers.IntegerField(source="instrument.instrument_token")

    class Meta:
        model = Order
        fields = [
            "id",
            "account",
            "strategy",
            "broker_order_id",
            "client_order_id",
            "variety",
            "exchange",
            "tradingsymbol",
            "instrument_token",
            "transaction_type",
            "order_type",
            "product",
            "validity",
            "quantity",
            "price",
            "trigger_price",
            "disclosed_quantity",
            "tag",
            "status",
            "status_message",
            "rejection_rule",
            "pending_request",
            "filled_quantity",
            "pending_quantity",
            "cancelled_quantity",
            "average_price",
            "modification_count",
            "adopted",
            "created_at",
            "updated_at",
        ]


class TradeOutput(OutputSerializer):
    class Meta:
        model = Trade
        fields = [
            "id",
            "trade_id",
            "order",
            "account",
            "exchange",
            "tradingsymbol",
            "transaction_type",
            "product",
            "quantity",
            "price",
            "brokerage",
            "stt",
            "exchange_charge",
            "sebi_fee",
            "stamp_duty",
            "gst",
            "total_charges",
            "realised_pnl",
            "fill_timestamp",
        ]


class AccountOutput(OutputSerializer):
    class Meta:
        model = TradingAccount
        fields = [
            "id",
            "name",
            "broker",
            "cash",
            "status",
            "status_reason",
            *TradingAccount.RISK_LIMIT_FIELDS,
            "created_at",
            "updated_at",
        ]


class InstrumentFilters(serializers.Serializer):
    search = BlankableText(required=False, max_length=64, help_text="Symbol prefix or name.")
    exchange = BlankableText(required=False, max_length=8)


class InstrumentListApi(APIView):
    pagination_class = Pagination
    permission_classes = [IsAuthenticated, CanViewInstruments]

    @extend_schema(parameters=[InstrumentFilters], responses=InstrumentOutput(many=True))
    def get(self, request):
        filters = query_params(InstrumentFilters, request)
        found = selectors.instruments_search(filters.get("search", ""), filters.get("exchange", ""))
        return paginated(self, request, found, InstrumentOutput)


BAR_SPAN = {
    "1m": timedelta(days=1),
    "5m": timedelta(days=5),
    "15m": timedelta(days=15),
    "1h": timedelta(days=90),
    "1d": timedelta(days=5 * 365),
}


class BarFilters(serializers.Serializer):
    interval = serializers.ChoiceField(choices=list(BAR_SPAN), default="1m")
    start = serializers.DateTimeField(required=False, help_text="From (inclusive); default: a span back from 'end'.")
    end = serializers.DateTimeField(required=False, help_text="To (exclusive); default: now.")
    limit = serializers.IntegerField(min_value=1, max_value=5000, default=1000, help_text="The latest bars kept.")


class BarOutput(serializers.Serializer):
    ts = serializers.DateTimeField()
    open = serializers.DecimalField(max_digits=14, decimal_places=2)
    high = serializers.DecimalField(max_digits=14, decimal_places=2)
    low = serializers.DecimalField(max_digits=14, decimal_places=2)
    close = serializers.DecimalField(max_digits=14, decimal_places=2)
    volume = serializers.IntegerField()


class InstrumentBarsApi(APIView):
    permission_classes = [IsAuthenticated, CanViewInstruments]

    @extend_schema(parameters=[BarFilters], responses=BarOutput(many=True))
    def get(self, request, instrument_token: int):
        params = query_params(BarFilters, request)
        instrument = selectors.instrument_lookup(instrument_token=instrument_token)
        end = params.get("end") or timezone.now() + timedelta(minutes=1)
        try:
            start = params.get("start") or end - BAR_SPAN[params["interval"]]
        except OverflowError:  # an end within the span of the year 1
            start = datetime.min.replace(tzinfo=UTC)
        found = bars_history(instrument.pk, params["interval"], start=start, end=end, limit=params["limit"])
        return Response(BarOutput(found, many=True).data)


class QuoteFilters(serializers.Serializer):
    instruments = serializers.RegexField(
        r"^\d{1,12}(,\d{1,12}){0,499}$",
        help_text="Comma-separated instrument tokens, at most 500.",
        error_messages={"invalid": "instrument tokens are whole numbers separated by commas, at most 500"},
    )

    def validate_instruments(self, value):
        try:
            tokens = [int(part) for part in value.split(",") if part.strip()]
        except ValueError:
            raise serializers.ValidationError("instrument tokens are whole numbers separated by commas") from None
        if not 0 < len(tokens) <= 500:
            raise serializers.ValidationError("name 1 to 500 instrument tokens")
        return tokens


class DepthLevelOutput(serializers.Serializer):
    price = serializers.DecimalField(max_digits=14, decimal_places=4)
    quantity = serializers.IntegerField()
    orders = serializers.IntegerField()


class MarketOutput(serializers.Serializer):
    """An exchange feed's view of the instrument (FEED=kite); fields its mode does not carry are absent."""

    mode = serializers.ChoiceField(choices=["ltp", "quote", "full"])
    tradable = serializers.BooleanField()
    last_quantity = serializers.IntegerField(required=False)
    average_price = serializers.DecimalField(max_digits=14, decimal_places=4, required=False)
    volume = serializers.IntegerField(required=False, help_text="The day's traded volume so far.")
    buy_quantity = serializers.IntegerField(required=False)
    sell_quantity = serializers.IntegerField(required=False)
    open = serializers.DecimalField(max_digits=14, decimal_places=4, required=False)
    high = serializers.DecimalField(max_digits=14, decimal_places=4, required=False)
    low = serializers.DecimalField(max_digits=14, decimal_places=4, required=False)
    close = serializers.DecimalField(
        max_digits=14, decimal_places=4, required=False, help_text="The previous session's close."
    )
    change = serializers.DecimalField(max_digits=14, decimal_places=4, required=False)
    last_trade_time = serializers.DateTimeField(required=False)
    oi = serializers.IntegerField(required=False)
    oi_day_high = serializers.IntegerField(required=False)
    oi_day_low = serializers.IntegerField(required=False)
    timestamp = serializers.DateTimeField(required=False, help_text="The exchange's time of the tick.")
    depth_buy = DepthLevelOutput(many=True, required=False)
    depth_sell = DepthLevelOutput(many=True, required=False)


class QuoteOutput(serializers.Serializer):
    instrument_token = serializers.IntegerField()
    exchange = serializers.CharField()
    tradingsymbol = serializers.CharField()
    last_price = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    source = serializers.ChoiceField(choices=["redis", "database", "none"])
    previous_close = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        allow_null=True,
        help_text="The day's change is measured from it: the last daily close before today, else today's open.",
    )
    market = MarketOutput(allow_null=True, help_text="Day totals, OHLC and depth from an exchange feed, else null.")


class QuoteListApi(APIView):
    """The latest price per instrument: from Redis (the feed's live price), else the database copy."""

    permission_classes = [IsAuthenticated, CanViewInstruments]

    @extend_schema(parameters=[QuoteFilters], responses=QuoteOutput(many=True))
    def get(self, request):
        tokens = query_params(QuoteFilters, request)["instruments"]
        return Response(QuoteOutput(quotes_latest(tokens), many=True).data)


class OrderListFilters(AccountFilter):
    status = serializers.ChoiceField(choices=Order.Status.choices, required=False)
    symbol = BlankableText(required=False, max_length=64, help_text="Blank: every symbol.")
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)


def rejection_details(order: Order) -> dict:
    """The rule that refused a placement and the numbers it used, for the 422 answer."""
    return getattr(order, "rejection_details", None) or {"rule": order.rejection_rule}


class RejectionOutput(serializers.Serializer):
    error = ErrorDetail()
    order = OrderOutput(required=False, help_text="The order as stored: REJECTED, with the rule and its sentence.")


class OrderListCreateApi(APIView):
    pagination_class = Pagination

    class InputSerializer(serializers.Serializer):
        account = serializers.IntegerField(
            required=False, min_value=1, max_value=BIGINT_MAX, help_text="Needed when you have several accounts."
        )
        instrument_token = serializers.IntegerField(required=False, min_value=1, max_value=BIGINT_MAX)
        exchange = serializers.CharField(required=False, max_length=8)
        tradingsymbol = serializers.CharField(required=False, max_length=64)
        transaction_type = serializers.ChoiceField(choices=Order.TransactionType.choices)
        order_type = serializers.ChoiceField(choices=Order.OrderType.choices)
        product = serializers.ChoiceField(choices=Order.Product.choices)
        validity = serializers.ChoiceField(choices=Order.Validity.choices, default=Order.Validity.DAY)
        quantity = serializers.IntegerField(min_value=1, max_value=INT_MAX)
        price = price_input(required=False, allow_null=True)
        trigger_price = price_input(required=False, allow_null=True)
        disclosed_quantity = serializers.IntegerField(
            min_value=0, max_value=INT_MAX, default=0, help_text="At most the quantity."
        )
        tag = BlankableText(max_length=20, required=False, default="")
        strategy = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=BIGINT_MAX)

        def validate(self, attrs):
            if attrs.get("instrument_token") is None and not (attrs.get("exchange") and attrs.get("tradingsymbol")):
                raise serializers.ValidationError(
                    "name the instrument: instrument_token, or exchange and tradingsymbol"
                )
            if attrs["disclosed_quantity"] > attrs["quantity"]:
                raise serializers.ValidationError(
                    {"disclosed_quantity": f"may not exceed the quantity ({attrs['quantity']})"}
                )
            return attrs

    def get_permissions(self):
        if self.request.method == "POST":
            return [IsAuthenticated(), CanPlaceOrders()]
        return [IsAuthenticated(), CanViewOrders()]

    @extend_schema(parameters=[OrderListFilters], responses=OrderOutput(many=True))
    def get(self, request):
        filters = query_params(OrderListFilters, request)
        filters["account_id"] = filters.pop("account", None)
        return paginated(self, request, selectors.orders_for_user(request.user, **filters), OrderOutput)

    @extend_schema(
        request=InputSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                {"type": "string", "minLength": 1, "maxLength": 255},
                OpenApiParameter.HEADER,
                required=False,
                description="Retrying with the same key and body answers with the first response, and "
                "places no second order.",
            ),
            OpenApiParameter(
                "Idempotent-Replayed",
                {"type": "string", "enum": ["true"]},
                OpenApiParameter.HEADER,
                response=[201, 422],
                description="Present when this is the stored response to an earlier request with the same "
                "Idempotency-Key.",
            ),
        ],
        responses={
            201: OrderOutput,
            422: OpenApiResponse(
                RejectionOutput,
                description="Refused by a risk rule (the order is stored as REJECTED and is in `order`; "
                "`error.details` names the rule and the numbers it used), or an Idempotency-Key reused "
                "with another body (no `order`).",
            ),
        },
    )
    def post(self, request):
        data = self.InputSerializer(data=body_fields(request))
        data.is_valid(raise_exception=True)
        params = data.validated_data
        account = selectors.account_default_for_user(request.user, params.get("account"))
        key = request.headers.get("Idempotency-Key")
        if key is not None:
            replay = idempotency.idempotency_begin(
                account=account, key=key, fingerprint=idempotency.request_fingerprint(request.data)
            )
            if replay is not None:
                return Response(replay.body, status=replay.status, headers={"Idempotent-Replayed": "true"})
        try:
            with transaction.atomic():
                order = self.place(request, account, params)
                status_code = 422 if order.status == Order.Status.REJECTED else 201
                body = OrderOutput(order).data
                if order.status == Order.Status.REJECTED:
                    body = {
                        "error": {
                            "code": "risk_rejected",
                            "message": order.status_message,
                            "details": rejection_details(order),
                        },
                        "order": body,
                    }
                if key is not None:
                    idempotency.idempotency_complete(account=account, key=key, status=status_code, body=body)
        except Exception:
            if key is not None:
                idempotency.idempotency_abandon(account=account, key=key)
            raise
        return Response(body, status=status_code)

    def place(self, request, account, params) -> Order:
        instrument = selectors.instrument_lookup(
            instrument_token=params.get("instrument_token"),
            exchange=params.get("exchange"),
            tradingsymbol=params.get("tradingsymbol"),
        )
        strategy = None
        if params.get("strategy") is not None:
            strategy = selectors.strategy_for_account(account, params["strategy"])
        return services.order_place(
            account=account,
            instrument=instrument,
            transaction_type=params["transaction_type"],
            order_type=params["order_type"],
            product=params["product"],
            quantity=params["quantity"],
            price=params.get("price"),
            trigger_price=params.get("trigger_price"),
            validity=params["validity"],
            disclosed_quantity=params["disclosed_quantity"],
            tag=params["tag"],
            strategy=strategy,
            placed_by=request.user,
        )


schema_requires_any(OrderListCreateApi.InputSerializer, ["instrument_token"], ["exchange", "tradingsymbol"])


class OrderDetailApi(APIView):
    schema = BodyRequiredSchema()

    class ModifySerializer(serializers.Serializer):
        quantity = serializers.IntegerField(
            min_value=1, max_value=INT_MAX, required=False, help_text="At least the order's disclosed_quantity."
        )
        price = price_input(required=False)
        trigger_price = price_input(required=False)
        order_type = serializers.ChoiceField(choices=Order.OrderType.choices, required=False)

        def validate_quantity(self, value):
            disclosed = self.context["order"].disclosed_quantity
            if value < disclosed:
                raise serializers.ValidationError(f"may not be less than the order's disclosed_quantity ({disclosed})")
            return value

        def validate(self, attrs):
            # A modification of nothing would still count against Kite's modifications of the order.
            if not attrs:
                raise serializers.ValidationError(f"name what to change: {', '.join(self.fields)}")
            return attrs

    def get_permissions(self):
        if self.request.method in ("PATCH", "DELETE"):
            return [IsAuthenticated(), CanChangeOrders()]
        return [IsAuthenticated(), CanViewOrders()]

    @extend_schema(responses=OrderOutput)
    def get(self, request, order_id: int):
        return Response(OrderOutput(selectors.order_for_user(request.user, order_id)).data)

    @extend_schema(
        request=ModifySerializer,
        responses={
            200: OrderOutput,
            202: OpenApiResponse(
                OrderOutput,
                description="At a broker that confirms modifications (Kite): the new terms are sent and pending "
                "(`pending_request` is `modify`) until the broker takes them; the order keeps its terms meanwhile.",
            ),
            422: OpenApiResponse(
                ErrorOutput, description="The new terms are refused by a risk rule; the order stands as it was."
            ),
        },
    )
    def patch(self, request, order_id: int):
        order = selectors.order_for_user(request.user, order_id)
        data = self.ModifySerializer(data=body_fields(request), context={"order": order})
        data.is_valid(raise_exception=True)
        order = services.order_modify(order=order, modified_by=request.user, **data.validated_data)
        return Response(OrderOutput(order).data, status=202 if order.pending_request == "modify" else 200)

    @extend_schema(
        responses={
            200: OrderOutput,
            202: OpenApiResponse(
                OrderOutput,
                description="At a broker that confirms cancels (Kite): the cancel is sent and pending "
                "(`pending_request` is `cancel`); the order is cancelled when the broker confirms, and stays "
                "as it is if the broker refuses (it filled first).",
            ),
        },
        description="Cancels the order; answers with it as cancelled, or (202) with its cancel pending at the broker.",
    )
    def delete(self, request, order_id: int):
        order = selectors.order_for_user(request.user, order_id)
        order = services.order_cancel(order=order, cancelled_by=request.user, reason="cancelled by user")
        return Response(OrderOutput(order).data, status=202 if order.pending_request == "cancel" else 200)


schema_requires_any(OrderDetailApi.ModifySerializer, *([name] for name in OrderDetailApi.ModifySerializer().fields))


class TradeListFilters(AccountFilter):
    order = serializers.IntegerField(required=False, min_value=1, max_value=BIGINT_MAX)
    symbol = BlankableText(required=False, max_length=64, help_text="Blank: every symbol.")


class TradeListApi(APIView):
    pagination_class = Pagination
    permission_classes = [IsAuthenticated, CanViewTrades]

    @extend_schema(parameters=[TradeListFilters], responses=TradeOutput(many=True))
    def get(self, request):
        filters = query_params(TradeListFilters, request)
        trades = selectors.trades_for_user(
            request.user,
            account_id=filters.get("account"),
            order_id=filters.get("order"),
            symbol=filters.get("symbol"),
        )
        return paginated(self, request, trades, TradeOutput)


class PositionOutput(serializers.Serializer):
    account = serializers.IntegerField()
    exchange = serializers.CharField()
    tradingsymbol = serializers.CharField()
    instrument_token = serializers.IntegerField()
    product = serializers.CharField()
    quantity = serializers.IntegerField()
    average_price = serializers.DecimalField(max_digits=16, decimal_places=4)
    last_price = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    realised_pnl = serializers.DecimalField(max_digits=18, decimal_places=2)
    unrealised_pnl = serializers.DecimalField(max_digits=18, decimal_places=2)
    charges = serializers.DecimalField(max_digits=18, decimal_places=2)
    buy_quantity = serializers.IntegerField()
    sell_quantity = serializers.IntegerField()


def position_row(view) -> dict:
    position = view.position
    return {
        "account": position.account_id,
        "exchange": position.instrument.exchange,
        "tradingsymbol": position.instrument.tradingsymbol,
        "instrument_token": position.instrument.instrument_token,
        "product": position.product,
        "quantity": position.quantity,
        "average_price": str(position.average_price),
        "last_price": str(view.last_price) if view.last_price is not None else None,
        "realised_pnl": str(position.realised_pnl),
        "unrealised_pnl": str(view.unrealised_pnl),
        "charges": str(position.charges),
        "buy_quantity": position.buy_quantity,
        "sell_quantity": position.sell_quantity,
    }


class PositionListApi(APIView):
    permission_classes = [IsAuthenticated, CanViewPositions]

    @extend_schema(parameters=[AccountFilter], responses=PositionOutput(many=True))
    def get(self, request):
        account_id = query_params(AccountFilter, request).get("account")
        accounts = (
            [selectors.account_for_user(request.user, account_id)]
            if account_id
            else selectors.accounts_for_user(request.user)
        )
        rows = [position_row(view) for account in accounts for view in positions_for_account(account)]
        return Response(rows)


class AccountListApi(APIView):
    permission_classes = [IsAuthenticated, CanViewAccounts]

    @extend_schema(responses=AccountOutput(many=True))
    def get(self, request):
        return Response(AccountOutput(selectors.accounts_for_user(request.user), many=True).data)


class AccountDetailApi(APIView):
    permission_classes = [IsAuthenticated, CanViewAccounts]

    @extend_schema(responses=AccountOutput)
    def get(self, request, account_id: int):
        return Response(AccountOutput(selectors.account_for_user(request.user, account_id)).data)


class ApprovalOutput(OutputSerializer):
    requested_by = serializers.CharField(source="requested_by.username")
    decided_by = serializers.CharField(source="decided_by.username", allow_null=True, default=None)

    class Meta:
        model = ApprovalRequest
        fields = [
            "id",
            "account",
            "kind",
            "changes",
            "reason",
            "status",
            "requested_by",
            "decided_by",
            "decision_note",
            "created_at",
            "expires_at",
            "decided_at",
        ]


class PendingApprovalOutput(serializers.Serializer):
    account = AccountOutput()
    approval = ApprovalOutput()


CEILINGS = approvals.LIMIT_CEILINGS


class AccountLimitsApi(APIView):
    schema = BodyRequiredSchema()

    class InputSerializer(serializers.Serializer):
        # Each at most its ceiling (approvals.LIMIT_CEILINGS), which fits the account's column.
        max_order_quantity = serializers.IntegerField(
            min_value=1, max_value=CEILINGS["max_order_quantity"], required=False
        )
        max_order_value = amount_input(CEILINGS["max_order_value"], required=False)
        price_band_percent = amount_input(CEILINGS["price_band_percent"], required=False)
        max_position_value = amount_input(CEILINGS["max_position_value"], required=False)
        max_gross_exposure = amount_input(CEILINGS["max_gross_exposure"], required=False)
        mis_leverage = DecimalInput(
            max_digits=4,
            decimal_places=2,
            min_value=Decimal("1"),
            max_value=CEILINGS["mis_leverage"],
            pattern=r"^(?:(?:[1-9]|[1-4]\d)(?:\.\d{1,2})?|50(?:\.0{1,2})?)$",
            required=False,
        )
        daily_loss_limit = amount_input(CEILINGS["daily_loss_limit"], required=False)
        daily_loss_action = serializers.ChoiceField(choices=["reducing", "halted"], required=False)
        max_orders_per_second = serializers.IntegerField(
            min_value=1, max_value=CEILINGS["max_orders_per_second"], required=False
        )

    permission_classes = [IsAuthenticated, CanChangeAccounts]

    @extend_schema(
        request=InputSerializer,
        responses={200: AccountOutput, 202: PendingApprovalOutput},
        description="Lower limits apply at once (200). Raised limits wait for a second person with the ops or "
        "admin role to approve them (202, with the request); lower ones in the same call still apply at once.",
    )
    def patch(self, request, account_id: int):
        account = selectors.account_for_user(request.user, account_id)
        data = self.InputSerializer(data=body_fields(request))
        data.is_valid(raise_exception=True)
        if not data.validated_data:
            raise ValidationError("name at least one limit to change")
        account, approval = approvals.account_limits_change(
            account=account, changes=data.validated_data, changed_by=request.user
        )
        if approval is None:
            return Response(AccountOutput(account).data)
        return Response({"account": AccountOutput(account).data, "approval": ApprovalOutput(approval).data}, status=202)


schema_requires_any(AccountLimitsApi.InputSerializer, *([name] for name in TradingAccount.RISK_LIMIT_FIELDS))


class ReasonSerializer(serializers.Serializer):
    reason = BlankableText(max_length=200, required=False, default="")


class AccountHaltApi(APIView):
    permission_classes = [IsAuthenticated, CanChangeOrders]

    @extend_schema(request=ReasonSerializer, responses=AccountOutput)
    def post(self, request, account_id: int):
        account = selectors.account_for_user(request.user, account_id)
        data = ReasonSerializer(data=body_fields(request))
        data.is_valid(raise_exception=True)
        reason = data.validated_data["reason"] or "kill switch"
        services.account_halt(account=account, reason=reason, halted_by=request.user)
        account.refresh_from_db()
        return Response(AccountOutput(account).data)


class AccountResumeApi(APIView):
    permission_classes = [IsAuthenticated, CanChangeAccounts]

    @extend_schema(
        request=ReasonSerializer,
        responses={202: PendingApprovalOutput},
        description="Asks to resume a halted or reducing account; it resumes when a second person with the ops "
        "or admin role approves.",
    )
    def post(self, request, account_id: int):
        account = selectors.account_for_user(request.user, account_id)
        data = ReasonSerializer(data=body_fields(request))
        data.is_valid(raise_exception=True)
        approval = approvals.account_resume_request(
            account=account, requested_by=request.user, reason=data.validated_data["reason"]
        )
        return Response({"account": AccountOutput(account).data, "approval": ApprovalOutput(approval).data}, status=202)


class PortfolioSummaryApi(APIView):
    permission_classes = [IsAuthenticated, CanViewPositions]

    @extend_schema(
        parameters=[AccountFilter],
        responses=inline_serializer(
            "PortfolioSummary",
            {
                "account": serializers.IntegerField(),
                "cash": serializers.DecimalField(max_digits=18, decimal_places=2),
                "day_pnl": serializers.DictField(),
                "realised_pnl": serializers.DecimalField(max_digits=18, decimal_places=2),
                "unrealised_pnl": serializers.DecimalField(max_digits=18, decimal_places=2),
                "charges": serializers.DecimalField(max_digits=18, decimal_places=2),
                "performance": serializers.DictField(),
            },
        ),
    )
    def get(self, request):
        account_id = query_params(AccountFilter, request).get("account")
        return Response(portfolio_summary(selectors.account_default_for_user(request.user, account_id)))


class PnlDailyOutput(OutputSerializer):
    class Meta:
        model = PnlDaily
        fields = ["date", "realised", "unrealised", "charges", "total", "cash"]


class PnlDailyFilters(AccountFilter):
    days = serializers.IntegerField(required=False, default=90, min_value=1, max_value=3650)


class PnlDailyApi(APIView):
    permission_classes = [IsAuthenticated, CanViewPnl]

    @extend_schema(parameters=[PnlDailyFilters], responses=PnlDailyOutput(many=True))
    def get(self, request):
        filters = query_params(PnlDailyFilters, request)
        account = selectors.account_default_for_user(request.user, filters.get("account"))
        return Response(PnlDailyOutput(pnl_history(account, days=filters["days"]), many=True).data)


class ApprovalFilters(serializers.Serializer):
    status = serializers.ChoiceField(choices=ApprovalRequest.Status.choices, required=False)


class ApprovalListApi(APIView):
    """Requests waiting for a second person: approvers (ops, admin) see all; others see their accounts' own."""

    pagination_class = Pagination
    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=[ApprovalFilters], responses=ApprovalOutput(many=True))
    def get(self, request):
        found = approvals.approvals_for_user(request.user)
        status = query_params(ApprovalFilters, request).get("status")
        if status:
            found = found.filter(status=status)
        return paginated(self, request, found, ApprovalOutput)


class ApprovalDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=ApprovalOutput)
    def get(self, request, approval_id: int):
        return Response(ApprovalOutput(approvals.approval_for_user(request.user, approval_id)).data)


class DecisionSerializer(serializers.Serializer):
    note = BlankableText(max_length=200, required=False, default="")


class ApprovalApproveApi(APIView):
    # The request is looked up first (another user's is a 404); approval_decide then needs the approve permission.
    permission_classes = [IsAuthenticated]
    approve = True

    @extend_schema(request=DecisionSerializer, responses=ApprovalOutput)
    def post(self, request, approval_id: int):
        approval = approvals.approval_for_user(request.user, approval_id)
        data = DecisionSerializer(data=body_fields(request))
        data.is_valid(raise_exception=True)
        approval = approvals.approval_decide(
            approval_id=approval.pk, decided_by=request.user, approve=self.approve, note=data.validated_data["note"]
        )
        return Response(ApprovalOutput(approval).data)


class ApprovalRejectApi(ApprovalApproveApi):
    approve = False
