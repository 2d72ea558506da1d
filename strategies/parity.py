"""Paper/backtest parity: the same strategy over the same stored bars, once through the live runner
and the paper exchange, once through the backtester, compared order by order and fill by fill.

The replay runs inside a transaction that is rolled back, on a scratch copy of the instrument (its own
token, so the real instrument's latest price is never touched) in a scratch paper account: nothing of
it is kept and no other order is sent anywhere. At each bar's close the runner decides from the bars
up to it; the next bar's open is then recorded as the traded price and the strategy's new orders are
sent to the paper exchange, which fills them as it fills anyone's. The backtester fills the same
decisions at the same open by its own code path, and every difference is named with its reason.
"""

import itertools
import uuid
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection, transaction

from sentiment.models import ArticleSymbol
from strategies.backtest import backtest
from strategies.data import market_from_db, signals_attach
from strategies.engine import Costs
from strategies.library import BUILT_IN
from strategies.runner import WIDTH, strategy_step
from trading.brokers.dispatch import outbox_send
from trading.market.bars import bars_history
from trading.market.prices import price_key, price_record
from trading.models import Instrument, Order, OutboxEntry, Strategy, Trade
from trading.orders.accounts import account_create, account_limits_set
from trading.orders.approvals import LIMIT_CEILINGS
from tradingsite.exceptions import ValidationError

FIELDS = ("side", "quantity", "price", "charges")


def scratch_instrument(source: Instrument) -> Instrument:
    token = 2**52 + uuid.uuid4().int % 2**40
    copy = Instrument.objects.create(
        instrument_token=token,
        tradingsymbol=f"PARITY-{source.tradingsymbol}"[:64],
        name=f"parity copy of {source}",
        exchange=source.exchange,
        segment=source.segment,
        tick_size=source.tick_size,
        lot_size=source.lot_size,
    )
    with connection.cursor() as cursor:
        for table in ("trading_minutebar", "trading_daybar"):
            cursor.execute(
                f"INSERT INTO {table} (instrument_id, ts, open, high, low, close, volume) "
                f"SELECT %s, ts, open, high, low, close, volume FROM {table} WHERE instrument_id = %s",
                [copy.pk, source.pk],
            )
    # The news about the instrument is about its copy too (all of this is rolled back with the replay).
    ArticleSymbol.objects.bulk_create(
        ArticleSymbol(article_id=article, symbol=copy.tradingsymbol, matched=matched)
        for article, matched in ArticleSymbol.objects.filter(symbol=source.tradingsymbol).values_list(
            "article_id", "matched"
        )
    )
    return copy


def strategy_parity(
    *, logic: str, instrument: Instrument, parameters: dict, start: datetime, end: datetime, interval: str = "5m"
) -> dict:
    if logic not in BUILT_IN:
        raise ValidationError(f"no strategy {logic!r}; the built-in ones are {', '.join(BUILT_IN)}")
    if interval not in WIDTH:
        raise ValidationError(f"interval must be one of {', '.join(WIDTH)}, not {interval!r}")
    token = None
    try:
        with transaction.atomic():
            copy = scratch_instrument(instrument)
            token = copy.instrument_token
            report = replay_and_compare(logic, copy, parameters, start, end, interval)
            report["instrument"] = str(instrument)
            transaction.set_rollback(True)  # nothing of the replay is kept
    finally:
        if token is not None:
            cache.delete(price_key(token))
    return report


def replay_and_compare(logic, copy, parameters, start, end, interval) -> dict:
    bars = bars_history(copy.pk, interval, start=start, end=end, limit=10_000_000)
    if len(bars) < 2:
        raise ValidationError(f"{len(bars)} {interval} bars of {copy.tradingsymbol[7:]} between {start} and {end}")
    owner = get_user_model().objects.create(username=f"parity-{uuid.uuid4().hex[:12]}", is_active=False)
    account = account_create(owner=owner, name=owner.username, cash=Decimal("1000000000"))
    # The replay places in seconds what the strategy placed over days: the order-rate limit is not what
    # is compared (every other risk rule applies as it would).
    fastest = {"max_orders_per_second": LIMIT_CEILINGS["max_orders_per_second"]}
    account = account_limits_set(account=account, changes=fastest)
    strategy = Strategy.objects.create(
        account=account,
        name="parity",
        kind=Strategy.Kind.RULE,
        logic=logic,
        parameters=parameters,
        instruments=[f"{copy.exchange}:{copy.tradingsymbol}"],
        interval=interval,
    )
    width = WIDTH[interval]
    decided = []
    for t, bar in enumerate(bars):
        step = strategy_step(strategy, now=bar["ts"] + width)
        if step.disabled:
            raise ValidationError(f"the strategy stopped at {bar['ts'].isoformat()}: {step.disabled}")
        decided.extend((bar["ts"], order) for order in step.orders)
        if t + 1 < len(bars):
            nxt = bars[t + 1]
            price_record(instrument=copy, price=nxt["open"], volume=int(nxt["volume"]), at=nxt["ts"])
            for entry in OutboxEntry.objects.filter(order__strategy=strategy, sent_at__isnull=True).order_by("pk"):
                outbox_send(entry.pk)
    refused = [
        {
            "decided_on": ts.isoformat(),
            "order": f"{o.transaction_type} {o.quantity}",
            "status": o.status,
            "reason": o.status_message,
        }
        for ts, o in decided
        if o.status in (Order.Status.REJECTED, Order.Status.CANCELLED)
    ]
    paper = [
        {"side": t.transaction_type, "quantity": t.quantity, "price": str(t.price), "charges": str(t.total_charges)}
        for t in Trade.objects.filter(order__strategy=strategy).order_by("pk")
    ]
    costs = Costs(slippage_bps=settings.PAPER_SLIPPAGE_BPS, participation=settings.PAPER_MAX_VOLUME_PARTICIPATION)
    market = signals_attach(market_from_db([copy], interval, start, end), interval, BUILT_IN[logic].signals)
    result = backtest(BUILT_IN[logic], market, parameters, capital=account.cash, costs=costs)
    tested = [{key: t[key] for key in (*FIELDS, "decided_at", "filled_at")} for t in result.trades]
    differences = []
    for k, (live, sim) in enumerate(itertools.zip_longest(paper, tested)):
        if live is None or sim is None:
            differences.append({"fill": k + 1, "paper": live, "backtest": sim, "why": why_missing(live, sim)})
            continue
        changed = [key for key in FIELDS if str(live[key]) != str(sim[key])]
        if changed:
            differences.append({"fill": k + 1, "paper": live, "backtest": sim, "why": why_differs(changed, sim)})
    return {
        "strategy": logic,
        "parameters": parameters,
        "interval": interval,
        "bars": len(bars),
        "orders": {"paper": len(decided), "backtest": len({t["decided_at"] for t in tested})},
        "fills": {"paper": len(paper), "backtest": len(tested)},
        "identical": not differences,
        "paper_orders_refused": refused,
        "differences": differences,
        "fills_compared": [{"paper": p, "backtest": b} for p, b in itertools.zip_longest(paper, tested)][:200],
    }


def why_missing(live, sim) -> str:
    if live is None:
        return "the backtest filled an order the paper exchange did not (unfilled, or rejected by a risk rule)"
    return "the paper exchange filled an order the backtest did not"


def why_differs(changed: list[str], sim: dict) -> str:
    reasons = []
    if "price" in changed:
        reasons.append("price: the paper exchange traded at another price than the next bar's open")
    if "quantity" in changed:
        reasons.append("quantity: a volume limit or a rejected part split the order differently")
    if "charges" in changed and "price" not in changed and "quantity" not in changed:
        reasons.append(
            f"charges: the paper fill is charged at the rates in force today, the backtest's at those of "
            f"{sim['filled_at'][:10]}"
        )
    if "side" in changed:
        reasons.append("side: the two took different decisions")
    return "; ".join(reasons)
