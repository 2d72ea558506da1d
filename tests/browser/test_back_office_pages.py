"""The back office and the API reference in a real browser: axe-core finds no serious or critical
accessibility violation on the pages ops and compliance work in, and the API docs (Swagger UI and
Redoc) render under the site's Content Security Policy without a refused resource."""

from decimal import Decimal

from playwright.sync_api import expect

from audit.services import audit_record
from tests.browser.axe import axe_violations
from tests.browser.conftest import logged_in_page
from tests.conftest import api_for
from trading.orders.accounts import account_create


def test_back_office_pages_pass_axe(stack, chromium, alice, dave, carol, root_admin):
    account = account_create(owner=alice, name="alice-paper", cash=Decimal("1000000"), created_by=alice)
    api_for(alice).post(f"/api/v1/accounts/{account.pk}/halt", {"reason": "runaway algo"}, format="json")
    approval = api_for(alice).post(f"/api/v1/accounts/{account.pk}/resume", {"reason": "fixed"}, format="json")
    approval_id = approval.json()["approval"]["id"]
    # an event about no object (a sign-in), so the audit browser's object filter lists an empty type
    audit_record(action="auth.login", actor=carol, object_type="", object_id="", payload={})
    stack.web()

    pages = {
        "dave": [
            "/status/",
            "/admin/",
            "/admin/trading/tradingaccount/",
            "/admin/trading/tradingaccount/add/",
            f"/admin/trading/tradingaccount/{account.pk}/change/",
            "/admin/trading/approvalrequest/",
            f"/admin/trading/approvalrequest/{approval_id}/decide/",
        ],
        "carol": ["/admin/audit/auditevent/", "/admin/audit/auditevent/?action=account.halt"],
    }
    found = {}
    for username, paths in pages.items():
        page = logged_in_page(chromium, stack.base_url, username, path=paths[0])
        for path in paths:
            page.goto(path)
            expect(page.locator("h1").first).to_be_visible()
            problems = axe_violations(page)
            if problems:
                found[path] = problems
        assert page.errors == []
        page.context.close()
    assert found == {}, "\n".join(f"{path}: {problem}" for path, problems in found.items() for problem in problems)


def test_the_api_reference_renders_under_the_content_security_policy(stack, chromium, alice):
    stack.web()
    page = logged_in_page(chromium, stack.base_url, "alice", path="/")
    refused = []
    # Redoc's menu shows its vendor's logo from their CDN; the policy refuses that one image by design
    # (nothing else comes from a third party), and the reference renders without it.
    vendor_logo = "https://cdn.redoc.ly/redoc/logo-mini.svg"

    def console(message):
        if "Content Security Policy" in message.text and vendor_logo not in message.text:
            refused.append(message.text)

    page.on("console", console)
    # (a request the next navigation cuts short fails as net::ERR_ABORTED: that is not a refusal)
    page.on(
        "requestfailed",
        lambda request: (
            request.url != vendor_logo
            and "ERR_ABORTED" not in (request.failure or "")
            and refused.append(f"{request.url}: {request.failure}")
        ),
    )

    page.goto("/api/redoc/")
    expect(page.locator("h1").first).to_contain_text("Trading platform", timeout=20_000)
    page.wait_for_function("() => document.body.innerText.includes('/api/v1/orders')", timeout=20_000)

    page.goto("/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_be_visible(timeout=20_000)
    expect(page.locator(".opblock-tag-section").first).to_be_visible()
    assert refused == []
    assert page.errors == []
