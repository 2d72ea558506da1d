"""Writes on trading accounts: creation, status (halt and resume), risk limits, the daily-loss rule.

The kill switch, which also cancels the live orders, is `trading.orders.services.account_halt`."""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from trading.models import TradingAccount
from trading.orders import locks
from trading.orders.book import AccountBook
from trading.realtime import streams
from tradingsite.exceptions import ConflictError, ValidationError


def daily_loss_breach(account: TradingAccount, book: AccountBook) -> str:
    """Why an active account must move to its daily-loss status now; '' while it need not."""
    if account.status != TradingAccount.Status.ACTIVE:
        return ""
    total = book.day_total()
    if total <= -account.daily_loss_limit:
        return f"daily loss {-total:,.2f} reached the limit of {account.daily_loss_limit:,.2f}"
    return ""


def daily_loss_enforce(account: TradingAccount, book: AccountBook) -> None:
    """Move an active account to its configured status once today's loss reaches the limit."""
    reason = daily_loss_breach(account, book)
    if reason:
        account_status_set(account=account, status=account.daily_loss_action, reason=reason, actor="system:risk")


def account_status_set(*, account: TradingAccount, status: str, reason: str = "", actor=None) -> TradingAccount:
    before = account.status
    TradingAccount.objects.filter(pk=account.pk).update(status=status, status_reason=reason, updated_at=timezone.now())
    account.status, account.status_reason = status, reason
    streams.account_event(account.owner_id, "account", {"id": account.pk, "status": status, "reason": reason})
    audit_record(
        action=f"account.{status}",
        actor=actor,
        object_type="account",
        object_id=account.pk,
        payload={"before": before, "after": status, "reason": reason},
    )
    return account


def account_resume(*, account: TradingAccount, resumed_by=None, reason: str = "") -> TradingAccount:
    with transaction.atomic():
        account = locks.account_lock(account.pk)
        if account.status == TradingAccount.Status.ACTIVE:
            raise ConflictError(f"account {account.name} is already active")
        return account_status_set(account=account, status=TradingAccount.Status.ACTIVE, reason=reason, actor=resumed_by)


def account_limits_set(*, account: TradingAccount, changes: dict, changed_by=None) -> TradingAccount:
    unknown = set(changes) - set(TradingAccount.RISK_LIMIT_FIELDS)
    if unknown:
        raise ValidationError(f"unknown risk limit(s): {', '.join(sorted(unknown))}")
    with transaction.atomic():
        account = locks.account_lock(account.pk)
        before = {name: getattr(account, name) for name in changes}
        for name, value in changes.items():
            setattr(account, name, value)
        account.save(update_fields=[*changes, "updated_at"])
        audit_record(
            action="account.limits_set",
            actor=changed_by,
            object_type="account",
            object_id=account.pk,
            payload={"before": before, "after": changes},
        )
    return account


def account_create(*, owner, name: str, cash: Decimal, broker: str = TradingAccount.Broker.PAPER, created_by=None):
    with transaction.atomic():
        account = TradingAccount.objects.create(owner=owner, name=name, cash=cash, broker=broker)
        audit_record(
            action="account.create",
            actor=created_by,
            object_type="account",
            object_id=account.pk,
            payload={"owner": owner.get_username(), "name": name, "cash": cash, "broker": broker},
        )
    return account
