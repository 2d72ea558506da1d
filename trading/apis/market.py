"""Market data: the instrument search, bars of an instrument, latest quotes."""

from datetime import UTC, datetime, timedelta

from django.utils import timezone
from drf_spectacular.utils import (
    extend_schema,
)
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from trading.apis.base import BlankableText, CanViewInstruments, Pagination, paginated, query_params
from trading.market.bars import INTERVALS, bars_default_start, bars_history
from trading.market.prices import quotes_latest
from trading.models import Instrument
from trading.orders import selectors
from tradingsite.serializers import OutputSerializer


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


class BarFilters(serializers.Serializer):
    interval = serializers.ChoiceField(choices=list(INTERVALS), default="1m")
    start = serializers.DateTimeField(
        required=False, help_text="From (inclusive); default: as far back as the latest `limit` bars before 'end' go."
    )
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
        # Without a start: the latest `limit` bars, however far back they are (after a weekend the 1m
        # chart shows Friday's session, not an empty last day).
        start = params.get("start")
        if start is None:
            found = bars_default_start(instrument.pk, params["interval"], end=end, limit=params["limit"])
            start = found or datetime.min.replace(tzinfo=UTC)  # fewer rows than that: all of them
        found = bars_history(instrument.pk, params["interval"], start=start, end=end, limit=params["limit"])
        return Response(BarOutput(found, many=True).data)


class QuoteFilters(serializers.Serializer):
    instruments = serializers.RegexField(
        r"^\d{1,12}(,\d{1,12}){0,499}$",
        help_text="Comma-separated instrument tokens, at most 500.",
        error_messages={"invalid": "instrument tokens are whole numbers separated by commas, at most 500"},
    )
    market = serializers.BooleanField(
        required=False,
        default=True,
        help_text="false leaves out each instrument's `market` (OHLC, depth): a watchlist needs only prices.",
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
    """The feed's view of the instrument (Kite's in its mode, the simulated feed's in full mode); fields its
    mode does not carry are absent."""

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
    market = MarketOutput(
        allow_null=True, help_text="Day totals, OHLC and depth from the feed (Kite's or the simulated one), else null."
    )


class QuoteListApi(APIView):
    """The latest price per instrument: from Redis (the feed's live price), else the database copy."""

    permission_classes = [IsAuthenticated, CanViewInstruments]

    @extend_schema(parameters=[QuoteFilters], responses=QuoteOutput(many=True))
    def get(self, request):
        params = query_params(QuoteFilters, request)
        return Response(QuoteOutput(quotes_latest(params["instruments"], market=params["market"]), many=True).data)
