"""Maker-checker: tightening risk limits takes effect at once; loosening them, or resuming a stopped
account, waits for a second person with the ops or admin role, and both people are on the record."""

from decimal import Decimal

import pytest

from audit.models import AuditEvent
from tests.conftest import api_for
from trading.models import ApprovalRequest, TradingAccount
from trading.orders.accounts import account_create

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def account(alice):
    return account_create(owner=alice, name="alice-paper", cash=D("1000000"), created_by=alice)


def test_lower_limits_apply_at_once_and_raised_ones_wait_for_approval(account, alice, dave):
    # when alice lowers one limit and raises two in one request
    changed = api_for(alice).patch(
        f"/api/v1/accounts/{account.pk}/limits",
        {"max_order_quantity": 500, "max_order_value": "5000000.00", "daily_loss_action": "reducing"},
        format="json",
    )

    # then the lower one applies now, the raised ones wait
    assert changed.status_code == 202
    body = changed.json()
    assert body["account"]["max_order_quantity"] == 500 and body["account"]["max_order_value"] == "1000000.00"
    assert body["approval"]["changes"] == {"max_order_value": "5000000.00", "daily_loss_action": "reducing"}
    account.refresh_from_db()
    assert (account.max_order_quantity, account.max_order_value, account.daily_loss_action) == (
        500,
        D("1000000"),
        "halted",
    )

    # when dave (ops) approves, the raised limits apply
    approved = api_for(dave).post(f"/api/v1/approvals/{body['approval']['id']}/approve", {}, format="json")
    account.refresh_from_db()
    assert approved.status_code == 200
    assert (account.max_order_value, account.daily_loss_action) == (D("5000000"), "reducing")
    limits_set = AuditEvent.objects.filter(action="account.limits_set", object_id=str(account.pk)).order_by("id")
    assert [event.actor for event in limits_set] == ["alice", "dave"]


def test_only_lower_limits_answer_200_with_the_account(account, alice):
    response = api_for(alice).patch(f"/api/v1/accounts/{account.pk}/limits", {"mis_leverage": "2.00"}, format="json")

    assert response.status_code == 200 and response.json()["mis_leverage"] == "2.00"
    assert not ApprovalRequest.objects.exists()


def test_nobody_approves_their_own_request_not_even_an_admin(root_admin, dave):
    account = account_create(owner=root_admin, name="house", cash=D("1000000"), created_by=root_admin)
    api = api_for(root_admin)
    approval = api.patch(f"/api/v1/accounts/{account.pk}/limits", {"max_order_quantity": 99999}, format="json")
    approval_id = approval.json()["approval"]["id"]

    own = api.post(f"/api/v1/approvals/{approval_id}/approve", {}, format="json")
    rejected = api_for(dave).post(f"/api/v1/approvals/{approval_id}/reject", {"note": "too big"}, format="json")
    again = api_for(dave).post(f"/api/v1/approvals/{approval_id}/approve", {}, format="json")

    assert own.status_code == 403 and "cannot decide your own request" in own.json()["error"]["message"]
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert again.status_code == 409 and "already rejected" in again.json()["error"]["message"]
    account.refresh_from_db()
    assert account.max_order_quantity == 10_000


def test_one_pending_request_per_kind_and_account(account, alice):
    api = api_for(alice)
    api.post(f"/api/v1/accounts/{account.pk}/halt", {}, format="json")

    first = api.post(f"/api/v1/accounts/{account.pk}/resume", {}, format="json")
    second = api.post(f"/api/v1/accounts/{account.pk}/resume", {}, format="json")

    assert first.status_code == 202
    assert second.status_code == 409 and "already has a pending request" in second.json()["error"]["message"]


def test_ops_approve_in_the_admin_back_office(client_for, account, alice, dave):
    api_for(alice).post(f"/api/v1/accounts/{account.pk}/halt", {}, format="json")
    approval_id = (
        api_for(alice).post(f"/api/v1/accounts/{account.pk}/resume", {}, format="json").json()["approval"]["id"]
    )
    admin = client_for(dave)

    listed = admin.get("/admin/trading/approvalrequest/")
    acted = admin.post(
        "/admin/trading/approvalrequest/", {"action": "approve", "_selected_action": [approval_id]}, follow=True
    )

    assert listed.status_code == 200 and "Approve selected requests" in listed.content.decode()
    assert f"Request {approval_id} approved and applied." in acted.content.decode()
    account.refresh_from_db()
    assert account.status == TradingAccount.Status.ACTIVE
    assert "approved by dave" in account.status_reason
