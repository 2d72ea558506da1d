"""Four web processes place orders against one database while the audit chain's lock is watched:
nobody on the request path takes it or waits for it; the sequencer is its only holder."""

import threading
import time
import uuid
from decimal import Decimal

import pytest
import requests
from django.db import connection

from audit.chain import chain_verify
from audit.models import AuditEvent
from audit.sequencer import APPLICATION_NAME, audit_backlog
from audit.services import CHAIN_LOCK_KEY
from tests.conftest import audit_linked
from tests.factories import OrderBody
from tests.threads import wait_for
from trading.market.prices import price_record
from trading.models import Instrument
from trading.orders.accounts import account_create
from tradingsite.processes import Processes, shared_env
from tradingsite.roles import TRADER, user_create
from tradingsite.tokens import api_token_create

WEBS = 4

# Who holds or waits for the chain's advisory lock (a bigint key: its high and low 32 bits).
LOCK_SQL = """
SELECT a.application_name, l.granted
  FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
 WHERE l.locktype = 'advisory' AND l.classid = %s AND l.objid = %s AND l.objsubid = 1
   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""


def traders(count: int) -> list[str]:
    instrument = Instrument.objects.create(
        instrument_token=738561, tradingsymbol="RELIANCE", name="RELIANCE", exchange="NSE", segment="NSE"
    )
    price_record(instrument=instrument, price=Decimal("2500.00"), volume=1_000_000)
    tokens = []
    for n in range(count):
        user = user_create(username=f"trader{n}", password="trader-password-123", roles={TRADER})
        account_create(owner=user, name=f"paper-{n}", cash=Decimal("100000000"))
        tokens.append(api_token_create(user=user, name="load", scope="trade", days=1).key)
    return tokens


@pytest.mark.django_db(transaction=True)
def test_four_web_processes_write_the_trail_without_the_chain_lock(tmp_path):
    tokens = traders(8)
    env = shared_env(f"test-lockfree-{uuid.uuid4().hex[:6]}", OUTBOX_DISPATCH="sweep")
    webs = [Processes(env, tmp_path / f"web{n}") for n in range(WEBS)]
    sequencer = Processes(env, tmp_path / "sequencer")
    holders: list[str] = []
    waiting: list[str] = []
    answers: list[int] = []
    stop = threading.Event()

    def watch() -> None:
        key = (CHAIN_LOCK_KEY >> 32, CHAIN_LOCK_KEY & 0xFFFFFFFF)
        try:
            with connection.cursor() as cursor:
                while not stop.is_set():
                    cursor.execute(LOCK_SQL, key)
                    for application_name, granted in cursor.fetchall():
                        (holders if granted else waiting).append(application_name)
                    time.sleep(0.001)
        finally:
            connection.close()

    def trader(n: int) -> None:
        session = requests.Session()
        headers = {"Authorization": f"Bearer {tokens[n]}"}
        while not stop.is_set():
            base = webs[(n + len(answers)) % WEBS].base_url
            headers["Idempotency-Key"] = uuid.uuid4().hex
            answers.append(
                session.post(f"{base}/api/v1/orders", json=OrderBody(quantity=1), headers=headers).status_code
            )
            time.sleep(0.15)  # under the per-account limit of 10 orders a second

    try:
        for web in webs:
            web.web()
        sequencer.sequencer(AUDIT_LINK_INTERVAL_SECONDS="0.02")
        before = AuditEvent.objects.count()
        threads = [threading.Thread(target=watch)] + [threading.Thread(target=trader, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        # orders flow through all four processes until the watcher has seen the sequencer hold the lock
        # a few times and a few hundred events were written
        wait_for(
            lambda: holders.count(APPLICATION_NAME) >= 3 and AuditEvent.objects.count() - before > 300,
            timeout=90,
            what="the sequencer seen holding the lock while 300 events were written",
        )
    finally:
        stop.set()
        for thread in threads:
            thread.join(15)
        for processes in (*webs, sequencer):
            processes.close()

    assert answers and set(answers) == {201}, answers[:20]
    # the lock was held by the sequencer alone, and never waited for
    assert set(holders) == {APPLICATION_NAME}
    assert waiting == []
    # and every event the four wrote is on one chain once the sequencer's last pass has run
    audit_linked()
    assert audit_backlog().rows == 0 and chain_verify().ok
