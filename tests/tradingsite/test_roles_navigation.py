"""Each role sees, and reaches, what it may use; the audit log is read-only in the admin for everyone."""

import pytest

from audit.models import AuditEvent
from audit.services import audit_record
from tradingsite.navigation import nav_items_for
from tradingsite.roles import UnknownRoleError, user_roles_set

pytestmark = pytest.mark.django_db


def labels(user) -> list[str]:
    return [item["label"] for item in nav_items_for(user)]


def test_navigation_shows_each_role_what_it_may_use(alice, carol, dave, root_admin):
    assert labels(alice) == ["Home", "Trade", "Dashboard", "Backtests", "RL agents", "Kite", "API", "API tokens"]
    assert labels(carol) == ["Home", "RL agents", "API", "API tokens", "Audit trail", "Administration"]
    assert labels(dave) == [
        "Home",
        "RL agents",
        "API",
        "API tokens",
        "Approvals",
        "System status",
        "Scheduled jobs",
        "Administration",
    ]
    assert labels(root_admin) == [
        *["Home", "Trade", "Dashboard", "Backtests", "RL agents", "Kite", "API", "API tokens", "Approvals"],
        "Audit trail",
        *["System status", "Scheduled jobs", "Administration"],
    ]


def test_the_page_header_renders_the_navigation_and_the_users_roles(client_for, carol):
    page = client_for(carol).get("/").content.decode()

    assert 'href="/admin/audit/auditevent/"' in page
    assert 'href="/status/"' not in page
    assert '<span class="badge">compliance</span>' in page


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_password_login_lands_on_home_and_is_audited(client, alice):
    from tests.conftest import PASSWORD

    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="10.1.2.3")

    assert response.status_code == 302
    assert response["Location"] == "/"
    event = AuditEvent.objects.filter(action="auth.login").latest("id")
    assert (event.actor, event.actor_id, event.client_ip) == ("alice", alice.pk, "10.1.2.3")
    assert len(event.request_id) == 32


def test_a_failed_login_is_audited_with_the_name_tried_and_no_password(client, alice):
    response = client.post("/accounts/login/", {"username": "alice", "password": "wrong-password"})

    assert response.status_code == 200
    assert "That username and password do not match an active account." in response.content.decode()
    event = AuditEvent.objects.filter(action="auth.login_failed").latest("id")
    assert event.payload == {"username": "alice", "via": "password"}
    assert "wrong-password" not in str(event.payload)


def test_system_status_is_for_ops_and_admin_only(client_for, alice, carol, dave):
    assert client_for(alice).get("/status/").status_code == 403
    assert client_for(carol).get("/status/").status_code == 403
    page = client_for(dave).get("/status/")
    assert page.status_code == 200
    assert "PostgreSQL" in page.content.decode() and "reachable" in page.content.decode()


def test_compliance_reads_the_audit_trail_in_the_admin_and_a_trader_cannot(client_for, alice, carol):
    event = audit_record(action="order.place", actor="tests", object_type="order", object_id="42")

    assert client_for(carol).get("/admin/audit/auditevent/").status_code == 200
    assert client_for(carol).get(f"/admin/audit/auditevent/{event.pk}/change/").status_code == 200
    # a trader is not staff: the admin sends them to its login page
    assert client_for(alice).get("/admin/audit/auditevent/").status_code == 302


def test_audit_log_is_read_only_in_the_admin_even_for_a_superuser(client_for, root_admin):
    event = audit_record(action="order.place", actor="tests", object_type="order", object_id="42")
    admin = client_for(root_admin)

    change_page = admin.get(f"/admin/audit/auditevent/{event.pk}/change/").content.decode()
    assert 'name="_save"' not in change_page
    assert admin.get("/admin/audit/auditevent/add/").status_code == 403
    assert admin.get(f"/admin/audit/auditevent/{event.pk}/delete/").status_code == 403
    assert admin.post(f"/admin/audit/auditevent/{event.pk}/change/", {"action": "x"}).status_code == 403
    assert AuditEvent.objects.get(pk=event.pk).action == "order.place"


def test_roles_are_exactly_the_four_and_changes_are_audited(alice):
    with pytest.raises(UnknownRoleError, match="unknown role"):
        user_roles_set(user=alice, roles={"superhero"})

    user_roles_set(user=alice, roles={"trader", "ops"}, actor="tests")

    alice.refresh_from_db()
    assert alice.is_staff
    event = AuditEvent.objects.filter(action="user.roles_set", object_id=str(alice.pk)).latest("id")
    assert event.payload["before"] == ["trader"] and event.payload["after"] == ["ops", "trader"]


def test_the_scheduled_chain_verification_shows_on_the_status_page(client_for, dave):
    from django.core.cache import cache

    from audit.chain import LAST_VERIFY_CACHE_KEY
    from audit.tasks import audit_chain_verify

    cache.delete(LAST_VERIFY_CACHE_KEY)
    assert "not run yet" in client_for(dave).get("/status/").content.decode()

    audit_chain_verify()  # the beat job's body, run in-process

    assert "intact," in client_for(dave).get("/status/").content.decode()


def test_a_role_change_takes_effect_on_the_next_request_despite_the_permission_cache(client_for, alice):
    from django.contrib.auth import get_user_model

    assert client_for(alice).get("/admin/audit/auditevent/").status_code == 302  # warms the cache: not allowed

    user_roles_set(user=alice, roles={"trader", "compliance"})
    assert client_for(get_user_model().objects.get(pk=alice.pk)).get("/admin/audit/auditevent/").status_code == 200

    user_roles_set(user=alice, roles={"trader"})
    alice = get_user_model().objects.get(pk=alice.pk)
    assert not alice.has_perm("audit.view_auditevent")
