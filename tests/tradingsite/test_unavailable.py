"""Which database and Redis errors answer 503 (try again shortly) and which stay 500s, from errors the
real servers raise."""

import psycopg
import pytest
import redis
from django.db import OperationalError, connection, transaction
from django.db.utils import DatabaseErrorWrapper

from tradingsite.unavailable import service_unavailable


def django_error(sql: str) -> BaseException:
    with pytest.raises(Exception) as caught, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
    return caught.value


@pytest.mark.django_db
def test_a_statement_timeout_is_a_503_and_a_bad_statement_is_not():
    timeout = django_error("SET LOCAL statement_timeout = 1; SELECT pg_sleep(1)")
    assert isinstance(timeout, OperationalError)
    assert service_unavailable(timeout) == "database"
    assert service_unavailable(django_error("SELECT * FROM no_such_table")) is None


@pytest.mark.django_db
def test_a_refused_connection_is_a_503():
    # psycopg gives no SQLSTATE for any failed connection attempt: a wrong database name looks the same
    # and is a 503 too (and /readyz fails, so such a pod never takes traffic).
    with pytest.raises(OperationalError) as caught, DatabaseErrorWrapper(connection):
        psycopg.connect("postgresql://postgres@127.0.0.1:1/x", connect_timeout=2)
    assert service_unavailable(caught.value) == "database"


def test_redis_away_is_a_503_but_a_refused_password_is_not():
    client = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=1)
    with pytest.raises(redis.ConnectionError) as caught:
        client.ping()
    assert service_unavailable(caught.value) == "redis"
    assert service_unavailable(redis.AuthenticationError("invalid password")) is None
