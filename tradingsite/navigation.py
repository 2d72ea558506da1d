"""The site's navigation: each entry names the permission or role it needs, so each role sees what it may use."""

from dataclasses import dataclass

from django.urls import reverse

from tradingsite.roles import STATUS_ROLES, user_roles


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    permission: str = ""
    roles: frozenset[str] = frozenset()
    staff: bool = False

    def allowed(self, user, roles: set[str]) -> bool:
        if self.permission and not user.has_perm(self.permission):
            return False
        if self.roles and not (self.roles & roles or user.is_superuser):
            return False
        return not (self.staff and not user.is_staff)


NAV_ITEMS = (
    NavItem("Home", "home"),
    NavItem("Trade", "trade", permission="trading.add_order"),
    NavItem("Dashboard", "dashboard", permission="trading.add_order"),
    NavItem("Backtests", "backtests", permission="strategies.add_backtestrun"),
    NavItem("RL agents", "rl-agents", permission="rl.view_agentmodel"),
    NavItem("Kite", "kite", permission="trading.change_tradingaccount"),
    NavItem("API", "api-docs", permission="tradingsite.add_apitoken"),
    NavItem("API tokens", "api-tokens", permission="tradingsite.add_apitoken"),
    NavItem("Approvals", "admin:trading_approvalrequest_changelist", permission="trading.view_approvalrequest"),
    NavItem("Audit trail", "admin:audit_auditevent_changelist", permission="audit.view_auditevent"),
    NavItem("System status", "system-status", roles=STATUS_ROLES),
    NavItem(
        "Scheduled jobs",
        "admin:django_celery_beat_periodictask_changelist",
        permission="django_celery_beat.view_periodictask",
    ),
    NavItem("Administration", "admin:index", staff=True),
)


def nav_items_for(user) -> list[dict]:
    if not user.is_authenticated:
        return []
    roles = user_roles(user)
    return [{"label": item.label, "url": reverse(item.url_name)} for item in NAV_ITEMS if item.allowed(user, roles)]


def navigation(request):
    user = getattr(request, "user", None)
    if user is None:
        return {}
    return {"nav_items": nav_items_for(user), "user_roles": sorted(user_roles(user))}
