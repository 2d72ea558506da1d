"""The Grafana dashboards (deploy/helm/tradingsite/files/dashboards): valid JSON, and every series they
(and the alert rules) ask for is one the site exports, compared with a real scrape, or one the
recording rules make."""

import json
import re

import pytest
import yaml

from tests.conftest import api_for, metrics_scrape
from tests.factories import OrderBody
from tests.trading.conftest import settle
from tradingsite.processes import ROOT

DASHBOARDS = ROOT / "deploy" / "helm" / "tradingsite" / "files" / "dashboards"
RULES = ROOT / "deploy" / "helm" / "tradingsite" / "files" / "prometheus" / "rules.yaml"
# Series from other exporters the rules read on purpose: the blackbox exporter's certificate probe, and
# the kubelet's volume statistics (a database or audit volume filling up).
ELSEWHERE = {
    "probe_ssl_earliest_cert_expiry",
    "kubelet_volume_stats_available_bytes",
    "kubelet_volume_stats_capacity_bytes",
}
KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool"}
SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_count", "_sum", "_created"), "gauge": ("",)}


def series_named(expr: str) -> set[str]:
    """The metric names in a PromQL expression (not functions, keywords, label names or durations)."""
    text = re.sub(r'"[^"]*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", " ", text)  # grouping labels
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges
    text = re.sub(r"(?<![A-Za-z0-9_:])\d+(\.\d+)?([eE][-+]?\d+)?", " ", text)  # numbers (1e-9)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        following = text[match.end() :].lstrip()[:1]
        if following != "(" and match.group() not in KEYWORDS:
            names.add(match.group())
    return names


def exported(text: str) -> set[str]:
    from prometheus_client.parser import text_string_to_metric_families

    names = set()
    for family in text_string_to_metric_families(text):
        names |= {family.name + suffix for suffix in SUFFIXES.get(family.type, ("",))}
        names |= {sample.name for sample in family.samples}
    return names


def dashboards() -> dict[str, dict]:
    return {path.stem: json.loads(path.read_text()) for path in sorted(DASHBOARDS.glob("*.json"))}


def test_the_four_dashboards_are_grafana_json_with_queries():
    boards = dashboards()
    assert set(boards) == {"business", "application", "infrastructure", "slo"}
    for name, board in boards.items():
        assert board["uid"] == f"tradingsite-{name}" and board["title"] and board["panels"]
        for panel in board["panels"]:
            assert panel["targets"] and all(target["expr"] for target in panel["targets"]), panel["title"]


@pytest.mark.django_db
def test_the_dashboards_and_rules_ask_only_for_series_the_site_exports(client, account, alice, reliance):
    # some traffic first, so the request and order families have their series
    api = api_for(alice)
    assert api.post("/api/v1/orders", OrderBody(quantity=1), format="json").status_code == 201
    settle()
    client.get("/healthz")
    there = exported(metrics_scrape(client))
    rules = yaml.safe_load(RULES.read_text())["groups"]
    recorded = {rule["record"] for group in rules for rule in group["rules"] if "record" in rule}

    wanted = {}
    for name, board in dashboards().items():
        for panel in board["panels"]:
            for target in panel["targets"]:
                for series in series_named(target["expr"]):
                    wanted.setdefault(series, f"{name}: {panel['title']}")
    for group in rules:
        for rule in group["rules"]:
            for series in series_named(rule["expr"]):
                wanted.setdefault(series, f"rule {rule.get('alert') or rule.get('record')}")

    missing = {series: where for series, where in wanted.items() if series not in there | recorded | ELSEWHERE}
    assert missing == {}
    assert len(wanted) > 40


def test_the_series_reader_finds_names_and_nothing_else():
    expr = 'histogram_quantile(0.99, sum by (le, view) (rate(a_bucket{status=~"5.."}[5m]))) and on () max(b) == 1'
    assert series_named(expr) == {"a_bucket", "b"}
