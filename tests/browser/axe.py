"""Accessibility checks with axe-core (npm, installed by `make install`), injected into the page under test.

The script goes in through the DevTools protocol (page.evaluate), which the page's Content Security
Policy does not govern, so the page is checked exactly as it is served.
"""

from pathlib import Path

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")


def axe_violations(page, *, impacts=SERIOUS) -> list[str]:
    """The page's axe-core violations of these impacts, one line each: rule, impact, help and where."""
    assert AXE.exists(), f"{AXE} is missing: `make install` installs axe-core from npm"
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text() + "\n;undefined")
    found = page.evaluate(
        """async () => {
            const result = await axe.run(document, { resultTypes: ["violations"] });
            return result.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
            }));
        }"""
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {', '.join(v['targets'])}" for v in found if v["impact"] in impacts
    ]
