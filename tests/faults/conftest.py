"""The fault suite: one site for the package (its own PostgreSQL and Redis servers, every process of the
Procfile, the fake Kite and ticker), brought back to health before each scenario."""

import json

import pytest

from tests.faults.site import FaultSite


@pytest.fixture(scope="package")
def fault_site(tmp_path_factory):
    site = FaultSite(tmp_path_factory.mktemp("faults"))
    try:
        yield site
    finally:
        site.close()


@pytest.fixture
def site(fault_site):
    """The site with every server and process running, and the fake Kite answering normally."""
    fault_site.redis.thaw()
    fault_site.ensure()
    fault_site.kite.next_place.clear()
    fault_site.kite.unresponsive_seconds = 0.0
    yield fault_site
    fault_site.kite.next_place.clear()
    fault_site.kite.unresponsive_seconds = 0.0


def report(scenario: str, figures: dict) -> None:
    """The scenario's figures, on the test's output (pytest -s, or -rA, shows them)."""
    print(f"\n[fault] {scenario}: {json.dumps(figures, sort_keys=True)}")  # noqa: T201
