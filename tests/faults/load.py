"""Load for the fault scenarios, and the ledger they are judged by.

`OrderLoad` places orders from several client threads as an integrator's program does: each order has
its own Idempotency-Key, and the client sends it again with the same key after anything that is not an
answer (no connection, a timeout, a 5xx, a 409 `idempotency_in_flight`), waiting as Retry-After says,
until it is accepted (201) or refused (422). `ledger` then counts, from the site's database and from the
fake Kite's order book, what became of every order the site accepted."""

import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import requests

TAG_LENGTH = 20  # trading.kite.updates.TAG_LENGTH: an order's Kite tag is the start of its client order id


@dataclass
class Outcome:
    key: str
    status: int | None = None  # the final answer: 201 accepted, 422 refused; None: none before the end
    order_id: int | None = None
    client_order_id: str = ""
    attempts: int = 0


@dataclass
class OrderLoad:
    site: object
    account: int
    instrument_token: int
    price: str
    clients: int = 3
    interval: float = 0.25  # each client's pause between orders
    timeout: float = 5.0
    outcomes: list[Outcome] = field(default_factory=list)
    answers: Counter = field(default_factory=Counter)  # every answer seen, retries included: "201", "503", "error"
    retry_after_missing: int = 0  # 503s without a Retry-After header
    slowest: float = 0.0  # the longest wait for an answer (timeouts included), in seconds
    stopping: threading.Event = field(default_factory=threading.Event)
    ended: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> "OrderLoad":
        self.threads = [threading.Thread(target=self.client, daemon=True) for _ in range(self.clients)]
        for thread in self.threads:
            thread.start()
        return self

    def stop(self, grace: float = 180) -> None:
        """No new orders; orders still being retried get `grace` seconds to be answered."""
        self.stopping.set()
        deadline = time.monotonic() + grace
        for thread in self.threads:
            thread.join(max(0.1, deadline - time.monotonic()))
        self.ended.set()
        for thread in self.threads:
            thread.join(5)

    def client(self) -> None:
        session = self.site.api()
        while not self.stopping.is_set():
            outcome = Outcome(key=str(uuid.uuid4()))
            with self.lock:
                self.outcomes.append(outcome)
            self.place(session, outcome)
            self.stopping.wait(self.interval)

    def body(self) -> dict:
        return {
            "account": self.account,
            "instrument_token": self.instrument_token,
            "transaction_type": "BUY",
            "order_type": "LIMIT",
            "product": "CNC",
            "quantity": 1,
            "price": self.price,
        }

    def place(self, session: requests.Session, outcome: Outcome) -> None:
        body = self.body()
        while not self.ended.is_set():
            outcome.attempts += 1
            wait = 0.5
            sent = time.monotonic()
            try:
                answer = session.post(
                    f"{self.site.url}/api/v1/orders",
                    json=body,
                    headers={"Idempotency-Key": outcome.key},
                    timeout=self.timeout,
                )
            except requests.RequestException:
                self.slowest = max(self.slowest, time.monotonic() - sent)
                self.count("error")
                session = self.site.api()  # a fresh connection pool: the old one may hold dead sockets
                time.sleep(wait)
                continue
            self.slowest = max(self.slowest, time.monotonic() - sent)
            self.count(str(answer.status_code))
            if answer.headers.get("Idempotent-Replayed"):
                self.count("replayed")  # a retry whose first attempt had been placed: its first answer
            if answer.status_code in (201, 422):
                data = answer.json()
                order = data if answer.status_code == 201 else data.get("order") or {}
                outcome.status, outcome.order_id = answer.status_code, order.get("id")
                outcome.client_order_id = order.get("client_order_id", "")
                return
            if answer.status_code == 503:
                retry_after = answer.headers.get("Retry-After")
                if retry_after is None:
                    with self.lock:
                        self.retry_after_missing += 1
                else:
                    wait = min(float(retry_after), 5.0)
            elif answer.status_code not in (409, 500, 502, 504):
                raise AssertionError(f"unexpected answer {answer.status_code} to an order: {answer.text[:500]}")
            time.sleep(wait)

    def count(self, what: str) -> None:
        with self.lock:
            self.answers[what] += 1

    def accepted(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == 201]


def kite_tags(site) -> Counter:
    """How many times each tag reached the fake Kite as a new order."""
    with site.kite.lock:
        return Counter(order["tag"] for order in site.kite.orders.values() if order.get("tag"))


def ledger(site, load: OrderLoad, since, *, broker: str) -> dict:
    """What became of the orders: accepted by the site, submitted to the broker once, more than once
    (duplicated), not at all (lost). The database must hold exactly the orders that were answered (one
    per key, by client order id), and the fake Kite no tag of this run twice."""
    accepted = load.accepted()
    answered = {o.client_order_id for o in load.outcomes if o.status is not None}
    rows = site.sql(
        "SELECT id, client_order_id::text FROM trading_order WHERE account_id = %s AND created_at >= %s",
        [load.account, since],
    )
    in_database = {row[0] for row in rows}
    unanswered_rows = [row for row in rows if row[1] not in answered]  # a second order for some key
    if broker == "kite":
        tags = kite_tags(site)
        ours = {row[1].replace("-", "")[:TAG_LENGTH] for row in rows}
        sent = [tags[o.client_order_id.replace("-", "")[:TAG_LENGTH]] for o in accepted]
        twice_at_kite = [tag for tag in ours if tags[tag] > 1]
    else:
        unsent = {
            row[0]
            for row in site.sql(
                "SELECT order_id FROM trading_outboxentry WHERE sent_at IS NULL AND order_id = ANY(%s)",
                [[o.order_id for o in accepted]],
            )
        }
        sent = [0 if o.order_id in unsent else 1 for o in accepted]
        twice_at_kite = []
    lost = [o for o, count in zip(accepted, sent, strict=True) if o.order_id not in in_database or not count]
    return {
        "orders_tried": len(load.outcomes),
        "orders_answered": len(answered),
        "orders_accepted": len(accepted),
        "orders_submitted": sum(1 for count in sent if count >= 1),
        "orders_duplicated": len(twice_at_kite) + len(unanswered_rows),
        "orders_lost": len(lost),
        "answers": dict(load.answers),
        "retry_after_missing": load.retry_after_missing,
        "slowest_answer_seconds": round(load.slowest, 2),
    }


def settle(site, load: OrderLoad, since, *, broker: str, timeout: float = 120) -> tuple[dict, float]:
    """The ledger once every accepted order has been submitted (or `timeout` has passed), and the
    seconds that took."""
    started = time.monotonic()
    while True:
        figures = ledger(site, load, since, broker=broker)
        if figures["orders_lost"] == 0 or time.monotonic() - started > timeout:
            return figures, time.monotonic() - started
        time.sleep(0.5)
