"""Strategies and backtests: the built-in strategies with their parameter schemas; backtest runs
created (queued for the workers), their progress and their results; walk-forward sweeps."""

from django.db import transaction
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from strategies.library import BUILT_IN
from strategies.models import BacktestRun, Sweep
from strategies.services import INTERVALS, backtest_run_create, backtest_runs_queue
from strategies.sweeps import METRICS, sweep_create
from trading.apis.base import BodyRequiredSchema, body_fields, has_perm
from trading.models import Order
from tradingsite.exceptions import NotFoundError
from tradingsite.serializers import OutputSerializer

CanRunBacktests = has_perm("strategies.add_backtestrun")
CanViewBacktests = has_perm("strategies.view_backtestrun")


class StrategyListApi(APIView):
    permission_classes = [IsAuthenticated, CanViewBacktests]

    @extend_schema(
        responses=inline_serializer(
            "BuiltInStrategy",
            {
                "name": serializers.CharField(),
                "description": serializers.CharField(),
                "parameters": serializers.DictField(),
            },
            many=True,
        ),
        description="The built-in strategies; `parameters` is each one's JSON schema.",
    )
    def get(self, request):
        return Response(
            [{"name": s.name, "description": s.description, "parameters": s.schema()} for s in BUILT_IN.values()]
        )


class BacktestSummaryOutput(OutputSerializer):
    class Meta:
        model = BacktestRun
        fields = [
            "id", "strategy_name", "parameters", "instruments", "interval", "start", "end", "capital",
            "slippage_bps", "participation", "charges", "product", "status", "progress", "error",
            "result_hash", "code_version", "created_at", "finished_at",
        ]  # fmt: skip


class BacktestOutput(BacktestSummaryOutput):
    class Meta(BacktestSummaryOutput.Meta):
        fields = [*BacktestSummaryOutput.Meta.fields, "figures", "equity", "trades"]


def runs_visible(user, model=BacktestRun):
    """A trader's own runs (or sweeps); the back office's roles (compliance, admin) read everyone's."""
    runs = model.objects.all()
    return runs if user.is_staff else runs.filter(created_by=user)


class BacktestInput(serializers.Serializer):
    strategy = serializers.ChoiceField(choices=list(BUILT_IN))
    instruments = serializers.ListField(
        child=serializers.RegexField(r"^(?:[A-Za-z]{2,8}:)?[A-Za-z0-9&_.-]{1,64}$", max_length=73),
        min_length=1,
        max_length=500,
        help_text='EXCHANGE:SYMBOL, e.g. "NSE:INFY" (NSE when the exchange is left out)',
    )
    start = serializers.DateField()
    end = serializers.DateField()
    interval = serializers.ChoiceField(choices=list(INTERVALS), default="1d")
    parameters = serializers.DictField(required=False, default=dict)
    capital = serializers.DecimalField(max_digits=15, decimal_places=2, min_value=1, default="1000000")
    slippage_bps = serializers.DecimalField(max_digits=6, decimal_places=2, min_value=0, max_value=1000, default="0")
    participation = serializers.DecimalField(max_digits=5, decimal_places=4, min_value=0, max_value=1, default="0")
    charges = serializers.BooleanField(default=True)
    # Order products, so the schema shares one enum with the orders API; NRML is refused (equity only).
    product = serializers.ChoiceField(choices=Order.Product.choices, default="CNC")


class BacktestListApi(APIView):
    schema = BodyRequiredSchema()

    def get_permissions(self):
        wanted = CanRunBacktests if self.request.method == "POST" else CanViewBacktests
        return [IsAuthenticated(), wanted()]

    @extend_schema(
        responses=BacktestSummaryOutput(many=True),
        description="Your backtest runs, newest first (everyone's for the compliance and admin roles).",
    )
    def get(self, request):
        runs = runs_visible(request.user).order_by("-created_at")[:200]
        return Response(BacktestSummaryOutput(runs, many=True).data)

    @extend_schema(
        request=BacktestInput,
        responses={202: BacktestSummaryOutput},
        description="Queues a backtest for the workers; follow its progress at /api/v1/backtests/{id}.",
    )
    def post(self, request):
        data = BacktestInput(data=body_fields(request))
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        with transaction.atomic():
            run = backtest_run_create(**fields, created_by=request.user)
            backtest_runs_queue([run.pk])
        return Response(BacktestSummaryOutput(run).data, status=202)


class BacktestDetailApi(APIView):
    permission_classes = [IsAuthenticated, CanViewBacktests]

    @extend_schema(
        responses=BacktestOutput, description="A run's progress, and once done its figures, equity and trades."
    )
    def get(self, request, run_id: int):
        run = runs_visible(request.user).filter(pk=run_id).first()
        if run is None:
            raise NotFoundError(f"no backtest {run_id} of yours")
        return Response(BacktestOutput(run).data)


class SweepInput(BacktestInput):
    parameters = None
    grid = serializers.DictField(
        child=serializers.ListField(min_length=1, max_length=100),
        help_text='Each parameter\'s values to try, e.g. {"fast": [5, 10], "slow": [20, 40]}; others take defaults.',
    )
    folds = serializers.IntegerField(min_value=1, max_value=20, default=3)
    metric = serializers.ChoiceField(choices=list(METRICS), default="sharpe")


class SweepOutput(OutputSerializer):
    runs = serializers.SerializerMethodField()

    class Meta:
        model = Sweep
        fields = [
            "id", "strategy_name", "grid", "metric", "folds", "shared", "start", "end", "status", "results",
            "runs", "created_at", "finished_at",
        ]  # fmt: skip

    def get_runs(self, sweep) -> dict:
        """How many of its runs are in each state (training and test runs together)."""
        counts = dict.fromkeys(BacktestRun.Status.values, 0)
        for status in sweep.runs.values_list("status", flat=True):
            counts[status] += 1
        return counts


class SweepListApi(APIView):
    schema = BodyRequiredSchema()

    def get_permissions(self):
        wanted = CanRunBacktests if self.request.method == "POST" else CanViewBacktests
        return [IsAuthenticated(), wanted()]

    @extend_schema(responses=SweepOutput(many=True), description="Your walk-forward sweeps, newest first.")
    def get(self, request):
        sweeps = runs_visible(request.user, Sweep).order_by("-created_at")[:100]
        return Response(SweepOutput(sweeps, many=True).data)

    @extend_schema(
        request=SweepInput,
        responses={202: SweepOutput},
        description="Cuts the dates into folds + 1 windows; fold k trains every combination of the grid on "
        "windows 0..k-1 and tests the best (by `metric`) on window k. Every run is a backtest for the workers; "
        "follow the sweep at /api/v1/sweeps/{id}.",
    )
    def post(self, request):
        data = SweepInput(data=body_fields(request))
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        sweep = sweep_create(**fields, created_by=request.user)
        return Response(SweepOutput(sweep).data, status=202)


class SweepDetailApi(APIView):
    permission_classes = [IsAuthenticated, CanViewBacktests]

    @extend_schema(responses=SweepOutput, description="A sweep's progress and, per fold, the winner's test figures.")
    def get(self, request, sweep_id: int):
        sweep = runs_visible(request.user, Sweep).filter(pk=sweep_id).first()
        if sweep is None:
            raise NotFoundError(f"no sweep {sweep_id} of yours")
        return Response(SweepOutput(sweep).data)
