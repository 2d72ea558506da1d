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


FIGURES: list[tuple[str, dict]] = []


def report(scenario: str, figures: dict) -> None:
    """The scenario's figures: on its own output, and in the run's summary (pytest_terminal_summary)."""
    FIGURES.append((scenario, figures))
    print(f"\n[fault] {scenario}: {json.dumps(figures, sort_keys=True)}")  # noqa: T201


def pytest_terminal_summary(terminalreporter):
    if FIGURES:
        terminalreporter.section("fault scenarios: what each measured")
        for scenario, figures in FIGURES:
            terminalreporter.write_line(f"{scenario}: {json.dumps(figures, sort_keys=True)}")
