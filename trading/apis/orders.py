"""Orders and trades: place (idempotently), list, read, modify, cancel; the trade list."""

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from trading.apis.base import (
    BIGINT_MAX,
    INT_MAX,
    AccountFilter,
    BlankableText,
    BodyRequiredSchema,
    CanChangeOrders,
    CanPlaceOrders,
    CanViewOrders,
    CanViewTrades,
    Pagination,
    body_fields,
    paginated,
    price_input,
    query_params,
    schema_requires_any,
)
from trading.models import Order, Trade
from trading.orders import idempotency, selectors, services
from trading.orders.preview import order_preview
from tradingsite.schema import ErrorDetail, ErrorOutput
from tradingsite.serializers import Input, OutputSerializer


class OrderOutput(OutputSerializer):
    instrument_token = serializers.IntegerField(source="instrument.instrument_token")
    broker_waiting = serializers.SerializerMethodField(
        help_text="Why the order (or its latest change) has not reached the broker yet, such as the broker "
        "out of reach and its circuit open; empty when nothing waits. It is sent by itself once the broker answers."
    )

    def get_broker_waiting(self, order: Order) -> str:
        return (getattr(order, "broker_waiting", "") or "").removeprefix(selectors.BROKER_WAITING_PREFIX)

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
            "broker_waiting",
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

    class InputSerializer(Input):
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
        placement = idempotency.order_place_idempotent(
            account=account,
            key=request.headers.get("Idempotency-Key"),
            request_body=request.data,
            place=lambda: self.place(request, account, params),
            answer=self.answer,
        )
        headers = {"Idempotent-Replayed": "true"} if placement.replayed else None
        return Response(placement.body, status=placement.status, headers=headers)

    @staticmethod
    def answer(order: Order) -> tuple[int, dict]:
        """201 and the order; 422 and the risk rule's reason, with the order, when it was refused."""
        body = OrderOutput(order).data
        if order.status != Order.Status.REJECTED:
            return 201, body
        error = {"code": "risk_rejected", "message": order.status_message, "details": rejection_details(order)}
        return 422, {"error": error, "order": body}

    def place(self, request, account, params) -> Order:
        instrument = instrument_of(params)
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


def instrument_of(params: dict):
    return selectors.instrument_lookup(
        instrument_token=params.get("instrument_token"),
        exchange=params.get("exchange"),
        tradingsymbol=params.get("tradingsymbol"),
    )


def money_output(help_text: str, **kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=18, decimal_places=2, help_text=help_text, **kwargs)


class OrderPreviewOutput(serializers.Serializer):
    value = money_output(
        "Quantity x the reference price (the limit; for SL-M the trigger; for MARKET the last price). "
        "Null when there is none: see problems.",
        allow_null=True,
    )
    charges = money_output("Estimated charges of the order filled at that price in one fill.", allow_null=True)
    margin = money_output(
        "What the order would block from funds while it works: the value for a buy, the value over the "
        "MIS leverage for MIS, nothing for a sell of holdings.",
        allow_null=True,
    )
    funds_available = money_output("The account's cash less what open MIS positions and working orders block.")
    funds_after = money_output("funds_available less margin.", allow_null=True)
    confirm = serializers.BooleanField(help_text="The value is at least confirm_above: ask the trader to confirm.")
    confirm_above = money_output("The order value from which an order is confirmed (ORDER_CONFIRM_VALUE).")
    problems = serializers.ListField(
        child=serializers.CharField(),
        help_text="Why the risk checks would refuse the order now (the first rule it fails); empty if they pass.",
    )


class OrderPreviewApi(APIView):
    permission_classes = [IsAuthenticated, CanPlaceOrders]

    @extend_schema(
        request=OrderListCreateApi.InputSerializer,
        responses=OrderPreviewOutput,
        description="Previews an order: its value, charges and margin, and the risk rule it would fail. "
        "Takes the body of an order placement and runs the same risk checks, but places, stores and "
        "records nothing; a 200 answer says nothing about whether a placement would be accepted: "
        "`problems` does.",
        examples=[
            OpenApiExample(
                "A delivery buy",
                response_only=True,
                value={
                    "value": "15125.00",
                    "charges": "17.95",
                    "margin": "15125.00",
                    "funds_available": "1000000.00",
                    "funds_after": "984875.00",
                    "confirm": False,
                    "confirm_above": "200000.00",
                    "problems": [],
                },
            )
        ],
    )
    def post(self, request):
        data = OrderListCreateApi.InputSerializer(data=body_fields(request))
        data.is_valid(raise_exception=True)
        params = data.validated_data
        account = selectors.account_default_for_user(request.user, params.get("account"))
        instrument = instrument_of(params)
        if params.get("strategy") is not None:
            selectors.strategy_for_account(account, params["strategy"])  # as placement: another's is not found
        preview = order_preview(
            account=account,
            instrument=instrument,
            transaction_type=params["transaction_type"],
            order_type=params["order_type"],
            product=params["product"],
            quantity=params["quantity"],
            price=params.get("price"),
            trigger_price=params.get("trigger_price"),
        )
        return Response(OrderPreviewOutput(preview).data)


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
