import pytest
from django.test import Client

from tradingsite.roles import ADMIN, COMPLIANCE, OPS, TRADER, user_create

PASSWORD = "correct-horse-battery-staple"


def persona(username: str, roles: set[str]):
    return user_create(username=username, password=PASSWORD, roles=roles, actor="tests")


@pytest.fixture
def alice(db):
    return persona("alice", {TRADER})


@pytest.fixture
def bob(db):
    return persona("bob", {TRADER})


@pytest.fixture
def carol(db):
    return persona("carol", {COMPLIANCE})


@pytest.fixture
def dave(db):
    return persona("dave", {OPS})


@pytest.fixture
def root_admin(db):
    user = persona("admin", {ADMIN})
    user.is_superuser = True
    user.save(update_fields=["is_superuser"])
    return user


@pytest.fixture
def client_for():
    def logged_in(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return logged_in
