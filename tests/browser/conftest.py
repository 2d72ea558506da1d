"""Browser tests: the real web, feed and worker processes on the test database, and Debian's Chromium
driven by Playwright (headless). Chromium is installed by `make test` (the Makefile's browser step)."""

import os
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.conftest import PASSWORD, RUN_PREFIX
from tradingsite.processes import Processes, shared_env, static_collect

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="session")
def static_root(tmp_path_factory) -> Path:
    """The static files as the demo and the image serve them (collectstatic), chart library included."""
    return static_collect(tmp_path_factory.mktemp("static"))


@pytest.fixture
def stack(transactional_db, static_root, tmp_path):
    """Processes on this test's database and this run's Redis prefixes; started by each test as it needs."""
    queue = f"browser-{uuid.uuid4().hex[:8]}"
    env = shared_env(
        RUN_PREFIX,
        CELERY_TASK_DEFAULT_QUEUE=queue,
        OUTBOX_DISPATCH="celery",
        STATIC_ROOT=str(static_root),
        FEED_FLUSH_SECONDS="0.5",
    )
    processes = Processes(env, tmp_path / "logs")
    processes.queue = queue
    yield processes
    processes.close()


@pytest.fixture(scope="package")
def chromium():
    """One browser for this package's tests; closed when they end, because while Playwright's sync API is
    open the main thread has a running event loop, and later tests' asyncio.run() would refuse to start."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)")
    # Playwright's sync API keeps an asyncio loop on the main thread while it is open, and Django then
    # refuses every ORM call there as "async". These tests' ORM calls are plain synchronous ones made
    # between browser actions, so the check is switched off for them (not for the child processes).
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
            yield browser
            browser.close()
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


def logged_in_page(chromium, base_url: str, username: str, path: str = "/trade/"):
    """A fresh browser context (its own cookies) logged in through the login form, on `path`."""
    context = chromium.new_context(base_url=base_url, viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(f"/accounts/login/?next={path}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"**{path}")
    return page
