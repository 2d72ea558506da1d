"""The back office finishes the job: ops open trading accounts and set risk limits there (a raise waits
for a second person), decide approval requests on a page that shows what they change and why the
account was stopped, with a note; audit times read to the second."""

from decimal import Decimal

import pytest

from audit.models import AuditEvent
from tests.conftest import api_for
from trading.models import ApprovalRequest, TradingAccount
from trading.orders.accounts import account_create

pytestmark = pytest.mark.django_db


def test_ops_open_a_trading_account_for_a_trader_and_it_is_audited(client_for, alice, dave):
    admin = client_for(dave)
    assert admin.get("/admin/trading/tradingaccount/add/").status_code == 200

    answer = admin.post(
        "/admin/trading/tradingaccount/add/",
        {"owner": alice.pk, "name": "alice-swing", "broker": "paper", "cash": "250000.00"},
        follow=True,
    )

    assert answer.status_code == 200
    account = TradingAccount.objects.get(name="alice-swing")
    assert (account.owner, account.cash, account.status) == (alice, Decimal("250000.00"), "active")
    event = AuditEvent.objects.get(action="account.create", object_id=str(account.pk))
    assert event.actor == "dave"
    # the same name twice for one owner is refused on the form, naming the problem
    again = admin.post(
        "/admin/trading/tradingaccount/add/",
        {"owner": alice.pk, "name": "alice-swing", "broker": "paper", "cash": "1.00"},
    )
    assert again.status_code == 200 and "already exists" in again.content.decode()
    assert TradingAccount.objects.filter(name="alice-swing").count() == 1


def test_a_lowered_limit_applies_at_once_and_a_raised_one_waits_for_a_second_person(client_for, alice, dave):
    account = account_create(owner=alice, name="alice-paper", cash=Decimal("1000000"), created_by=alice)
    admin = client_for(dave)
    form = admin.get(f"/admin/trading/tradingaccount/{account.pk}/change/").context["adminform"].form
    values = {name: form.initial[name] for name in TradingAccount.RISK_LIMIT_FIELDS}
    lower = account.max_order_value / 2
    higher = account.max_order_quantity * 2

    answer = admin.post(
        f"/admin/trading/tradingaccount/{account.pk}/change/",
        {**values, "max_order_value": str(lower), "max_order_quantity": str(higher)},
        follow=True,
    )

    page = answer.content.decode()
    assert f"Raising max_order_quantity to {higher} waits for a second person&#x27;s approval" in page
    account.refresh_from_db()
    assert account.max_order_value == lower  # applied now
    assert account.max_order_quantity == higher // 2  # unchanged until approved
    approval = ApprovalRequest.objects.get(account=account, status="pending")
    assert approval.changes == {"max_order_quantity": str(higher)}
    # past a limit's ceiling: refused on the form, naming the limit
    refused = admin.post(
        f"/admin/trading/tradingaccount/{account.pk}/change/",
        {**values, "max_order_quantity": "999999999"},
    )
    assert "max_order_quantity 999999999 is past its ceiling" in refused.content.decode()


def test_an_approval_page_shows_why_and_what_and_a_second_person_decides_it_with_a_note(client_for, alice, dave):
    account = account_create(owner=alice, name="alice-paper", cash=Decimal("1000000"), created_by=alice)
    api_for(alice).post(f"/api/v1/accounts/{account.pk}/halt", {"reason": "runaway algo"}, format="json")
    approval_id = (
        api_for(alice)
        .post(f"/api/v1/accounts/{account.pk}/resume", {"reason": "fixed the algo"}, format="json")
        .json()["approval"]["id"]
    )
    admin = client_for(dave)

    listed = admin.get("/admin/trading/approvalrequest/").content.decode()
    page = admin.get(f"/admin/trading/approvalrequest/{approval_id}/decide/").content.decode()

    assert f"/admin/trading/approvalrequest/{approval_id}/decide/" in listed
    assert "runaway algo" in page and "fixed the algo" in page and "alice" in page
    assert 'name="approve"' in page and 'name="reject"' in page and 'name="note"' in page
    decided = admin.post(
        f"/admin/trading/approvalrequest/{approval_id}/decide/",
        {"approve": "Approve", "note": "checked the logs"},
        follow=True,
    ).content.decode()
    assert f"Request {approval_id} approved and applied." in decided
    approval = ApprovalRequest.objects.get(pk=approval_id)
    assert (approval.status, approval.decided_by, approval.decision_note) == ("approved", dave, "checked the logs")
    assert 'name="approve"' not in decided and "checked the logs" in decided

    # the one who asked cannot decide: the page says so, and the service refuses
    form = admin.get(f"/admin/trading/tradingaccount/{account.pk}/change/").context["adminform"].form
    values = {name: form.initial[name] for name in TradingAccount.RISK_LIMIT_FIELDS}
    admin.post(
        f"/admin/trading/tradingaccount/{account.pk}/change/",
        {**values, "max_order_quantity": str(account.max_order_quantity * 2)},
    )
    mine = ApprovalRequest.objects.get(status="pending", requested_by=dave).pk
    assert (
        "You asked for this: a second person must decide it."
        in admin.get(f"/admin/trading/approvalrequest/{mine}/decide/").content.decode()
    )
    refused = admin.post(f"/admin/trading/approvalrequest/{mine}/decide/", {"approve": "Approve"}, follow=True)
    assert "You cannot decide your own request" in refused.content.decode()  # the admin capitalises it
    assert ApprovalRequest.objects.get(pk=mine).status == "pending"


def test_audit_times_read_to_the_second(client_for, carol, alice):
    account_create(owner=alice, name="alice-paper", cash=Decimal("1"), created_by=alice)
    event = AuditEvent.objects.get(action="account.create")
    page = client_for(carol).get("/admin/audit/auditevent/").content.decode()
    assert (
        event.created_at.astimezone(__import__("tradingsite.ist", fromlist=["IST"]).IST).strftime("%Y-%m-%d %H:%M:%S")
        in page
    )


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("mis_leverage", "0", "greater than or equal to 1"),
        ("max_order_value", "-5", "greater than or equal to"),
        ("max_order_quantity", "0", "greater than or equal to 1"),
        ("max_order_quantity", "-1", "greater than or equal to 0"),
        ("price_band_percent", "-3", "greater than or equal to"),
    ],
)
def test_the_limits_form_refuses_what_the_api_refuses(client_for, alice, dave, field, value, says):
    account = account_create(owner=alice, name="alice-paper", cash=Decimal("1000000"), created_by=alice)
    admin = client_for(dave)
    form = admin.get(f"/admin/trading/tradingaccount/{account.pk}/change/").context["adminform"].form
    values = {name: form.initial[name] for name in TradingAccount.RISK_LIMIT_FIELDS}

    answer = admin.post(f"/admin/trading/tradingaccount/{account.pk}/change/", {**values, field: value})

    assert answer.status_code == 200  # the form again, not a 500 and not saved
    errors = answer.context["adminform"].form.errors
    assert list(errors) == [field] and says in " ".join(errors[field]), errors
    before = getattr(account, field)
    account.refresh_from_db()
    assert getattr(account, field) == before
