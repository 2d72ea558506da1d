"""Sub-ledgers: each strategy's positions, P&L and charges within an account, and the orders placed by
hand in their own, summing exactly to the account's positions, on the API and the dashboard."""

import random
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from audit.models import AuditEvent
from strategies.runner import strategy_holdings
from tests.conftest import api_for
from tests.portfolio.conftest import fill
from tests.trading.conftest import instrument_make, settle
from trading.brokers.paper import paper_tick
from trading.market.prices import price_key
from trading.models import Instrument, LedgerCross, Order, Position, Strategy, StrategyPosition, Trade, TradingAccount
from trading.orders.accounts import account_create
from trading.orders.book import account_book
from trading.orders.fills import fill_apply
from trading.orders.services import order_place
from trading.orders.sessions import SQUAREOFF_TAG, mis_squareoff

D = Decimal
pytestmark = pytest.mark.django_db
SUMMED = (
    "quantity",
    "open_cost",
    "realised_pnl",
    "buy_quantity",
    "buy_value",
    "sell_quantity",
    "sell_value",
    "charges",
)


@pytest.fixture
def desk(alice):
    infy = instrument_make("INFY", 408065, "1000.00")
    account = account_create(owner=alice, name="alice-desk", cash=D("10000000"), created_by=alice)
    trend, reversion = (
        Strategy.objects.create(account=account, name=name, kind=Strategy.Kind.RULE, logic="sma_crossover")
        for name in ("trend", "reversion")
    )
    return infy, account, trend, reversion


def test_two_strategies_and_manual_orders_in_one_instrument_each_keep_their_own_books_summing_to_the_account(
    desk, alice
):
    infy, account, trend, reversion = desk
    # given, in one instrument: trend buys 10 @ 1000; a manual short of 4 @ 1100; reversion buys 5 @ 1050;
    # trend sells 6 @ 1200 (realising 6 x 200 = 1,200 in its book); the manual short is bought back @ 1150
    # (realising 4 x -50 = -200 in its book)
    fill(account, infy, "BUY", 10, "1000.00", trend)
    fill(account, infy, "SELL", 4, "1100.00")
    fill(account, infy, "BUY", 5, "1050.00", reversion)
    fill(account, infy, "SELL", 6, "1200.00", trend)
    fill(account, infy, "BUY", 4, "1150.00")
    paper_tick(instrument=infy, price=D("1180.00"))

    # when
    body = api_for(alice).get("/api/v1/portfolio/ledgers", {"account": account.pk}).json()
    positions = api_for(alice).get("/api/v1/positions", {"account": account.pk}).json()

    # then each book at its own average cost, marked at 1180
    books = {row["name"]: row for row in body["ledgers"]}
    assert list(books) == ["Manual", "reversion", "trend"]
    held = {name: [(p["quantity"], p["average_price"]) for p in row["positions"]] for name, row in books.items()}
    assert held == {"Manual": [(0, "0.0000")], "reversion": [(5, "1050.0000")], "trend": [(4, "1000.0000")]}
    pnl = {name: (row["realised_pnl"], row["unrealised_pnl"], row["fills"]) for name, row in books.items()}
    assert pnl == {
        "Manual": ("-200.00", "0.00", 2),
        "reversion": ("0.00", "650.00", 1),  # 5 x (1180 - 1050)
        "trend": ("1200.00", "720.00", 2),  # 4 x (1180 - 1000)
    }
    for name, row in books.items():
        charged = Trade.objects.filter(account=account, order__strategy__name=None if name == "Manual" else name)
        assert D(row["charges"]) == sum(t.total_charges for t in charged) > 0
    # and the account is their sum, figure by figure, on the positions API too
    [position] = positions
    assert (position["quantity"], position["realised_pnl"], position["unrealised_pnl"]) == (9, "1000.00", "1370.00")
    assert position["open_cost"] == "9250.00"  # trend's 4 @ 1000 and reversion's 5 @ 1050
    assert D(position["charges"]) == sum(D(row["charges"]) for row in books.values())
    total = body["total"]
    for figure in ("realised_pnl", "unrealised_pnl", "charges", "net_pnl"):
        assert D(total[figure]) == sum(D(row[figure]) for row in books.values()), figure
    assert (total["realised_pnl"], total["unrealised_pnl"]) == (position["realised_pnl"], position["unrealised_pnl"])
    # the whole P&L is what the cash flows say, however it is split: sold - bought + held at the mark
    assert D(total["realised_pnl"]) + D(total["unrealised_pnl"]) == D("11600") - D("19850") + 9 * D("1180")


def test_opposite_books_at_different_prices_show_the_locked_in_pnl_on_a_flat_account(desk, alice):
    infy, account, trend, reversion = desk
    fill(account, infy, "BUY", 10, "1000.00", trend)
    fill(account, infy, "SELL", 10, "1100.00", reversion)
    paper_tick(instrument=infy, price=D("1300.00"))

    body = api_for(alice).get("/api/v1/portfolio/ledgers", {"account": account.pk}).json()

    [position] = api_for(alice).get("/api/v1/positions", {"account": account.pk}).json()
    books = {row["name"]: row["unrealised_pnl"] for row in body["ledgers"]}
    assert books == {"reversion": "-2000.00", "trend": "3000.00"}
    # flat, yet 1,000 is locked in between the two books: it stays put whatever the price does
    assert (position["quantity"], position["realised_pnl"], position["unrealised_pnl"]) == (0, "0.00", "1000.00")
    assert position["open_cost"] == "-1000.00"  # what the trader's page marks a flat position by
    assert body["total"]["unrealised_pnl"] == "1000.00"


def test_without_a_last_price_every_book_is_marked_at_the_positions_last_fill(desk, alice):
    infy, account, trend, reversion = desk
    fill(account, infy, "BUY", 10, "1000.00", trend)
    fill(account, infy, "BUY", 5, "1100.00")
    Instrument.objects.filter(pk=infy.pk).update(last_price=None)
    cache.delete(price_key(infy.instrument_token))

    body = api_for(alice).get("/api/v1/portfolio/ledgers", {"account": account.pk}).json()
    [position] = api_for(alice).get("/api/v1/positions", {"account": account.pk}).json()

    # marked at 1100, the last fill, not at the account's average of 1033.33, which would hand trend
    # 333.33 and the manual book -333.33 of P&L no price ever made
    books = {row["name"]: row["unrealised_pnl"] for row in body["ledgers"]}
    assert books == {"Manual": "0.00", "trend": "1000.00"}
    assert position["unrealised_pnl"] == body["total"]["unrealised_pnl"] == "1000.00"
    # and the risk checks' day P&L marks it alike
    assert account_book(account).unrealised() == D("1000.00")


@pytest.mark.parametrize("product", ["MIS", "CNC"])
def test_the_books_sum_to_the_account_through_any_sequence_of_fills(desk, product):
    # given 40 random fills of three books in one instrument, reversals and partial closes included (for
    # delivery, sales of no more than the account holds, from any book)
    infy, account, trend, reversion = desk
    TradingAccount.objects.filter(pk=account.pk).update(max_orders_per_second=1000)
    rng = random.Random(16)
    held = 0
    for _ in range(40):
        strategy = rng.choice([trend, reversion, None])
        price = D(rng.randrange(90000, 110000, 5)) / 100
        side, quantity = rng.choice(["BUY", "SELL"]), rng.randint(1, 30)
        if product == "CNC" and side == "SELL":
            if not held:
                continue
            quantity = min(quantity, held)
        fill(account, infy, side, quantity, price, strategy, product=product)
        held += quantity if side == "BUY" else -quantity

    # then every figure of the position is the exact sum of its books'
    position = Position.objects.get(account=account, instrument=infy, product=product)
    books = StrategyPosition.objects.filter(account=account, instrument=infy, product=product)
    assert books.count() == 3
    for name in SUMMED:
        assert getattr(position, name) == sum(getattr(book, name) for book in books), name
    crosses = LedgerCross.objects.filter(account=account)
    if product == "MIS":  # each trade's realised P&L is its own book's
        assert not crosses.exists()
        for book in books:
            trades = Trade.objects.filter(account=account, order__strategy=book.strategy)
            assert book.realised_pnl == sum(t.realised_pnl for t in trades)
    else:  # no delivery book ever short: sales beyond a book's own shares took them from the others
        assert min(books.values_list("quantity", flat=True)) >= 0
        assert crosses.filter(reason="delivery").exists()
        # and a sale's trade carries all it realised for the account, the books it took shares from included
        assert position.realised_pnl == sum(t.realised_pnl for t in Trade.objects.filter(account=account))
    # the traded figures are the trades', crosses or not: what the broker shows
    trades = Trade.objects.filter(account=account)
    assert position.buy_quantity == sum(t.quantity for t in trades if t.transaction_type == "BUY")
    assert position.sell_value == sum(t.value for t in trades if t.transaction_type == "SELL")


def test_a_delivery_sale_of_shares_a_strategy_bought_closes_that_strategys_holding(desk, alice):
    infy, account, trend, reversion = desk
    fill(account, infy, "BUY", 10, "1000.00", trend, product="CNC")
    opening = account_book(account).day_total()

    # when the trader sells 4 of them by hand
    fill(account, infy, "SELL", 4, "1100.00", product="CNC")

    # then they came out of trend's holding, which realised 4 x 100 on them; the manual book holds none
    books = {
        (b.strategy.name if b.strategy else "Manual"): (b.quantity, b.realised_pnl)
        for b in StrategyPosition.objects.filter(account=account)
    }
    assert books == {"trend": (6, D("400.00")), "Manual": (0, D("0.00"))}
    [cross] = LedgerCross.objects.filter(account=account)
    assert (cross.seller, cross.buyer, cross.quantity, cross.price, cross.reason) == (
        trend,
        None,
        4,
        D("1100.00"),
        "delivery",
    )
    # the sale's trade realised 400 for the account (its win counts), and today's P&L counts it once
    sale = Trade.objects.get(account=account, transaction_type="SELL")
    assert sale.realised_pnl == D("400.00")
    book = account_book(account)
    assert book.realised_today == D("400.00")
    assert book.day_total() == opening + D("400.00") + 6 * (D("1100.00") - D("1000.00")) - sale.total_charges
    tomorrow = account_book(account, at=timezone.now() + timedelta(days=1))
    assert (tomorrow.realised_today, tomorrow.unrealised()) == (0, 6 * D("100.00"))
    assert AuditEvent.objects.filter(action="position.cross", object_id=str(cross.pk)).exists()


def test_a_delivery_sale_beyond_a_strategys_own_shares_takes_the_manual_books_first(desk, alice):
    infy, account, trend, reversion = desk
    fill(account, infy, "BUY", 5, "1000.00", trend, product="CNC")
    fill(account, infy, "BUY", 5, "1010.00", product="CNC")
    fill(account, infy, "BUY", 2, "1020.00", reversion, product="CNC")

    fill(account, infy, "SELL", 9, "1050.00", reversion, product="CNC")

    held = {b.strategy_id: b.quantity for b in StrategyPosition.objects.filter(account=account)}
    assert held == {None: 0, trend.pk: 3, reversion.pk: 0}
    moved = list(LedgerCross.objects.filter(account=account).order_by("pk").values_list("seller", "quantity"))
    assert moved == [(None, 5), (trend.pk, 2)]
    assert AuditEvent.objects.filter(action="position.cross", actor=f"strategy:{reversion.pk}").count() == 2


def test_the_square_off_crosses_opposite_books_and_sends_only_the_net_to_the_broker(desk, alice):
    infy, account, trend, reversion = desk
    fill(account, infy, "BUY", 10, "1000.00", trend)
    fill(account, infy, "SELL", 3, "1010.00", reversion)
    fill(account, infy, "BUY", 2, "1020.00")
    paper_tick(instrument=infy, price=D("990.00"))
    before = account_book(account)
    cash = TradingAccount.objects.get(pk=account.pk).cash

    placed = mis_squareoff()

    # then reversion's short of 3 is crossed against trend's long at the mark, with no order: 3 x -10 in
    # trend's book, 3 x 20 in reversion's, 30 realised; today's P&L unchanged by it
    [cross] = LedgerCross.objects.filter(account=account)
    assert (cross.seller, cross.buyer, cross.quantity, cross.price, cross.realised_pnl) == (
        trend,
        reversion,
        3,
        D("990.00"),
        D("30.00"),
    )
    assert account_book(account).day_total() == before.day_total()
    assert TradingAccount.objects.get(pk=account.pk).cash == cash + D("30.00")
    # and only the net long of 9 goes to the broker, each book's share by its own strategy's order
    closing = sorted((o.strategy.name if o.strategy else "Manual", o.transaction_type, o.quantity) for o in placed)
    assert closing == [("Manual", "SELL", 2), ("trend", "SELL", 7)]
    assert {o.tag for o in placed} == {SQUAREOFF_TAG}
    settle()
    assert set(StrategyPosition.objects.filter(account=account).values_list("quantity", flat=True)) == {0}
    position = Position.objects.get(account=account, instrument=infy, product="MIS")
    assert (position.quantity, position.open_cost) == (0, 0)
    realised = {b.strategy_id: b.realised_pnl for b in StrategyPosition.objects.filter(account=account)}
    assert realised == {trend.pk: D("-100.00"), reversion.pk: D("60.00"), None: D("-60.00")}
    assert position.realised_pnl == D("-100.00")
    # and the runner, reading its book, holds nothing: its next decision starts from flat
    assert strategy_holdings(trend) == {infy.pk: (0, 0)}
    # a second run finds nothing left to do
    assert mis_squareoff() == []
    assert LedgerCross.objects.filter(account=account).count() == 1
    # the traded figures are the trades': the cross traded nothing
    assert (position.buy_quantity, position.sell_quantity) == (12, 3 + 9)
    crosses = api_for(alice).get("/api/v1/portfolio/ledgers", {"account": account.pk}).json()["crosses"]
    assert [(c["seller"], c["buyer"], c["quantity"], c["realised_pnl"], c["reason"]) for c in crosses] == [
        ("trend", "reversion", 3, "30.00", "squareoff")
    ]


def test_a_second_square_off_counts_what_a_live_closing_order_will_still_close(desk, alice):
    # given trend's closing order is still open when a late manual sale is booked (its cancel was too late)
    infy, account, trend, reversion = desk
    paper_tick(instrument=infy, price=D("1000.00"))
    late = order_place(
        account=account,
        instrument=infy,
        transaction_type="SELL",
        order_type="LIMIT",
        price=D("1100.00"),
        product="MIS",
        quantity=50,
    )
    settle()
    fill(account, infy, "BUY", 100, "1000.00", trend)
    [closing] = mis_squareoff()
    fill_apply(order=late, quantity=50, price=D("1000.00"), trade_id="late-1")

    # when the square-off runs again
    placed = mis_squareoff()

    # then trend's 100 are left to its open order, and only the manual short is closed: no cross
    assert [(o.strategy, o.transaction_type, o.quantity) for o in placed] == [(None, "BUY", 50)]
    assert not LedgerCross.objects.exists()
    settle()
    closing.refresh_from_db()
    assert closing.status == "COMPLETE"
    assert Position.objects.get(account=account, instrument=infy, product="MIS").quantity == 0
    assert set(StrategyPosition.objects.filter(account=account).values_list("quantity", flat=True)) == {0}


def test_the_square_off_of_books_that_net_to_zero_sends_no_order(desk, alice):
    infy, account, trend, reversion = desk
    fill(account, infy, "BUY", 10, "1000.00", trend)
    fill(account, infy, "SELL", 10, "1100.00")
    paper_tick(instrument=infy, price=D("1050.00"))

    assert mis_squareoff() == []

    position = Position.objects.get(account=account, instrument=infy, product="MIS")
    assert (position.quantity, position.open_cost, position.realised_pnl) == (0, 0, D("1000.00"))
    assert not Order.objects.filter(account=account, tag=SQUAREOFF_TAG).exists()


def test_the_dashboard_lists_each_strategys_book_and_the_account_total(desk, alice, client_for):
    infy, account, trend, reversion = desk
    fill(account, infy, "BUY", 10, "1000.00", trend)
    fill(account, infy, "SELL", 10, "1100.00", trend)
    fill(account, infy, "BUY", 5, "1100.00")
    paper_tick(instrument=infy, price=D("1120.00"))

    page = client_for(alice).get("/dashboard/", {"account": account.pk})

    html = page.content.decode()
    ledgers = {ledger.name: ledger.totals for ledger in page.context["ledgers"]}
    assert (ledgers["trend"]["realised"], ledgers["Manual"]["unrealised"]) == (D("1000.00"), D("100.00"))
    assert page.context["ledger_total"]["realised"] == D("1000.00")
    assert page.context["ledger_total"]["unrealised"] == D("100.00")
    assert "<td>trend</td>" in html and "<th>Account</th>" in html


@pytest.mark.django_db(transaction=True)
def test_positions_kept_before_sub_ledgers_are_split_into_them_by_replaying_their_trades(alice):
    # given the schema before sub-ledgers, with a position of two books' trades (short cost kept positive)
    executor = MigrationExecutor(connection)
    before, after = [("trading", "0011_strategy_runner")], executor.loader.graph.leaf_nodes()
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    instrument = old.get_model("trading", "Instrument").objects.create(
        instrument_token=408065, exchange="NSE", tradingsymbol="INFY", last_price=D("1180.00")
    )
    account = old.get_model("trading", "TradingAccount").objects.create(owner_id=alice.pk, name="old")
    trend = old.get_model("trading", "Strategy").objects.create(account=account, name="trend")
    fills = [(trend, "BUY", 10, "1000.00"), (None, "SELL", 14, "1100.00"), (trend, "SELL", 6, "1200.00")]
    for k, (strategy, side, quantity, price) in enumerate(fills):
        order = old.get_model("trading", "Order").objects.create(
            account=account, instrument=instrument, strategy=strategy, exchange="NSE", tradingsymbol="INFY",
            transaction_type=side, order_type="MARKET", product="MIS", quantity=quantity, status="COMPLETE",
        )  # fmt: skip
        old.get_model("trading", "Trade").objects.create(
            order=order, account=account, instrument=instrument, trade_id=str(k), exchange="NSE",
            tradingsymbol="INFY", transaction_type=side, product="MIS", quantity=quantity, price=D(price),
            brokerage=0, stt=0, exchange_charge=0, sebi_fee=0, stamp_duty=0, gst=0, total_charges=D("1.00"),
            fill_timestamp=timezone.now(),
        )  # fmt: skip
    # the account at one average cost: long 10 @ 1000; sell 14 @ 1100 closes it (+1,000) and opens a short
    # of 4 @ 1100; sell 6 @ 1200 adds to the short: short 10 for 4,400 + 7,200
    old.get_model("trading", "Position").objects.create(
        account=account, instrument=instrument, product="MIS", quantity=-10, open_cost=D("11600.00"),
        average_price=D("1160.0000"), realised_pnl=D("1000.00"), buy_quantity=10, buy_value=D("10000.00"),
        sell_quantity=20, sell_value=D("22600.00"), charges=D("3.00"),
    )  # fmt: skip

    # and an intraday position of trend's that the square-off (an order of no strategy) closed: +50
    tcs = old.get_model("trading", "Instrument").objects.create(
        instrument_token=2953217, exchange="NSE", tradingsymbol="TCS", last_price=D("105.00")
    )
    for k, (strategy, tag, side, price) in enumerate(
        [(trend, "", "BUY", "100.00"), (None, "squareoff", "SELL", "105.00")]
    ):
        order = old.get_model("trading", "Order").objects.create(
            account=account, instrument=tcs, strategy=strategy, exchange="NSE", tradingsymbol="TCS", tag=tag,
            transaction_type=side, order_type="MARKET", product="MIS", quantity=10, status="COMPLETE",
        )  # fmt: skip
        old.get_model("trading", "Trade").objects.create(
            order=order, account=account, instrument=tcs, trade_id=f"t{k}", exchange="NSE", tradingsymbol="TCS",
            transaction_type=side, product="MIS", quantity=10, price=D(price), brokerage=0, stt=0,
            exchange_charge=0, sebi_fee=0, stamp_duty=0, gst=0, total_charges=D("0.50"), fill_timestamp=timezone.now(),
        )  # fmt: skip
    old.get_model("trading", "Position").objects.create(
        account=account, instrument=tcs, product="MIS", quantity=0, realised_pnl=D("50.00"), buy_quantity=10,
        buy_value=D("1000.00"), sell_quantity=10, sell_value=D("1050.00"), charges=D("1.00"),
    )  # fmt: skip

    # when
    executor = MigrationExecutor(connection)
    executor.migrate(after)

    # then: trend long 10 @ 1000, sold 6 @ 1200 (+1,200), holds 4; by hand: short 14 @ 1100
    books = {
        (book.strategy.name if book.strategy else "Manual"): (
            book.quantity,
            book.open_cost,
            book.realised_pnl,
            book.charges,
        )
        for book in StrategyPosition.objects.filter(account_id=account.pk, instrument_id=instrument.pk).select_related(
            "strategy"
        )
    }
    assert books == {
        "trend": (4, D("4000.00"), D("1200.00"), D("2.00")),
        "Manual": (-14, D("-15400.00"), D("0.00"), D("1.00")),
    }
    position = Position.objects.get(account_id=account.pk, instrument_id=instrument.pk)
    assert (position.quantity, position.open_cost, position.realised_pnl) == (-10, D("-11400.00"), D("1200.00"))
    assert (position.average_price, position.sell_value, position.charges) == (D("1140.0000"), D("22600.00"), D("3.00"))
    # the square-off's fill closed trend's book, where it was opened: nothing is left open anywhere
    [closed] = StrategyPosition.objects.filter(account_id=account.pk, instrument_id=tcs.pk)
    assert (closed.strategy_id, closed.quantity, closed.open_cost) == (trend.pk, 0, D("0.00"))
    assert (closed.realised_pnl, closed.charges) == (D("50.00"), D("1.00"))
    assert Position.objects.get(account_id=account.pk, instrument_id=tcs.pk).realised_pnl == D("50.00")
