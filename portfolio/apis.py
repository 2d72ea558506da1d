"""Portfolio's API: positions with live P&L, the account summary, daily P&L history."""

from drf_spectacular.utils import (
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from portfolio.models import PnlDaily
from portfolio.selectors import (
    crosses_for_account,
    ledgers_for_account,
    pnl_history,
    pnl_totals,
    portfolio_summary,
    positions_for_account,
)
from trading.apis.base import AccountFilter, CanViewPositions, has_perm, query_params
from trading.orders import selectors
from tradingsite.serializers import OutputSerializer

CanViewPnl = has_perm("portfolio.view_pnldaily")


class PositionOutput(serializers.Serializer):
    account = serializers.IntegerField()
    exchange = serializers.CharField()
    tradingsymbol = serializers.CharField()
    instrument_token = serializers.IntegerField()
    product = serializers.CharField()
    quantity = serializers.IntegerField()
    average_price = serializers.DecimalField(max_digits=16, decimal_places=4)
    open_cost = serializers.DecimalField(
        max_digits=18, decimal_places=2, help_text="What the open quantity cost, negative for a short."
    )
    last_price = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    realised_pnl = serializers.DecimalField(max_digits=18, decimal_places=2)
    unrealised_pnl = serializers.DecimalField(max_digits=18, decimal_places=2)
    charges = serializers.DecimalField(max_digits=18, decimal_places=2)
    buy_quantity = serializers.IntegerField()
    sell_quantity = serializers.IntegerField()
    buy_value = serializers.DecimalField(max_digits=18, decimal_places=2)
    sell_value = serializers.DecimalField(max_digits=18, decimal_places=2)


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
        "open_cost": str(position.open_cost),
        "last_price": str(view.last_price) if view.last_price is not None else None,
        "realised_pnl": str(position.realised_pnl),
        "unrealised_pnl": str(view.unrealised_pnl),
        "charges": str(position.charges),
        "buy_quantity": position.buy_quantity,
        "sell_quantity": position.sell_quantity,
        "buy_value": str(position.buy_value),
        "sell_value": str(position.sell_value),
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


class PortfolioSummaryApi(APIView):
    permission_classes = [IsAuthenticated, CanViewPositions]

    @extend_schema(
        parameters=[AccountFilter],
        responses=inline_serializer(
            "PortfolioSummary",
            {
                "account": serializers.IntegerField(),
                "cash": serializers.DecimalField(max_digits=18, decimal_places=2),
                "funds_blocked": serializers.DecimalField(
                    max_digits=18,
                    decimal_places=2,
                    help_text="Margin held by open intraday positions and by working orders that may still fill.",
                ),
                "funds_available": serializers.DecimalField(
                    max_digits=18, decimal_places=2, help_text="Cash less the funds blocked: what new orders may use."
                ),
                "day_pnl": serializers.DictField(),
                "realised_pnl": serializers.DecimalField(max_digits=18, decimal_places=2),
                "unrealised_pnl": serializers.DecimalField(max_digits=18, decimal_places=2),
                "charges": serializers.DecimalField(max_digits=18, decimal_places=2),
                "net_pnl": serializers.DecimalField(max_digits=18, decimal_places=2),
                "performance": serializers.DictField(),
            },
        ),
    )
    def get(self, request):
        account_id = query_params(AccountFilter, request).get("account")
        return Response(portfolio_summary(selectors.account_default_for_user(request.user, account_id)))


class LedgerTotals(serializers.Serializer):
    realised_pnl = serializers.DecimalField(max_digits=18, decimal_places=2)
    unrealised_pnl = serializers.DecimalField(max_digits=18, decimal_places=2)
    charges = serializers.DecimalField(max_digits=18, decimal_places=2)
    net_pnl = serializers.DecimalField(max_digits=18, decimal_places=2)


class LedgerOutput(LedgerTotals):
    strategy = serializers.IntegerField(allow_null=True, help_text="Empty for the orders placed by hand.")
    name = serializers.CharField()
    fills = serializers.IntegerField()
    positions = PositionOutput(many=True)


class CrossOutput(serializers.Serializer):
    crossed_at = serializers.DateTimeField()
    tradingsymbol = serializers.CharField()
    product = serializers.CharField()
    seller = serializers.CharField(help_text="The ledger the quantity left: a strategy's name, or Manual.")
    buyer = serializers.CharField()
    quantity = serializers.IntegerField()
    price = serializers.DecimalField(max_digits=18, decimal_places=2)
    realised_pnl = serializers.DecimalField(max_digits=18, decimal_places=2)
    reason = serializers.CharField(help_text="squareoff: opposite ledgers at the MIS square-off; delivery: a CNC sale.")
    order = serializers.IntegerField(allow_null=True, help_text="The sale that made a delivery cross.")


class LedgersOutput(serializers.Serializer):
    account = serializers.IntegerField()
    ledgers = LedgerOutput(many=True)
    total = LedgerTotals(help_text="The account's own positions: each figure is the sum of the ledgers'.")
    crosses = CrossOutput(
        many=True,
        help_text="The latest 100 moves between ledgers with no trade (LedgerCross), newest first: where a "
        "ledger's realised P&L changed without a fill of its own.",
    )


def cross_row(cross) -> dict:
    return {
        "crossed_at": cross.crossed_at,
        "tradingsymbol": cross.instrument.tradingsymbol,
        "product": cross.product,
        "seller": cross.seller.name if cross.seller else "Manual",
        "buyer": cross.buyer.name if cross.buyer else "Manual",
        "quantity": cross.quantity,
        "price": str(cross.price),
        "realised_pnl": str(cross.realised_pnl),
        "reason": cross.reason,
        "order": cross.order_id,
    }


def totals_row(views) -> dict:
    totals = pnl_totals(views)
    return {
        "realised_pnl": str(totals["realised"]),
        "unrealised_pnl": str(totals["unrealised"]),
        "charges": str(totals["charges"]),
        "net_pnl": str(totals["net"]),
    }


class LedgerListApi(APIView):
    """Sub-ledgers: each strategy's positions, realised and unrealised P&L and charges within the
    account (orders placed by hand in the ledger named "Manual"), with the account's totals."""

    permission_classes = [IsAuthenticated, CanViewPositions]

    @extend_schema(parameters=[AccountFilter], responses=LedgersOutput)
    def get(self, request):
        account_id = query_params(AccountFilter, request).get("account")
        account = selectors.account_default_for_user(request.user, account_id)
        ledgers, positions = ledgers_for_account(account)
        return Response(
            {
                "account": account.pk,
                "ledgers": [
                    {
                        "strategy": ledger.strategy.pk if ledger.strategy is not None else None,
                        "name": ledger.name,
                        "fills": ledger.fills,
                        **totals_row(ledger.views),
                        "positions": [position_row(view) for view in ledger.views],
                    }
                    for ledger in ledgers
                ],
                "total": totals_row(positions),
                "crosses": [cross_row(cross) for cross in crosses_for_account(account)],
            }
        )


class PnlDailyOutput(OutputSerializer):
    class Meta:
        model = PnlDaily
        fields = ["date", "realised", "unrealised", "charges", "total", "cash", "equity"]


class PnlDailyFilters(AccountFilter):
    days = serializers.IntegerField(required=False, default=90, min_value=1, max_value=3650)


class PnlDailyApi(APIView):
    permission_classes = [IsAuthenticated, CanViewPnl]

    @extend_schema(parameters=[PnlDailyFilters], responses=PnlDailyOutput(many=True))
    def get(self, request):
        filters = query_params(PnlDailyFilters, request)
        account = selectors.account_default_for_user(request.user, filters.get("account"))
        return Response(PnlDailyOutput(pnl_history(account, days=filters["days"]), many=True).data)
