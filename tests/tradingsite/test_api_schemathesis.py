"""Schemathesis generates requests from the OpenAPI schema and sends them to the site with a trader's
token: for every operation, well-formed requests, none of which may make a server error or an answer
the schema does not describe; for the order endpoints, malformed ones too, with every check there is
(`--checks all`), including that a request the schema forbids is refused and one it allows is accepted."""

from decimal import Decimal

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from django.test import Client
from hypothesis import HealthCheck, assume, given, settings
from schemathesis import GenerationMode
from schemathesis.core.parameters import ParameterLocation

from tests.trading.conftest import instrument_make
from trading.orders.accounts import account_create, account_limits_set
from trading.orders.services import order_place
from tradingsite.tokens import api_token_create

# Bounded, so the suite's run time stays predictable; every operation still gets this many requests.
EXAMPLES = 25
ORDERS = "/api/v1/orders"
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]  # schemathesis' own list
# Requests the schema allows that the site may still refuse, for reasons no schema can state: an order, or
# new terms for one, refused by a risk rule (tick, lot, price band, cash...: 422); an order whose
# disclosed_quantity exceeds its quantity, or a form whose price is null (a form can only say "null"): 400;
# the order preview takes the same body, so likewise 400 (a rule it would fail is in its 200 answer).
# A backtest whose end is before its start, or whose parameters its strategy does not take (each strategy's
# own schema is at /api/v1/strategies, not in this request's), or the NRML product (equity backtests are
# CNC or MIS): 400. A sweep likewise, and one whose grid names no parameter or values its strategy
# refuses: 400. Sentiment history longer than its window allows (7 days at 15m, a year at 1d): 400.
CONFIG = {
    "operations": [
        {
            "include-name": "POST /api/v1/backtests",
            "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, "400"]}},
        },
        {
            "include-name": "POST /api/v1/sweeps",
            "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, "400"]}},
        },
        {
            "include-name": "GET /api/v1/sentiment",
            "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, "400"]}},
        },
        {
            "include-name": f"POST {ORDERS}",
            "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, "400", "422"]}},
        },
        {
            "include-name": f"POST {ORDERS}/preview",
            "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, "400"]}},
        },
        {
            "include-name": f"PATCH {ORDERS}/{{order_id}}",
            "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, "422"]}},
        },
    ]
}


@pytest.fixture
def market(transactional_db, alice, settings):
    settings.API_THROTTLE_TOKEN_PER_MINUTE = settings.API_THROTTLE_USER_PER_MINUTE = 1_000_000
    account = account_create(owner=alice, name="alice-paper", cash=Decimal("10000000"), created_by=alice)
    # Room for the orders placed below, one for each request aimed at an order.
    big = Decimal("100000000000")
    account_limits_set(
        account=account,
        changes={"max_orders_per_second": 1000, "max_position_value": big, "max_gross_exposure": big},
    )
    reliance = instrument_make("RELIANCE", 738561, "2500.00")

    def resting_order():
        return order_place(
            account=account,
            instrument=reliance,
            transaction_type="BUY",
            order_type="LIMIT",
            product="CNC",
            quantity=1,
            price=Decimal("2450.00"),
            placed_by=alice,
        )

    resting_order()
    return account, reliance, resting_order


@pytest.fixture
def api_schema(market, alice):
    token = api_token_create(user=alice, name="schemathesis", scope="trade", days=1).key
    client = Client()
    client.force_login(alice)
    document = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    schema = schemathesis.openapi.from_dict(document, config=schemathesis.Config.from_dict(CONFIG))
    schema.app = get_wsgi_application()
    schema.config.headers = {"Authorization": f"Bearer {token}"}
    return schema


def sent_as_generated(case) -> bool:
    """Werkzeug (3.1), which encodes the multipart bodies schemathesis sends to the app, leaves out the line
    break that ends an empty part, so the part never arrives: the request the site gets is not this case."""
    return not (case.media_type == "multipart/form-data" and isinstance(case.body, dict) and "" in case.body.values())


def run_examples(api_schema, operation, *, mode=GenerationMode.POSITIVE, prepare=None) -> str | None:
    """Send EXAMPLES generated requests; the first failure's report, or None."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    def run(case):
        assume(sent_as_generated(case))
        if prepare is not None:
            prepare(case)
        case.call_and_validate(headers=api_schema.config.headers)

    try:
        run()
    except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - reported below, operation by operation
        return str(exc)[:3000]
    return None


def assert_no_failures(failures: dict[str, str | None]) -> None:
    failed = {label: report for label, report in failures.items() if report}
    assert not failed, "\n\n".join(f"{label}: {report}" for label, report in failed.items())


def test_no_generated_request_makes_a_server_error(api_schema):
    # Each operation is its own Hypothesis run (schemathesis' pytest plugin does not support this pytest),
    # and every failure is collected, so one run names all the operations that fail and why.
    operations = [result.ok() for result in api_schema.get_all_operations()]
    failures = {operation.label: run_examples(api_schema, operation) for operation in operations}

    assert len(operations) >= 17
    assert_no_failures(failures)


def test_the_order_endpoints_pass_every_check_with_valid_and_invalid_requests(api_schema, market):
    account, reliance, resting_order = market
    api_schema.config.checks.update(included_check_names=["all"])

    def aimed(case):
        """Point the parts the case made valid at what exists: a resting order of alice's, her account, an
        instrument with a price. Generated ids are almost never found, and a 404 would check little."""
        components = case.meta.components if case.meta else {}

        def valid(location) -> bool:
            return location not in components or components[location].mode.is_positive

        if case.path_parameters and valid(ParameterLocation.PATH):
            case.path_parameters = {"order_id": resting_order().pk}
        if case.operation.method == "post" and isinstance(case.body, dict) and valid(ParameterLocation.BODY):
            unnamed = {k: v for k, v in case.body.items() if k not in ("exchange", "tradingsymbol", "strategy")}
            case.body = {**unnamed, "instrument_token": reliance.instrument_token}
            if "account" in case.body:
                case.body["account"] = account.pk

    operations = [
        result.ok()
        for result in api_schema.get_all_operations()
        if result.ok().path == ORDERS or result.ok().path.startswith(f"{ORDERS}/")
    ]
    failures = {}
    for operation in operations:
        aims = [None, aimed] if operation.path != ORDERS or operation.method == "post" else [None]
        for mode in GenerationMode:
            for prepare in aims:
                label = f"{operation.label} ({mode.value}{', aimed' if prepare else ''})"
                failures[label] = run_examples(api_schema, operation, mode=mode, prepare=prepare)

    assert len(operations) == 6
    assert_no_failures(failures)
