"""The agents page: every agent's training progress (steps, the reward curve), status and the promotion
gate's verdict, a form to ask for a promotion (for those allowed), and the latest live decisions."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from rl.apis import agent_summary
from rl.live import decisions_visible
from rl.models import AgentModel
from rl.promotion import promotion_request
from trading.models import TradingAccount
from tradingsite.exceptions import ApplicationError

CURVE_WIDTH, CURVE_HEIGHT = 160, 36


def curve_points(curve: list) -> str:
    """The reward curve as an SVG polyline's points, scaled into the sparkline's box."""
    points = [(steps, reward) for steps, reward in curve if reward is not None]
    if len(points) < 2:
        return ""
    low, high = min(r for _, r in points), max(r for _, r in points)
    span, last = (high - low) or 1.0, points[-1][0] or 1
    return " ".join(
        f"{steps / last * CURVE_WIDTH:.1f},{CURVE_HEIGHT - (reward - low) / span * CURVE_HEIGHT:.1f}"
        for steps, reward in points
    )


def fold_sharpes(evaluation: dict) -> list[tuple]:
    """Per fold: its number, the agent's median Sharpe, buy-and-hold's."""
    out = []
    for fold in (evaluation or {}).get("folds", []):
        held = ((fold.get("benchmarks") or {}).get("buy_and_hold") or {}).get("sharpe")
        out.append((fold.get("fold"), (fold.get("median") or {}).get("sharpe"), held))
    return out


@login_required
@permission_required("rl.view_agentmodel", raise_exception=True)
def agents(request):
    rows = []
    for agent in AgentModel.objects.defer("policy", "checkpoint").order_by("-created_at")[:100]:
        summary = agent_summary(agent)
        summary["points"] = curve_points(agent.curve)
        summary["medians"] = fold_sharpes(agent.evaluation)
        rows.append(summary)
    decisions = []
    if request.user.has_perm("rl.view_agentdecision"):
        decisions = decisions_visible(request.user).order_by("-bar_at", "-pk")[:20]
    context = {
        "agents": rows,
        "decisions": decisions,
        "training": any(row["status"] == AgentModel.Status.TRAINING for row in rows),
        "can_promote": request.user.has_perm("rl.promote_agentmodel"),
        "accounts": (
            TradingAccount.objects.select_related("owner").order_by("name", "pk")
            if request.user.has_perm("rl.promote_agentmodel")
            else []
        ),
        "curve_width": CURVE_WIDTH,
        "curve_height": CURVE_HEIGHT,
    }
    return render(request, "rl/agents.html", context)


@login_required
@permission_required("rl.promote_agentmodel", raise_exception=True)
@require_POST
def agent_promote(request, name: str):
    chosen = request.POST.get("account", "")
    account = TradingAccount.objects.filter(pk=int(chosen)).first() if chosen.isdigit() else None
    if account is None:
        messages.error(request, "Choose the account the policy is to trade on.")
        return redirect("rl-agents")
    try:
        approval = promotion_request(
            agent_name=name, account=account, requested_by=request.user, reason=request.POST.get("reason", "")[:200]
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, f"Promotion of {name} onto {account.name} requested (#{approval.pk}): a second person approves it."
        )
    return redirect("rl-agents")
