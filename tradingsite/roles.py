"""The four roles, what each may do, and how users are given them.

Roles are Django groups whose permissions are synchronised from ROLE_PERMISSIONS after every
migrate, so a permission added with a new model reaches its roles without a hand-written migration.
"""

from django.apps import apps as global_apps
from django.contrib.auth.models import Group, Permission
from django.db import transaction

from audit.services import audit_record

TRADER, COMPLIANCE, OPS, ADMIN = "trader", "compliance", "ops", "admin"
ROLES = (TRADER, COMPLIANCE, OPS, ADMIN)

# "app_label.codename"; a trailing "*" takes every permission of that app.
ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    TRADER: (
        "trading.view_instrument",
        "trading.view_tradingaccount",
        "trading.change_tradingaccount",
        "trading.view_order",
        "trading.add_order",
        "trading.change_order",
        "trading.view_trade",
        "trading.view_position",
        "trading.view_strategy",
        "trading.add_strategy",
        "trading.change_strategy",
        "strategies.view_backtestrun",
        "strategies.add_backtestrun",
        "portfolio.view_pnldaily",
        "tradingsite.add_apitoken",
        "sentiment.view_article",
        "sentiment.view_symbolsentiment",
        "rl.view_agentmodel",
        "rl.view_agentdecision",
    ),
    COMPLIANCE: (
        "audit.view_auditevent",
        "audit.export_auditevent",
        "audit.view_auditcheckpoint",
        "tradingsite.add_apitoken",
        "trading.view_instrument",
        "trading.view_tradingaccount",
        "trading.view_order",
        "trading.view_trade",
        "trading.view_position",
        "trading.view_strategy",
        "strategies.view_backtestrun",
        "portfolio.view_pnldaily",
        "sentiment.view_article",
        "sentiment.view_symbolsentiment",
        "rl.view_agentmodel",
        "rl.view_agentdecision",
    ),
    OPS: (
        "django_celery_beat.*",
        "trading.view_instrument",
        "trading.change_instrument",
        "trading.view_tradingaccount",
        "trading.add_tradingaccount",
        "trading.view_outboxentry",
        "trading.view_chargerate",
        "auth.view_user",
        "auth.view_group",
        "tradingsite.add_apitoken",
        "trading.view_approvalrequest",
        "trading.approve_approvalrequest",
        "audit.view_auditcheckpoint",
        "sentiment.view_newssource",
        "sentiment.add_newssource",
        "sentiment.change_newssource",
        "sentiment.view_symbolalias",
        "sentiment.add_symbolalias",
        "sentiment.change_symbolalias",
        "sentiment.delete_symbolalias",
        "sentiment.view_article",
        "rl.view_agentmodel",
        "rl.view_agentdecision",
        "rl.promote_agentmodel",
    ),
    ADMIN: (
        "audit.view_auditevent",
        "audit.export_auditevent",
        "audit.view_auditcheckpoint",
        "tradingsite.*",
        "trading.*",
        "portfolio.*",
        "strategies.*",
        "sentiment.*",
        "rl.*",
        "django_celery_beat.*",
        "auth.*",
    ),
}
# Roles that work in the Django admin back office.
STAFF_ROLES = frozenset({COMPLIANCE, OPS, ADMIN})
# Roles that see the system status page (dependencies, probes, the audit chain's head).
STATUS_ROLES = frozenset({OPS, ADMIN})


class UnknownRoleError(ValueError):
    pass


def role_permissions(role: str) -> list[Permission]:
    permissions = []
    for spec in ROLE_PERMISSIONS[role]:
        app_label, codename = spec.split(".", 1)
        matching = Permission.objects.filter(content_type__app_label=app_label)
        if codename != "*":
            matching = matching.filter(codename=codename)
        permissions.extend(matching)
    return permissions


@transaction.atomic
def roles_sync() -> None:
    """Create the role groups and set each one's permissions to exactly what ROLE_PERMISSIONS says."""
    for role in ROLES:
        group, _ = Group.objects.get_or_create(name=role)
        wanted = {permission.pk for permission in role_permissions(role)}
        current = set(group.permissions.values_list("pk", flat=True))
        if wanted != current:
            group.permissions.set(wanted)
            audit_record(
                action="role.permissions_set",
                actor="system:roles_sync",
                object_type="group",
                object_id=group.pk,
                payload={"role": role, "added": len(wanted - current), "removed": len(current - wanted)},
            )


def roles_sync_after_migrate(sender, using=None, apps=global_apps, **kwargs):
    # post_migrate is sent once per app that has models; sync after the last, when every permission exists.
    with_models = [config for config in global_apps.get_app_configs() if config.models_module is not None]
    if with_models and sender.name == with_models[-1].name:
        roles_sync()


def user_roles(user) -> set[str]:
    if not user.is_authenticated:
        return set()
    return set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))


@transaction.atomic
def user_roles_set(*, user, roles: set[str], actor=None) -> None:
    """Give a user exactly these roles; staff access follows from them."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise UnknownRoleError(f"unknown role(s) {sorted(unknown)}; the roles are {list(ROLES)}")
    before = user_roles(user)
    user.groups.remove(*Group.objects.filter(name__in=set(ROLES) - set(roles)))
    user.groups.add(*Group.objects.filter(name__in=roles))
    user.is_staff = bool(set(roles) & STAFF_ROLES) or user.is_superuser
    user.save(update_fields=["is_staff"])
    if before != set(roles):
        audit_record(
            action="user.roles_set",
            actor=actor,
            object_type="user",
            object_id=user.pk,
            payload={"username": user.get_username(), "before": sorted(before), "after": sorted(roles)},
        )


@transaction.atomic
def user_create(*, username: str, password: str, roles: set[str], email: str = "", actor=None):
    """A new local user with these roles (local password login is for development)."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(username=username, email=email, password=password)
    audit_record(
        action="user.create", actor=actor, object_type="user", object_id=user.pk, payload={"username": username}
    )
    user_roles_set(user=user, roles=roles, actor=actor)
    return user
