"""Maker-checker for loosening risk control: raising a limit, resuming a halted or reducing account.

Tightening takes effect at once. Loosening is recorded as a pending request that a second person with
the approve permission (the ops and admin roles) approves or rejects; the change is applied when it
is approved, in the same transaction, with both people in the audit trail.
"""

from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from tradingsite.exceptions import ApplicationError, ConflictError, NotFoundError, ValidationError

from . import locks
from .models import ApprovalRequest, TradingAccount
from .services import account_limits_set, account_status_set

REQUEST_LIFETIME = timedelta(hours=24)
# For every limit but this one a larger value is looser; for the daily-loss action "reducing" is looser.
ACTION_STRICTNESS = {TradingAccount.Status.HALTED: 1, TradingAccount.Status.REDUCING: 0}
Kind, State = ApprovalRequest.Kind, ApprovalRequest.Status


class ApprovalRefused(ApplicationError):
    code = "approval_refused"
    status = 403


def loosens(field: str, before, after) -> bool:
    if field == "daily_loss_action":
        return ACTION_STRICTNESS[after] < ACTION_STRICTNESS[before]
    return Decimal(str(after)) > Decimal(str(before))


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


def approval_apply(approval: ApprovalRequest, approver) -> None:
    account = locks.account_lock(approval.account_id)
    if approval.kind == Kind.LIMITS_RAISE:
        field = TradingAccount._meta.get_field
        changes = {name: field(name).to_python(value) for name, value in approval.changes.items()}
        account_limits_set(account=account, changes=changes, changed_by=approver)
    elif account.status != TradingAccount.Status.ACTIVE:
        reason = f"resumed: requested by {approval.requested_by.get_username()}, approved by {approver.get_username()}"
        account_status_set(account=account, status=TradingAccount.Status.ACTIVE, reason=reason, actor=approver)


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
