"""The Helm chart, rendered offline (helm-python-sdk, no helm binary) with its default values and each
environment's: every manifest fits the Kubernetes schema, and what ops relies on holds in each."""

import json
import subprocess
import sys

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

from tradingsite.processes import ROOT

CHART = ROOT / "deploy" / "helm" / "tradingsite"
ARGOCD = ROOT / "deploy" / "argocd"
ENVIRONMENTS = ("dev", "staging", "prod")
KUBERNETES = "1.30.0"
SECRET_NAMES = ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "OIDC_RP_CLIENT_SECRET", "FIELD_ENCRYPTION_KEY")
# Custom resources: kubernetes-validate has no schema for them; their required fields are checked here.
CUSTOM = {"ExternalSecret", "ServiceMonitor", "PrometheusRule", "Application"}


def environment_values(name: str) -> dict:
    return yaml.safe_load((ARGOCD / name / "values.yaml").read_text())


def rendered(values: dict, release: str = "tradingsite") -> list[dict]:
    with helm.Chart.load(CHART) as chart:
        manifests = chart.render(values, name=release, namespace="trading", is_install=True)
    documents = []
    for path, text in sorted(manifests.items()):
        if path.endswith("NOTES.txt"):
            continue
        documents += [doc for doc in yaml.safe_load_all(text) if doc]
    return documents


@pytest.fixture(scope="module")
def renders() -> dict[str, list[dict]]:
    return {"default": rendered({}), **{name: rendered(environment_values(name)) for name in ENVIRONMENTS}}


def of_kind(documents, kind):
    return [doc for doc in documents if doc["kind"] == kind]


def named(documents, kind, suffix):
    (found,) = [doc for doc in of_kind(documents, kind) if doc["metadata"]["name"].endswith(suffix)]
    return found


def template_of(doc: dict) -> dict:
    return doc["spec"]["jobTemplate"]["spec"]["template"] if doc["kind"] == "CronJob" else doc["spec"]["template"]


def pods(documents):
    """(name, pod spec) of every Deployment, Job and CronJob."""
    return [
        (doc["metadata"]["name"], template_of(doc)["spec"])
        for doc in documents
        if doc["kind"] in ("Deployment", "Job", "CronJob")
    ]


def test_the_chart_lints_clean(renders):
    report = helm.lint(CHART, strict=True, kube_version=f"v{KUBERNETES}")
    assert report["errors"] == []
    assert [m for m in report["messages"] if m["severity"] >= 2] == []
    for name in ENVIRONMENTS:
        report = helm.lint(CHART, environment_values(name), strict=True, kube_version=f"v{KUBERNETES}")
        assert report["errors"] == [] and [m for m in report["messages"] if m["severity"] >= 2] == [], name


def test_every_manifest_fits_the_kubernetes_schema_and_custom_resources_have_their_required_fields(renders):
    kinds = set()
    for documents in renders.values():
        for doc in documents:
            kinds.add(doc["kind"])
            if doc["kind"] in CUSTOM:
                custom_resource_check(doc)
            else:
                kubernetes_validate.validate(doc, KUBERNETES, strict=True)
    for name in ENVIRONMENTS:
        application = yaml.safe_load((ARGOCD / name / "application.yaml").read_text())
        custom_resource_check(application)
        assert application["spec"]["source"]["path"] == "deploy/helm/tradingsite"
        (values_file,) = application["spec"]["source"]["helm"]["valueFiles"]
        assert (CHART / values_file).resolve() == (ARGOCD / name / "values.yaml").resolve()
    assert {"ExternalSecret", "ServiceMonitor", "PrometheusRule", "NetworkPolicy", "HorizontalPodAutoscaler"} <= kinds


def custom_resource_check(doc: dict) -> None:
    spec = doc["spec"]
    kind = doc["kind"]
    if kind == "ExternalSecret":
        assert doc["apiVersion"].startswith("external-secrets.io/")
        assert spec["secretStoreRef"]["name"] and spec["secretStoreRef"]["kind"] in (
            "SecretStore",
            "ClusterSecretStore",
        )
        assert spec["target"]["name"]
        assert spec["data"] and all(item["secretKey"] and item["remoteRef"]["key"] for item in spec["data"])
    elif kind == "ServiceMonitor":
        assert doc["apiVersion"] == "monitoring.coreos.com/v1"
        assert spec["selector"]["matchLabels"] and all(endpoint["port"] for endpoint in spec["endpoints"])
    elif kind == "PrometheusRule":
        assert doc["apiVersion"] == "monitoring.coreos.com/v1"
        assert spec["groups"]
        for group in spec["groups"]:
            assert group["name"] and group["rules"]
            assert all(("alert" in rule) != ("record" in rule) and rule["expr"] for rule in group["rules"])
    elif kind == "Application":
        assert doc["apiVersion"] == "argoproj.io/v1alpha1"
        assert spec["project"] and spec["source"]["repoURL"] and spec["source"]["path"]
        assert spec["destination"]["namespace"] and (
            spec["destination"].get("server") or spec["destination"].get("name")
        )


def test_every_pod_runs_as_non_root_on_a_read_only_root_with_limits_and_probes(renders):
    for values, documents in renders.items():
        for name, pod in pods(documents):
            assert pod["securityContext"]["runAsNonRoot"] is True, (values, name)
            assert pod["securityContext"]["runAsUser"] != 0
            assert pod["automountServiceAccountToken"] is False
            for container in pod["containers"]:
                security = container["securityContext"]
                assert security["readOnlyRootFilesystem"] is True and security["allowPrivilegeEscalation"] is False
                assert security["capabilities"]["drop"] == ["ALL"]
                for side in ("requests", "limits"):
                    assert {"cpu", "memory"} <= set(container["resources"][side]), (values, name, side)
        for deployment in of_kind(documents, "Deployment"):
            (container,) = deployment["spec"]["template"]["spec"]["containers"]
            assert "livenessProbe" in container and "readinessProbe" in container, deployment["metadata"]["name"]
    web = named(renders["default"], "Deployment", "-web")["spec"]["template"]["spec"]["containers"][0]
    assert web["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"
    feed = named(renders["default"], "Deployment", "-feed-0")["spec"]["template"]["spec"]["containers"][0]
    assert feed["livenessProbe"]["exec"]["command"][:3] == ["python", "/app/tradingsite/heartbeat.py", "feed"]
    # a restarted container starts with empty metrics and heartbeat folders
    assert feed["command"][:3] == ["sh", "-c", 'rm -rf /tmp/prometheus /tmp/heartbeat && exec "$@"']
    assert feed["command"][4:] == ["python", "manage.py", "run_feed"]


def test_beat_and_the_other_singletons_never_run_twice(renders):
    for values, documents in renders.items():
        scaled = {hpa["spec"]["scaleTargetRef"]["name"] for hpa in of_kind(documents, "HorizontalPodAutoscaler")}
        for suffix in ("-beat", "-sequencer", "-strategies"):
            singleton = named(documents, "Deployment", suffix)
            assert singleton["spec"]["replicas"] == 1, (values, suffix)
            assert singleton["spec"]["strategy"] == {"type": "Recreate"}  # the old pod ends before the new starts
            assert singleton["metadata"]["name"] not in scaled


def test_the_migration_hook_runs_before_the_deployments(renders):
    for documents in renders.values():
        job = named(documents, "Job", "-migrate")
        hooks = job["metadata"]["annotations"]
        assert set(hooks["helm.sh/hook"].split(",")) == {"pre-install", "pre-upgrade"}
        assert "migrate --noinput" in " ".join(job["spec"]["template"]["spec"]["containers"][0]["command"])
        for deployment in of_kind(documents, "Deployment"):
            assert "helm.sh/hook" not in deployment["metadata"].get("annotations", {})
        for secret in of_kind(documents, "ExternalSecret"):  # the Secret the job reads exists before it
            assert int(secret["metadata"]["annotations"]["helm.sh/hook-weight"]) < int(hooks["helm.sh/hook-weight"])


def test_the_network_policy_denies_by_default_and_admits_the_ingress_and_prometheus_only(renders):
    for documents in renders.values():
        policies = of_kind(documents, "NetworkPolicy")
        (deny,) = [p for p in policies if "ingress" not in p["spec"] and "egress" not in p["spec"]]
        assert set(deny["spec"]["policyTypes"]) == {"Ingress", "Egress"}
        selector = deny["spec"]["podSelector"]["matchLabels"]
        for workload in documents:
            if workload["kind"] in ("Deployment", "Job", "CronJob"):
                labels = template_of(workload)["metadata"]["labels"]
                assert selector.items() <= labels.items(), workload["metadata"]["name"]
        ports = sorted(
            port["port"] for policy in policies for rule in policy["spec"].get("ingress", []) for port in rule["ports"]
        )
        assert ports == [8000, 9100]


def test_no_secret_value_reaches_a_rendered_manifest(renders):
    for documents in renders.values():
        assert not of_kind(documents, "Secret")
        text = json.dumps(documents)
        assert "postgres://" not in text and "postgresql://" not in text and "redis://" not in text
        config = of_kind(documents, "ConfigMap")[0]["data"]
        assert not set(SECRET_NAMES) & set(config)
        for _, pod in pods(documents):
            for container in pod["containers"]:
                assert not {item["name"] for item in container.get("env", [])} & set(SECRET_NAMES)
                assert any("secretRef" in source for source in container["envFrom"])


def test_a_values_file_that_breaks_the_schema_is_refused_with_the_field_named():
    with helm.Chart.load(CHART) as chart:
        for bad, field in (
            ({"feed": {"shards": 0}}, "/feed/shards"),
            ({"web": {"autoscaling": {"maxReplicas": "ten"}}}, "/web/autoscaling/maxReplicas"),
            ({"env": {"SECRET_KEY": "in plain sight"}}, "/env/SECRET_KEY"),
            ({"env": {"PRODUCTION": True}}, "/env/PRODUCTION"),
            ({"ingres": {"enabled": True}}, "ingres"),
            ({"worker": {"resources": {"limits": {"memory": "lots"}}}}, "/worker/resources/limits/memory"),
        ):
            with pytest.raises(helm.HelmValuesError) as refused:
                chart.validate_schema(bad)
            assert field in str(refused.value), (bad, str(refused.value))
        with pytest.raises(helm.HelmError, match="feed/shards"):
            chart.render({"feed": {"shards": 0}}, name="tradingsite", namespace="trading")
        for name in ENVIRONMENTS:
            chart.validate_schema(environment_values(name))


def test_each_feed_shard_is_its_own_deployment_and_ml_workers_go_to_the_gpu_pool(renders):
    feeds = [d for d in of_kind(renders["prod"], "Deployment") if "-feed-" in d["metadata"]["name"]]
    shards = []
    for feed in feeds:
        env = {e["name"]: e["value"] for e in feed["spec"]["template"]["spec"]["containers"][0]["env"]}
        shards.append((env["FEED_SHARD"], env["FEED_SHARDS"]))
        assert feed["spec"]["replicas"] == 1 and feed["spec"]["strategy"] == {"type": "Recreate"}
    assert sorted(shards) == [("0", "3"), ("1", "3"), ("2", "3")]
    ml = named(renders["prod"], "Deployment", "-ml-worker")["spec"]["template"]["spec"]
    assert ml["nodeSelector"] == {"workload": "gpu"} and ml["tolerations"][0]["key"] == "nvidia.com/gpu"
    assert ml["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert "-Q" in ml["containers"][0]["command"] and ".rl," in " ".join(ml["containers"][0]["command"])
    web = named(renders["prod"], "Deployment", "-web")["spec"]["template"]["spec"]
    assert "nodeSelector" not in web and "tolerations" not in web
    hpa = named(renders["prod"], "HorizontalPodAutoscaler", "-web")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 10)
    assert not any("-ml-worker" in d["metadata"]["name"] for d in renders["dev"])


def test_every_process_serves_metrics_on_its_own_port_counting_across_its_processes(renders):
    config = of_kind(renders["default"], "ConfigMap")[0]["data"]
    assert config["METRICS_PORT"] == "9100" and config["PROMETHEUS_MULTIPROC_DIR"] == "/tmp/prometheus"
    assert config["METRICS_STATE"] == "false" and config["ALLOWED_HOSTS"] == "trading.example.com"
    sequencer = named(renders["default"], "Deployment", "-sequencer")["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "METRICS_STATE", "value": "true"} in sequencer["env"]  # these pods read the state
    web = named(renders["default"], "Deployment", "-web")["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "METRICS_STATE", "value": "true"} in web["env"]
    aliased = of_kind(rendered({"env": {"ALLOWED_HOSTS": "trading.example.com,alias.example.com"}}), "ConfigMap")
    assert aliased[0]["data"]["ALLOWED_HOSTS"] == "trading.example.com,alias.example.com"
    assert config["HEARTBEAT_DIR"] == "/tmp/heartbeat"
    monitor = of_kind(renders["prod"], "ServiceMonitor")[0]["spec"]["endpoints"][0]
    assert monitor["port"] == "metrics" and monitor["bearerTokenSecret"]["key"] == "METRICS_TOKEN"
    for deployment in of_kind(renders["default"], "Deployment"):
        ports = deployment["spec"]["template"]["spec"]["containers"][0]["ports"]
        assert {"name": "metrics", "containerPort": 9100} in ports


def test_prod_backs_up_daily_to_s3_and_a_cluster_without_s3_onto_a_volume(renders):
    (cron,) = of_kind(renders["prod"], "CronJob")
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    container = template_of(cron)["spec"]["containers"][0]
    assert container["command"] == ["python", "manage.py", "backup", "--to", "s3://tradingsite-backups-prod/nightly"]
    assert "backups" not in {v["name"] for v in template_of(cron)["spec"]["volumes"]}
    assert not of_kind(renders["default"], "CronJob")
    (onto_volume,) = of_kind(rendered({"backup": {"enabled": True}}), "CronJob")
    assert template_of(onto_volume)["spec"]["containers"][0]["command"][-1] == "/backups"
    volumes = {v["name"]: v for v in template_of(onto_volume)["spec"]["volumes"]}
    assert volumes["backups"]["persistentVolumeClaim"]["claimName"] == "tradingsite-backups"


def test_a_settings_change_rolls_the_pods():
    before = named(rendered({}), "Deployment", "-web")["spec"]["template"]["metadata"]["annotations"]
    after = named(rendered({"env": {"LOG_LEVEL": "DEBUG"}}), "Deployment", "-web")
    assert before["checksum/config"] != after["spec"]["template"]["metadata"]["annotations"]["checksum/config"]


def test_every_value_is_documented_and_the_readme_table_is_current():
    from deploy.helm.readme import params  # a script beside the chart

    text = (CHART / "values.yaml").read_text()
    documented = {name for _, name, _ in params(text)}
    values = yaml.safe_load(text)

    def leaves(node, path=""):
        if path in documented or not isinstance(node, dict) or not node:
            yield path
            return
        for key, value in node.items():
            yield from leaves(value, f"{path}.{key}" if path else key)

    undocumented = [leaf for leaf in leaves(values) if leaf not in documented]
    assert undocumented == []
    schema = json.loads((CHART / "values.schema.json").read_text())
    assert set(schema["properties"]) == set(values)
    check = subprocess.run(
        [sys.executable, "deploy/helm/readme.py", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr


def test_the_image_carries_every_package_of_the_project():
    import tomllib

    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    copied = {
        line.split()[1]
        for line in (ROOT / "deploy" / "Dockerfile").read_text().splitlines()
        if line.startswith("COPY ")
    }
    assert {package.rstrip("*") for package in packages} <= copied
