"""Personal API tokens as an integrator meets them: made on a page and shown once, stored only as a hash,
scoped, expiring, revocable, and rate limited in Redis per token and per user."""

import hashlib
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.conftest import bearer
from tests.factories import OrderBody
from tests.trading.conftest import instrument_make
from trading.models import Order
from trading.orders.accounts import account_create
from tradingsite.models import ApiToken
from tradingsite.tokens import api_token_create

pytestmark = pytest.mark.django_db
BUY_1 = OrderBody(quantity=1)


@pytest.fixture
def market(alice):
    instrument_make("RELIANCE", 738561, "2500.00")
    return account_create(owner=alice, name="alice-paper", cash=Decimal("1000000"), created_by=alice)


def test_a_token_made_on_the_page_is_shown_once_stored_hashed_and_works(client_for, alice, market):
    page = client_for(alice)

    made = page.post("/accounts/tokens/", {"name": "my bot", "scope": "trade", "days": 30})
    key = re.search(r'id="new-token">(tsk_[\w-]+)<', made.content.decode()).group(1)
    again = page.get("/accounts/tokens/").content.decode()
    placed = bearer(key).post("/api/v1/orders", BUY_1, format="json")

    stored = ApiToken.objects.get(user=alice)
    assert made["Cache-Control"] == "no-store"
    assert key not in again and "my bot" in again and stored.prefix in again
    assert stored.key_hash == hashlib.sha256(key.encode()).hexdigest() and key not in str(stored.__dict__)
    assert timedelta(days=29) < stored.expires_at - timezone.now() <= timedelta(days=30)
    assert placed.status_code == 201 and Order.objects.get().placed_by == alice


def test_bad_token_requests_on_the_page_say_what_is_wrong(client_for, alice):
    page = client_for(alice)
    page.post("/accounts/tokens/", {"name": "bot", "scope": "read", "days": 30})

    too_long = page.post("/accounts/tokens/", {"name": "other", "scope": "read", "days": 4000})
    taken = page.post("/accounts/tokens/", {"name": "bot", "scope": "read", "days": 30})

    assert too_long.status_code == 400 and "1 to 365 days, not 4000" in too_long.content.decode()
    assert taken.status_code == 400 and "already have a token named" in taken.content.decode()
    assert ApiToken.objects.filter(user=alice).count() == 1


def test_a_read_token_reads_but_cannot_place_orders(alice, market):
    key = api_token_create(user=alice, name="dashboards", scope="read", days=1).key

    read = bearer(key).get("/api/v1/orders")
    refused = bearer(key).post("/api/v1/orders", BUY_1, format="json")

    assert read.status_code == 200
    assert refused.status_code == 403
    assert "'read' scope; POST needs a 'trade' token" in refused.json()["error"]["message"]
    assert not Order.objects.exists()


def test_a_token_never_allows_more_than_the_role(carol):
    key = api_token_create(user=carol, name="pull", scope="trade", days=1).key

    refused = bearer(key).post("/api/v1/orders", BUY_1, format="json")

    assert refused.status_code == 403 and "trading.add_order" in refused.json()["error"]["message"]


def test_revoked_and_expired_tokens_stop_working(client_for, alice, market):
    revoked = api_token_create(user=alice, name="old", scope="read", days=1)
    expired = api_token_create(user=alice, name="older", scope="read", days=1)
    ApiToken.objects.filter(pk=expired.token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert bearer(revoked.key).get("/api/v1/orders").status_code == 200

    client_for(alice).post(f"/accounts/tokens/{revoked.token.pk}/revoke")

    for key in (revoked.key, expired.key, "tsk_not-a-token"):
        response = bearer(key).get("/api/v1/orders")
        assert response.status_code == 401
        assert response.json()["error"]["message"] == "this API token is unknown, expired or revoked"
    page = client_for(alice).get("/accounts/tokens/").content.decode()
    assert "revoked" in page and "expired" in page


def test_another_user_cannot_revoke_my_token(client_for, alice, bob):
    token = api_token_create(user=alice, name="mine", scope="read", days=1)

    response = client_for(bob).post(f"/accounts/tokens/{token.token.pk}/revoke")

    assert response.status_code == 404
    assert bearer(token.key).get("/api/v1/orders").status_code == 200


def test_each_token_and_each_user_is_rate_limited_in_redis(settings, alice, market):
    settings.API_THROTTLE_TOKEN_PER_MINUTE = 3
    settings.API_THROTTLE_USER_PER_MINUTE = 5
    first = bearer(api_token_create(user=alice, name="one", scope="read", days=1).key)
    second = bearer(api_token_create(user=alice, name="two", scope="read", days=1).key)

    by_first = [first.get("/api/v1/accounts").status_code for _ in range(4)]
    by_second = [second.get("/api/v1/accounts").status_code for _ in range(3)]

    assert by_first == [200, 200, 200, 429]
    # the user's limit of 5 is shared by both tokens: 3 (+1 refused) by the first, so 2 more
    assert by_second[:1] == [200] and 429 in by_second
    refused = second.get("/api/v1/accounts")
    assert refused.status_code == 429 and 1 <= int(refused["Retry-After"]) <= 60


def test_an_admin_revokes_another_users_token_in_the_back_office_without_seeing_its_key(client_for, root_admin, alice):
    issued = api_token_create(user=alice, name="leaked", scope="trade", days=1)
    admin = client_for(root_admin)

    listed = admin.get("/admin/tradingsite/apitoken/").content.decode()
    admin.post("/admin/tradingsite/apitoken/", {"action": "revoke", "_selected_action": [issued.token.pk]})

    assert "leaked" in listed and issued.key not in listed and issued.token.key_hash not in listed
    assert bearer(issued.key).get("/api/v1/orders").status_code == 401
    from audit.models import AuditEvent

    event = AuditEvent.objects.filter(action="api_token.revoke").latest("id")
    assert (event.actor, event.payload["owner"]) == ("admin", "alice")
