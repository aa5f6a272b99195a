"""infra/k8s: what a cluster operator relies on, read from the rendered manifests."""

from __future__ import annotations

import functools
import inspect
import json
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from schemas.registry import TOPICS
from services.console import app as console_app
from services.console import routes as console_routes
from services.console.config import CONSOLE_PORT, ConsoleConfig
from services.runtime import acls, faust_app
from services.runtime.settings import DEFAULT_WEB_PORTS
from services.runtime.topology import load_topology
from tests.support.scripts import load_script

ROOT = Path(__file__).resolve().parents[3]
DOCKERFILE = ROOT / "Dockerfile"
K8S = ROOT / "infra" / "k8s"
TOPICS_FILE = ROOT / "infra" / "topics.toml"
SERVICES = tuple(DEFAULT_WEB_PORTS)
SECRET_WORDS = ("PASSWORD", "SECRET", "TOKEN", "KEY")


def load_check() -> ModuleType:
    return load_script(K8S / "check.py", "k8s_check")


check = load_check()
needs_kustomize = pytest.mark.skipif(
    check._kubectl() is None, reason="the overlay's patches need kubectl with kustomize 4+"
)


@functools.cache
def _render(folder: str) -> str:
    resources, _ = check.render(K8S / folder)
    return json.dumps(resources)


def rendered(folder: str) -> list[dict[str, Any]]:
    """A fresh copy of the resources (kustomize runs once per folder)."""
    resources: list[dict[str, Any]] = json.loads(_render(folder))
    return resources


def of_kind(resources: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {r["metadata"]["name"]: r for r in resources if r["kind"] == kind}


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    (only,) = deployment["spec"]["template"]["spec"]["containers"]
    return dict(only)


@pytest.fixture(scope="module")
def base() -> list[dict[str, Any]]:
    return rendered("base")


@pytest.mark.parametrize("folder", ["base", "overlays/surge-elp"])
def test_every_manifest_validates_against_the_kubernetes_and_keda_schemas(folder: str) -> None:
    assert check.problems(rendered(folder), [check.OLDEST_VERSION]) == []


def test_a_wrong_field_is_reported(base: list[dict[str, Any]]) -> None:
    deployment = dict(of_kind(base, "Deployment")["returns-screening"])
    broken = {**deployment, "spec": {**deployment["spec"], "replica": 2}}
    scaled = dict(of_kind(base, "ScaledObject")["returns-screening"])
    typo = {**scaled, "spec": {**scaled["spec"], "maxReplicas": 4}}
    found = check.problems([broken, typo], [check.OLDEST_VERSION])
    assert len(found) == 2
    assert found[0].startswith("Deployment/returns-screening")
    assert found[1].startswith("ScaledObject/returns-screening")


def test_each_service_has_a_deployment_probed_on_its_real_health_routes(
    base: list[dict[str, Any]],
) -> None:
    routes = inspect.getsource(faust_app.register_health)
    assert '@app.page("/readyz")' in routes
    assert '@app.page("/healthz")' in routes
    deployments = of_kind(base, "Deployment")
    for service in SERVICES:
        worker = container(deployments[f"returns-{service}"])
        assert worker["args"] == ["run", service]
        assert worker["ports"] == [{"name": "http", "containerPort": DEFAULT_WEB_PORTS[service]}]
        assert worker["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
        assert worker["livenessProbe"]["httpGet"]["path"] == "/healthz"


def test_each_worker_asks_for_memory_and_is_capped(base: list[dict[str, Any]]) -> None:
    mebibytes = {"Mi": 1, "Gi": 1024}
    for name, deployment in of_kind(base, "Deployment").items():
        resources = container(deployment)["resources"]
        request = resources["requests"]["memory"]
        limit = resources["limits"]["memory"]
        as_mib = [int(v[:-2]) * mebibytes[v[-2:]] for v in (request, limit)]
        assert 128 <= as_mib[0] < as_mib[1], name
        assert "cpu" not in resources["limits"], f"{name}: a throttled worker misses heartbeats"


def test_each_deployment_has_a_disruption_budget_that_selects_it(
    base: list[dict[str, Any]],
) -> None:
    budgets = of_kind(base, "PodDisruptionBudget")
    for name, deployment in of_kind(base, "Deployment").items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        selector = budgets[name]["spec"]["selector"]["matchLabels"]
        assert selector.items() <= labels.items()
        assert budgets[name]["spec"]["maxUnavailable"] == 1


def test_each_service_scales_on_its_own_groups_lag_on_topics_it_reads(
    base: list[dict[str, Any]],
) -> None:
    internal = tomllib.loads(TOPICS_FILE.read_text())["internal"]
    partitions = load_topology(TOPICS_FILE).topics
    scaled = of_kind(base, "ScaledObject")
    auth = of_kind(base, "TriggerAuthentication")
    for service in SERVICES:
        spec = scaled[f"returns-{service}"]["spec"]
        assert spec["scaleTargetRef"]["name"] == f"returns-{service}"
        for trigger in spec["triggers"]:
            metadata = trigger["metadata"]
            topic = metadata["topic"]
            assert metadata["consumerGroup"] == f"returns-{service}"
            assert topic in TOPICS or internal[topic]["owner"] == service
            assert spec["maxReplicaCount"] <= partitions[topic].partitions
            assert trigger["authenticationRef"]["name"] in auth


def test_secrets_are_referenced_never_inlined(base: list[dict[str, Any]]) -> None:
    assert of_kind(base, "Secret") == {}
    config = of_kind(base, "ConfigMap")["returns-config"]["data"]
    referenced: set[str] = set()
    for resource in base:
        pod = resource.get("spec", {}).get("template", {}).get("spec")
        if pod is None:
            continue
        for env in pod["containers"][0].get("env", []):
            if any(word in env["name"] for word in SECRET_WORDS):
                assert env["name"].endswith("_FILE") or "valueFrom" in env, env["name"]
        referenced |= {v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v}
    for name, value in config.items():
        if any(word in name for word in SECRET_WORDS):
            assert name.endswith("_FILE"), name
            assert value.startswith("/run/secrets/"), name
    for trigger_auth in of_kind(base, "TriggerAuthentication").values():
        referenced |= {ref["name"] for ref in trigger_auth["spec"]["secretTargetRef"]}
    operations = (ROOT / "docs" / "OPERATIONS.md").read_text()
    missing = sorted(name for name in referenced if name not in operations)
    assert missing == [], "every secret the manifests need is described in docs/OPERATIONS.md"


def test_topics_are_created_by_a_job_as_the_admin(base: list[dict[str, Any]]) -> None:
    job = of_kind(base, "Job")["returns-topics"]
    (topics,) = job["spec"]["template"]["spec"]["containers"]
    assert topics["args"] == ["topics"]
    assert {"name": "KAFKA_SASL_USERNAME", "value": "admin"} in topics["env"]


@needs_kustomize
def test_the_surge_overlay_gives_every_lanes_partition_its_own_worker() -> None:
    surge = rendered("overlays/surge-elp")
    lanes = load_topology(TOPICS_FILE).lane_partitions
    deployments = of_kind(surge, "Deployment")
    scaled = of_kind(surge, "ScaledObject")
    for service in ("screening", "placement"):
        dedicated = deployments[f"returns-{service}-elp"]
        assert container(dedicated)["args"] == ["run", service]  # the same consumer group
        pod = dedicated["spec"]["template"]["spec"]
        assert pod["nodeSelector"] == {"returns.example.org/pool": "surge"}
        base_most = scaled[f"returns-{service}"]["spec"]["maxReplicaCount"]
        assert dedicated["spec"]["replicas"] + base_most == lanes
        assert f"returns-{service}-elp" in of_kind(surge, "PodDisruptionBudget")
    assert scaled["returns-notify"]["spec"]["maxReplicaCount"] == lanes  # untouched


def mounted(pod: dict[str, Any]) -> list[str]:
    return [mount["mountPath"] for mount in pod["containers"][0].get("volumeMounts", [])]


def test_every_file_a_worker_is_told_to_read_is_mounted(base: list[dict[str, Any]]) -> None:
    for name, deployment in of_kind(base, "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        for env in pod["containers"][0]["env"]:
            if env["name"].endswith("_FILE") and "value" in env:
                folder = str(Path(env["value"]).parent)
                assert folder in mounted(pod), f"{name}: {env['name']}"


def test_services_that_seal_or_open_personal_data_share_the_key_file(
    base: list[dict[str, Any]],
) -> None:
    kek_folder = str(
        Path(of_kind(base, "ConfigMap")["returns-config"]["data"]["RETURNS_KEK_FILE"]).parent
    )
    deployments = of_kind(base, "Deployment")
    users = [
        service
        for service in (*SERVICES, "console")
        if any("services.keys" in p.read_text() for p in (ROOT / "services" / service).glob("*.py"))
    ]
    assert "console" in users  # it opens sealed personal data for legal aid and auditors
    assert users, "some service seals personal data"
    for service in users:
        pod = deployments[f"returns-{service}"]["spec"]["template"]["spec"]
        assert kek_folder in mounted(pod), service


def env_of(deployment: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container(deployment)["env"] if "value" in e}


def test_the_console_runs_as_one_replica_and_never_two(base: list[dict[str, Any]]) -> None:
    console = of_kind(base, "Deployment")["returns-console"]
    assert console["spec"]["replicas"] == 1  # sessions live in its memory
    assert console["spec"]["strategy"] == {"type": "Recreate"}  # not two even in a rollout
    targets = {s["spec"]["scaleTargetRef"]["name"] for s in of_kind(base, "ScaledObject").values()}
    assert "returns-console" not in targets
    assert "returns-console" in of_kind(base, "PodDisruptionBudget")
    operations = (ROOT / "docs" / "OPERATIONS.md").read_text()
    assert "one replica" in operations


def test_the_console_is_started_probed_and_scraped_where_it_listens(
    base: list[dict[str, Any]],
) -> None:
    console = of_kind(base, "Deployment")["returns-console"]
    worker = container(console)
    assert worker["command"] == ["python", "-m", "services.console"]
    assert (ROOT / "services" / "console" / "__main__.py").is_file()
    assert worker["ports"] == [{"name": "http", "containerPort": CONSOLE_PORT}]
    assert env_of(console)["RETURNS_CONSOLE_PORT"] == str(CONSOLE_PORT)
    routes = inspect.getsource(console_routes)
    assert '@routes.get("/readyz")' in routes
    assert '@routes.get("/healthz")' in routes
    assert worker["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert worker["livenessProbe"]["httpGet"]["path"] == "/healthz"
    annotations = console["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(CONSOLE_PORT)
    assert 'add_get("/metrics"' in inspect.getsource(console_app.build_app)


def test_the_console_reads_the_services_through_their_services(
    base: list[dict[str, Any]],
) -> None:
    env = env_of(of_kind(base, "Deployment")["returns-console"])
    services = of_kind(base, "Service")
    for service in ("placement", "notify", "intake"):
        url = env[f"RETURNS_CONSOLE_{service.upper()}_URL"]
        assert url == f"http://returns-{service}:{DEFAULT_WEB_PORTS[service]}"
        assert (
            services[f"returns-{service}"]["spec"]["ports"][0]["port"]
            == (DEFAULT_WEB_PORTS[service])
        )
    assert env["KAFKA_SASL_USERNAME"] == acls.CONSOLE  # the principal its ACLs are for


def test_the_image_carries_the_asyncapi_document_the_console_serves() -> None:
    copies = [
        line.split() for line in DOCKERFILE.read_text().splitlines() if line.startswith("COPY")
    ]
    workdir = next(
        line.split()[1]
        for line in DOCKERFILE.read_text().splitlines()
        if line.startswith("WORKDIR")
    )
    in_repo = ConsoleConfig().asyncapi_file.relative_to(ROOT)
    assert (ROOT / in_repo).is_file()
    assert ["COPY", in_repo.parts[0], f"./{in_repo.parts[0]}"] in copies  # docs/ -> /app/docs
    assert workdir == "/app"  # REPO_ROOT in the image: services/ sits under it
