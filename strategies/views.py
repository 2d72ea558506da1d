"""The backtests page: pick a strategy, instruments, dates and parameters, follow the run's progress,
and read its equity and drawdown curves, figures and trades; two runs side by side."""

from django.contrib.auth.decorators import login_required, permission_required
from django.middleware.csrf import get_token
from django.shortcuts import render

from strategies.library import BUILT_IN
from trading.models import DayBar, Instrument


@login_required
@permission_required("strategies.view_backtestrun", raise_exception=True)
def backtests(request):
    with_history = DayBar.objects.values("instrument_id").distinct()
    symbols = Instrument.objects.filter(pk__in=with_history).order_by("tradingsymbol")
    boot = {
        "strategies": [
            {"name": s.name, "description": s.description, "parameters": s.schema()} for s in BUILT_IN.values()
        ],
        "instruments": [f"{i.exchange}:{i.tradingsymbol}" for i in symbols[:500]],
        "can_run": request.user.has_perm("strategies.add_backtestrun"),
        "csrf": get_token(request),
    }
    return render(request, "strategies/backtests.html", {"boot": boot})
