"""The alert and recording rules: promtool accepts them, and its unit tests (deploy/prometheus/
rules_test.yaml) fire each alert on a made-up failing series and keep it quiet on a healthy one."""

import shutil
import subprocess

import yaml

from tradingsite.processes import ROOT

RULES = ROOT / "deploy" / "helm" / "tradingsite" / "files" / "prometheus" / "rules.yaml"
UNIT_TESTS = ROOT / "deploy" / "prometheus" / "rules_test.yaml"


def promtool(*args: str) -> subprocess.CompletedProcess:
    # `make test` installs Debian's prometheus package (promtool) where it is missing.
    assert shutil.which("promtool"), "promtool is missing: apt-get install prometheus (make test does)"
    return subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=120)


def test_promtool_accepts_the_rules():
    checked = promtool("check", "rules", str(RULES))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 26 rules found" in checked.stdout


def test_each_alert_fires_on_a_failing_series_and_stays_quiet_on_a_healthy_one():
    alerts = {
        rule["alert"]
        for group in yaml.safe_load(RULES.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }
    fired, quiet = set(), set()
    for case in yaml.safe_load(UNIT_TESTS.read_text())["tests"]:
        for check in case.get("alert_rule_test", []):
            (fired if check["exp_alerts"] else quiet).add(check["alertname"])
    assert alerts == fired == quiet

    tested = promtool("test", "rules", str(UNIT_TESTS))
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout
