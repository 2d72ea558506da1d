"""Maker-checker for loosening risk control: raising a limit, resuming a halted or reducing account.

Tightening takes effect at once. Loosening is recorded as a pending request that a second person with
the approve permission (the ops and admin roles) approves or rejects; the change is applied when it
is approved, in the same transaction, with both people in the audit trail.
"""

from datetime import timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from trading.models import ApprovalRequest, TradingAccount
from trading.orders import locks
from trading.orders.accounts import account_limits_set, account_status_set
from tradingsite.exceptions import ApplicationError, ConflictError, NotFoundError, ValidationError

REQUEST_LIFETIME = timedelta(hours=24)
# For every limit but this one a larger value is looser; for the daily-loss action "reducing" is looser.
ACTION_STRICTNESS = {TradingAccount.Status.HALTED: 1, TradingAccount.Status.REDUCING: 0}
Kind, State = ApprovalRequest.Kind, ApprovalRequest.Status
# The most each limit may be set to: well inside its column (integer; NUMERIC(18,2), (6,2), (5,2)), and past
# what any account here needs. A band of 100% already admits any price down to zero; SEBI caps intraday
# leverage at 5x; Kite takes 10 orders a second.
LIMIT_CEILINGS = {
    "max_order_quantity": 10_000_000,
    "max_order_value": Decimal("1000000000000"),
    "price_band_percent": Decimal("100"),
    "max_position_value": Decimal("1000000000000"),
    "max_gross_exposure": Decimal("10000000000000"),
    "mis_leverage": Decimal("50"),
    "daily_loss_limit": Decimal("1000000000000"),
    "max_orders_per_second": 1000,
}


class ApprovalRefused(ApplicationError):
    code = "approval_refused"
    status = 403


def loosens(field: str, before, after) -> bool:
    if field == "daily_loss_action":
        return ACTION_STRICTNESS[after] < ACTION_STRICTNESS[before]
    return Decimal(str(after)) > Decimal(str(before))


def ceiling_passed(changes: dict) -> str | None:
    """A sentence naming the first limit in `changes` past its ceiling, or None when all are within."""
    for name, value in changes.items():
        ceiling = LIMIT_CEILINGS.get(name)
        if ceiling is not None and Decimal(str(value)) > ceiling:
            return f"{name} {value} is past its ceiling of {ceiling}"
    return None


def request_open(*, account, kind: str, changes: dict, reason: str, requested_by) -> ApprovalRequest:
    if ApprovalRequest.objects.filter(
        account=account, kind=kind, status=State.PENDING, expires_at__gt=timezone.now()
    ).exists():
        raise ConflictError(f"account {account.name} already has a pending request to {Kind(kind).label.lower()}")
    approval = ApprovalRequest.objects.create(
        account=account,
        kind=kind,
        changes=changes,
        reason=reason,
        requested_by=requested_by,
        expires_at=timezone.now() + REQUEST_LIFETIME,
    )
    audit_record(
        action="approval.request",
        actor=requested_by,
        object_type="approval",
        object_id=approval.pk,
        payload={"account": account.pk, "kind": kind, "changes": changes, "reason": reason},
    )
    return approval


def account_limits_change(
    *, account: TradingAccount, changes: dict, changed_by
) -> tuple[TradingAccount, ApprovalRequest | None]:
    """Apply the tightening part of `changes` now; the loosening part becomes a request for approval."""
    unknown = set(changes) - set(TradingAccount.RISK_LIMIT_FIELDS)
    if unknown:
        raise ValidationError(f"unknown risk limit(s): {', '.join(sorted(unknown))}")
    passed = ceiling_passed(changes)
    if passed:
        raise ValidationError(passed, code="limit_ceiling")
    with transaction.atomic():
        account = locks.account_lock(account.pk)
        looser = {name: value for name, value in changes.items() if loosens(name, getattr(account, name), value)}
        tighter = {name: value for name, value in changes.items() if name not in looser}
        if tighter:
            account = account_limits_set(account=account, changes=tighter, changed_by=changed_by)
        approval = None
        if looser:
            approval = request_open(
                account=account,
                kind=Kind.LIMITS_RAISE,
                changes={name: str(value) for name, value in looser.items()},
                reason="",
                requested_by=changed_by,
            )
    return account, approval


def account_resume_request(*, account: TradingAccount, requested_by, reason: str = "") -> ApprovalRequest:
    with transaction.atomic():
        account = locks.account_lock(account.pk)
        if account.status == TradingAccount.Status.ACTIVE:
            raise ConflictError(f"account {account.name} is already active")
        return request_open(
            account=account, kind=Kind.ACCOUNT_RESUME, changes={}, reason=reason, requested_by=requested_by
        )


def approval_decide(*, approval_id: int, decided_by, approve: bool, note: str = "") -> ApprovalRequest:
    if not decided_by.has_perm("trading.approve_approvalrequest"):
        raise ApprovalRefused("approving needs the ops or admin role")
    with transaction.atomic():
        approval = ApprovalRequest.objects.select_for_update(of=("self",)).filter(pk=approval_id).first()
        if approval is None:
            raise NotFoundError(f"no approval request {approval_id}")
        if approval.requested_by_id == decided_by.pk:
            raise ApprovalRefused("you cannot decide your own request: a second person must")
        if approval.status != State.PENDING:
            raise ConflictError(f"approval request {approval.pk} is already {approval.status}")
        now = timezone.now()
        if approval.expires_at <= now:
            ApprovalRequest.objects.filter(pk=approval.pk).update(status=State.EXPIRED)
            raise ConflictError(f"approval request {approval.pk} expired at {approval.expires_at:%Y-%m-%d %H:%M} UTC")
        approval.status = State.APPROVED if approve else State.REJECTED
        approval.decided_by, approval.decided_at, approval.decision_note = decided_by, now, note[:200]
        approval.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        audit_record(
            action=f"approval.{approval.status}",
            actor=decided_by,
            object_type="approval",
            object_id=approval.pk,
            payload={
                "account": approval.account_id,
                "kind": approval.kind,
                "changes": approval.changes,
                "requested_by": approval.requested_by.get_username(),
                "note": note[:200],
            },
        )
        if approve:
            approval_apply(approval, decided_by)
    return approval


# Kinds of request that another app applies (rl's agent promotion): kind -> apply(approval, approver),
# registered from that app's AppConfig.ready, so this module imports none of them.
APPLIERS = {}


def approval_kind_register(kind: str, apply) -> None:
    APPLIERS[kind] = apply


def approval_apply(approval: ApprovalRequest, approver) -> None:
    account = locks.account_lock(approval.account_id)
    if approval.kind in APPLIERS:
        APPLIERS[approval.kind](approval, approver)
        return
    if approval.kind == Kind.LIMITS_RAISE:
        changes = approval_changes(approval)
        account_limits_set(account=account, changes=changes, changed_by=approver)
    elif account.status != TradingAccount.Status.ACTIVE:
        reason = f"resumed: requested by {approval.requested_by.get_username()}, approved by {approver.get_username()}"
        account_status_set(account=account, status=TradingAccount.Status.ACTIVE, reason=reason, actor=approver)


def approval_changes(approval: ApprovalRequest) -> dict:
    """The stored changes as the account's fields take them. A request made before the ceilings (or
    edited in the back office) may ask for what cannot be stored: it is refused, and can be rejected."""
    changes, problem = {}, None
    for name, value in approval.changes.items():
        if name not in TradingAccount.RISK_LIMIT_FIELDS:
            problem = f"{name} is not a risk limit"
            break
        try:
            changes[name] = TradingAccount._meta.get_field(name).to_python(value)
        except DjangoValidationError:
            problem = f"{name} {value!r} is not a valid value"
            break
    if problem is None and changes.get("daily_loss_action", TradingAccount.Status.HALTED) not in ACTION_STRICTNESS:
        problem = f"daily_loss_action {changes['daily_loss_action']!r} is neither reducing nor halted"
    problem = problem or ceiling_passed(changes)
    if problem:
        raise ConflictError(
            f"approval request {approval.pk} cannot be applied: {problem}; reject it and ask again",
            code="approval_unappliable",
        )
    return changes


def approvals_for_user(user):
    """Approvers see every request; others see the requests on their own accounts."""
    approvals = ApprovalRequest.objects.select_related("account", "requested_by", "decided_by")
    if not user.has_perm("trading.approve_approvalrequest"):
        approvals = approvals.filter(account__owner=user)
    return approvals.order_by("-created_at")


def approval_for_user(user, approval_id) -> ApprovalRequest:
    approval = approvals_for_user(user).filter(pk=approval_id).first()
    if approval is None:
        raise NotFoundError(f"no approval request {approval_id}")
    return approval
