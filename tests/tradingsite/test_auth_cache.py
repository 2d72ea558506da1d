"""API tokens are served from the cache between requests, and anything that changes what a token may do
takes effect on its very next request: revocation, the user deactivated, a role taken away; a sign-in
to the site changes nothing a token may do, and leaves the cache as it was."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tests.conftest import PASSWORD, bearer
from tests.factories import OrderBody
from tests.trading.conftest import instrument_make
from trading.orders.accounts import account_create
from tradingsite.models import ApiToken
from tradingsite.roles import COMPLIANCE, user_roles_set
from tradingsite.tokens import api_token_create, api_token_revoke

pytestmark = pytest.mark.django_db
BUY_1 = OrderBody(quantity=1)


@pytest.fixture
def trading(alice):
    instrument_make("RELIANCE", 738561, "2500.00")
    account_create(owner=alice, name="alice-paper", cash=Decimal("1000000"), created_by=alice)
    return bearer(api_token_create(user=alice, name="bot", scope="trade", days=1).key)


def token_reads(client: APIClient) -> tuple[int, int]:
    """(status, statements that read the token table) of one order list request."""
    with CaptureQueriesContext(connection) as queries:
        status = client.get("/api/v1/orders").status_code
    table = ApiToken._meta.db_table
    return status, sum(1 for query in queries.captured_queries if f'FROM "{table}"' in query["sql"])


def test_a_token_in_use_is_not_read_from_the_database_on_every_request(trading):
    first = token_reads(trading)
    second = token_reads(trading)

    assert first == (200, 1)
    assert second == (200, 0)


def test_a_revoked_token_is_refused_on_its_next_request_although_it_was_cached(trading, alice):
    assert trading.post("/api/v1/orders", BUY_1, format="json").status_code == 201
    assert token_reads(trading) == (200, 0)  # cached

    api_token_revoke(user=alice, token_id=ApiToken.objects.get(user=alice).pk)
    refused = trading.post("/api/v1/orders", BUY_1, format="json")

    assert refused.status_code == 401
    assert refused.json()["error"]["message"] == "this API token is unknown, expired or revoked"


def test_a_deactivated_users_cached_token_is_refused_on_its_next_request(trading, alice):
    assert token_reads(trading) == (200, 1)

    alice.is_active = False
    alice.save(update_fields=["is_active"])
    refused = trading.get("/api/v1/orders")

    assert refused.status_code == 401
    assert refused.json()["error"]["message"] == "the user of this API token is deactivated"


def test_a_role_taken_away_stops_a_cached_token_placing_orders_at_once(trading, alice):
    assert trading.post("/api/v1/orders", BUY_1, format="json").status_code == 201

    user_roles_set(user=alice, roles={COMPLIANCE}, actor="tests")
    refused = trading.post("/api/v1/orders", BUY_1, format="json")

    assert refused.status_code == 403
    assert "trading.add_order" in refused.json()["error"]["message"]


def test_someone_signing_in_to_the_site_does_not_empty_the_token_cache(trading, alice, client):
    assert token_reads(trading) == (200, 1)

    assert client.post("/accounts/login/", {"username": "alice", "password": PASSWORD}).status_code == 302

    assert token_reads(trading) == (200, 0)
