"""The dashboard and the alert rules read only metrics that something really exports."""

from __future__ import annotations

import importlib
import json
import pkgutil
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

import services
from services.audit import textfile
from services.audit.verify import VerifyReport
from services.runtime import metrics
from tests.unit.ops.promql import exported_names, metric_names

ROOT = Path(__file__).resolve().parents[3]
DASHBOARD = ROOT / "infra" / "grafana" / "returns.json"
RULE_FILES = sorted(
    path for path in (ROOT / "infra" / "prometheus").glob("*.yml") if path.name != "prometheus.yml"
)
# Series that Prometheus itself and kube-state-metrics (on a cluster) provide.
EXTERNAL = frozenset(
    {"up", "kube_deployment_status_replicas_available", "kube_deployment_spec_replicas"}
)


def _import_every_service_module() -> None:
    """Modules register their metrics when imported (never connecting to anything)."""
    for module in pkgutil.walk_packages(services.__path__, "services."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)


@pytest.fixture(scope="module")
def exported() -> set[str]:
    _import_every_service_module()
    report = VerifyReport(
        events={},
        duplicates=0,
        decisions_rechecked=0,
        placements_checked=0,
        late_members_accepted=0,
    )
    return exported_names([metrics.REGISTRY, textfile.verify_registry(report)]) | EXTERNAL


def _dashboard_expressions(node: Any) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "expr" and isinstance(value, str):
                found.append(value)
            elif key == "query" and isinstance(value, dict) and "query" in value:
                found.append(value["query"])
            else:
                found.extend(_dashboard_expressions(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_dashboard_expressions(item))
    return found


def _rule_expressions(path: Path) -> list[str]:
    groups = yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
    return [rule["expr"] for group in groups for rule in group["rules"]]


def test_the_extractor_sees_metrics_and_not_functions_labels_or_variables() -> None:
    expression = (
        "histogram_quantile(0.95, sum by (crossing, le) (rate(returns_event_age_seconds_bucket"
        '{service="screening", crossing=~"$crossing"}[$__rate_interval]))) > 2 * 3600 '
        "unless on (crossing) up == 0"
    )
    assert metric_names(expression) == {"returns_event_age_seconds_bucket", "up"}
    assert metric_names("label_values(returns_queue_length, location)") == {"returns_queue_length"}


def test_the_dashboard_reads_only_exported_metrics(exported: set[str]) -> None:
    expressions = _dashboard_expressions(json.loads(DASHBOARD.read_text(encoding="utf-8")))
    assert len(expressions) >= 15
    used = set().union(*(metric_names(e) for e in expressions))
    assert used - exported == set()
    assert {
        "returns_consumer_lag",
        "returns_queue_length",
        "returns_event_age_seconds_bucket",
        "returns_location_daily_cap",
        "returns_location_placed_today",
        "returns_webhook_deliveries_total",
    } <= used


@pytest.mark.parametrize("rules", RULE_FILES, ids=lambda path: path.name)
def test_alert_rules_read_only_exported_metrics(rules: Path, exported: set[str]) -> None:
    used = set().union(*(metric_names(e) for e in _rule_expressions(rules)))
    assert used, f"{rules.name} reads no metric"
    assert used - exported == set()


GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$crossing": ".*", "$location": ".*"}


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool: apt-get install prometheus")
def test_every_dashboard_query_is_valid_promql(tmp_path: Path) -> None:
    expressions = _dashboard_expressions(json.loads(DASHBOARD.read_text(encoding="utf-8")))
    rules = []
    for n, expression in enumerate(e for e in expressions if not e.startswith("label_values")):
        for variable, value in GRAFANA_VARIABLES.items():
            expression = expression.replace(variable, value)
        rules.append({"record": f"dashboard:query_{n}", "expr": expression})
    rules_file = tmp_path / "dashboard.yml"
    rules_file.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    checked = subprocess.run(
        ["promtool", "check", "rules", str(rules_file)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"{len(rules)} rules found" in checked.stdout


def test_a_misspelt_metric_is_caught(exported: set[str]) -> None:
    assert metric_names("sum(returns_consumer_lagg)") - exported == {"returns_consumer_lagg"}


def test_the_alerts_cover_what_ops_must_hear_about() -> None:
    groups = yaml.safe_load((ROOT / "infra" / "prometheus" / "alerts.yml").read_text())["groups"]
    rules = {rule["alert"]: rule for group in groups for rule in group["rules"]}
    reads = {name: metric_names(rule["expr"]) for name, rule in rules.items()}
    assert "returns_consumer_lag" in reads["ReturnsConsumerLagGrowing"]
    assert "lane" in rules["ReturnsConsumerLagGrowing"]["expr"]  # per crossing
    assert "returns_queue_oldest_wait_seconds" in reads["ReturnsGroupWaitingLong"]
    assert "notification-failed" in rules["ReturnsWebhookDeliveriesFailing"]["expr"]
    assert "returns_webhook_deliveries_total" in reads["ReturnsPartnerDown"]
    assert "by (partner)" in rules["ReturnsPartnerDown"]["expr"]  # per partner
    assert reads["ReturnsServiceDown"] == {"up"}
    assert "returns_verify_mismatches" in reads["ReturnsVerifyMismatches"]
    assert all(rule["labels"]["severity"] in ("warning", "critical") for rule in rules.values())
