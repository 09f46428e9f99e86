"""The deployment answers: the Helm chart and the CI files, validated offline by the real tools.

Every answer of `kubernetes` and `ci` meets each database and each task queue in some render
(rendering costs about a second; nothing is installed). The chart is linted and rendered by
Helm's own library (helm-python-sdk) with its default values and with every optional value on,
each manifest is validated by kubernetes-validate --strict against the oldest Kubernetes the
chart declares and the newest the validator knows, and the values against the chart's schema.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator
from itertools import product
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import latest_version

from tests.helpers import render, run
from tests.test_questions import refusal
from tests.test_readme import structure_problems

DATABASES = ["sqlite", "postgresql", "mysql"]
QUEUES = ["inprocess", "celery", "arq", "taskiq", "none"]
CIS = ["github", "gitlab", "none"]
CACHES = ["memory", "redis", "none"]
AUTHS = ["none", "jwt", "api_key"]
WORKER_QUEUES = {"celery", "arq", "taskiq"}
SCHEDULER_QUEUES = {"celery", "taskiq"}
SLUG = "acme-orders"
CHART = Path("deploy") / "helm" / SLUG
ALL_OPTIONAL = CHART / "ci" / "all-optional-values.yaml"
# The image's user (Dockerfile: useradd --uid 10001).
IMAGE_UID = 10001
# Settings the chart must leave to the Secret: they hold passwords or keys.
SECRET_SETTINGS = {
    "APP_SECRET_KEY",
    "APP_DATABASE__URL",
    "APP_CACHE__URL",
    "APP_JOBS__BROKER_URL",
    "APP_AUTH__PRIVATE_KEY",
}


def secrets_of(answers: dict[str, str], project: Path) -> set[str]:
    """The variant's settings that must come from the Secret (a SQLite URL is only a path)."""
    env_example = (project / ".env.example").read_text()
    found = {name for name in SECRET_SETTINGS if f"\n{name}=" in env_example}
    return found - {"APP_DATABASE__URL"} if answers["database"] == "sqlite" else found


def deploy_variants() -> list[dict[str, str]]:
    """A Helm chart for every database and queue pair, the CI answers taking turns among them
    (so each CI answer meets each database and each queue), and five renders without a chart."""
    variants = []
    for index, (database, queue) in enumerate(product(DATABASES, QUEUES)):
        variants.append(
            {
                "database": database,
                "task_queue": queue,
                "kubernetes": "helm",
                "ci": CIS[index % 3],
                "cache": CACHES[(index // 2) % 3],
                "auth": AUTHS[(index // 4) % 3],
                "broker": "rabbitmq" if index % 2 else "redis",
            }
        )
    for index, (database, queue) in enumerate(zip(DATABASES * 2, QUEUES, strict=False)):
        variants.append(
            {"database": database, "task_queue": queue, "kubernetes": "none", "ci": CIS[index % 3]}
        )
    return variants


VARIANTS = deploy_variants()
CHART_VARIANTS = [answers for answers in VARIANTS if answers["kubernetes"] == "helm"]


def variant_name(answers: dict[str, str]) -> str:
    return "-".join(answers.values())


def params(variants: list[dict[str, str]]) -> list[Any]:
    """A variant's tests share an xdist worker, which renders it once."""
    return [
        pytest.param(v, id=variant_name(v), marks=pytest.mark.xdist_group(variant_name(v)))
        for v in variants
    ]


@pytest.fixture(scope="session")
def rendered(
    template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[dict[str, str]], Path]:
    projects: dict[str, Path] = {}

    def get(answers: dict[str, str]) -> Path:
        name = variant_name(answers)
        if name not in projects:
            destination = tmp_path_factory.mktemp(name) / SLUG
            projects[name] = render(
                template, destination, {"project_name": "Acme Orders", **answers}
            )
        return projects[name]

    return get


@pytest.fixture(scope="module", params=params(VARIANTS))
def variant(
    request: pytest.FixtureRequest, rendered: Callable[[dict[str, str]], Path]
) -> tuple[dict[str, str], Path]:
    return request.param, rendered(request.param)


@pytest.fixture(scope="module", params=params(CHART_VARIANTS))
def chart_variant(
    request: pytest.FixtureRequest, rendered: Callable[[dict[str, str]], Path]
) -> tuple[dict[str, str], Path]:
    return request.param, rendered(request.param)


def test_the_variants_meet_every_database_and_queue_with_every_answer() -> None:
    for question, answers in {"kubernetes": ["none", "helm"], "ci": CIS}.items():
        for answer in answers:
            chosen = [v for v in VARIANTS if v[question] == answer]
            assert {v["database"] for v in chosen} == set(DATABASES), (question, answer)
            assert {v["task_queue"] for v in chosen} == set(QUEUES), (question, answer)


@pytest.mark.parametrize(("question", "answer"), [("kubernetes", "kustomize"), ("ci", "jenkins")])
def test_an_unknown_answer_is_refused_with_the_choices(
    template: Path, tmp_path: Path, question: str, answer: str
) -> None:
    error = refusal(template, tmp_path / "out", **{question: answer})

    choices = {"kubernetes": ["none", "helm"], "ci": CIS}[question]
    assert all(choice in error for choice in choices), error
    assert not (tmp_path / "out").exists()


# --- what is rendered


def test_only_the_chosen_deployment_files_are_rendered(
    variant: tuple[dict[str, str], Path],
) -> None:
    answers, project = variant
    assert (project / "deploy").exists() == (answers["kubernetes"] == "helm")
    assert (project / ".github" / "workflows" / "ci.yml").exists() == (answers["ci"] == "github")
    assert (project / ".github").exists() == (answers["ci"] == "github")
    assert (project / ".gitlab-ci.yml").exists() == (answers["ci"] == "gitlab")
    if answers["kubernetes"] != "helm":
        return
    server, queue = answers["database"] != "sqlite", answers["task_queue"]
    expected = {
        "_helpers.tpl",
        "NOTES.txt",
        "configmap.yaml",
        "deployment.yaml",
        "service.yaml",
        "ingress.yaml",
    }
    expected |= {"hpa.yaml", "pdb.yaml", "migrate-job.yaml"} if server else {"data-pvc.yaml"}
    if server and queue != "none":
        expected.add("uploads-pvc.yaml")
    if server and queue in WORKER_QUEUES:
        expected.add("worker-deployment.yaml")
    if server and queue in SCHEDULER_QUEUES:
        expected.add("scheduler-deployment.yaml")
    assert {path.name for path in (project / CHART / "templates").iterdir()} == expected


def test_deployment_files_pass_the_projects_whitespace_hooks(
    variant: tuple[dict[str, str], Path],
) -> None:
    """What pre-commit's end-of-file-fixer and trailing-whitespace would change."""
    _, project = variant
    files = [*(project / "deploy").rglob("*"), *project.glob(".gitlab-ci.yml")]
    files += (project / ".github").rglob("*")
    for path in (path for path in files if path.is_file()):
        text = path.read_text()
        assert text.endswith("\n"), path
        assert not text.endswith("\n\n"), path
        assert not re.search(r"[ \t]+$", text, re.MULTILINE), path


def test_every_yaml_file_the_check_yaml_hook_reads_parses(
    variant: tuple[dict[str, str], Path],
) -> None:
    """pre-commit's check-yaml skips Helm's Go templates and must pass on every other file."""
    _, project = variant
    hooks = yaml.safe_load((project / ".pre-commit-config.yaml").read_text())
    (check_yaml,) = [
        hook for repo in hooks["repos"] for hook in repo["hooks"] if hook["id"] == "check-yaml"
    ]
    skipped = re.compile(check_yaml.get("exclude", "^$"))
    files = [path.relative_to(project).as_posix() for path in project.rglob("*.y*ml")]
    files = [name for name in files if not name.startswith(".venv/")]

    templates = [name for name in files if "/templates/" in name]
    assert all(skipped.search(name) for name in templates)
    for name in (name for name in files if not skipped.search(name)):
        list(yaml.safe_load_all((project / name).read_text()))


# --- the chart, by Helm's own library


def documents(manifests: dict[str, str]) -> list[dict[str, Any]]:
    return [
        document
        for path, text in sorted(manifests.items())
        if path.endswith(".yaml")
        for document in yaml.safe_load_all(text)
        if document
    ]


def render_chart(project: Path, values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    with helm.Chart.load(project / CHART) as chart:
        return documents(chart.render(values or {}, name=SLUG, namespace="production"))


def value_sets(project: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    yield "default values", {}
    yield "every optional value", yaml.safe_load((project / ALL_OPTIONAL).read_text())


def minimum_kubernetes(project: Path) -> str:
    declared = yaml.safe_load((project / CHART / "Chart.yaml").read_text())["kubeVersion"]
    found = re.fullmatch(r">=(\d+\.\d+)\.\d+-0", declared)
    assert found, declared
    return found.group(1)


def test_the_chart_passes_helm_lint_strict(chart_variant: tuple[dict[str, str], Path]) -> None:
    _, project = chart_variant
    for name, values in value_sets(project):
        report = helm.lint(
            project / CHART,
            values,
            strict=True,
            kube_version=f"v{minimum_kubernetes(project)}.0",
        )
        # Severity 2 is a warning, which --strict turns into a failure; 1 is information.
        problems = [m for m in report["messages"] if m["severity"] >= 2] + report["errors"]
        assert not problems, f"{name}: {problems}"


def test_every_manifest_is_valid_for_the_oldest_and_newest_kubernetes(
    chart_variant: tuple[dict[str, str], Path],
) -> None:
    _, project = chart_variant
    versions = [f"{minimum_kubernetes(project)}.0", latest_version()]
    for name, values in value_sets(project):
        for manifest in render_chart(project, values):
            for version in versions:
                kubernetes_validate.validate(manifest, version, strict=True)
        kinds = {manifest["kind"] for manifest in render_chart(project, values)}
        if name == "every optional value":
            assert "Ingress" in kinds
            assert ("HorizontalPodAutoscaler" in kinds) == (
                project / CHART / "templates" / "hpa.yaml"
            ).exists()


def test_the_values_follow_their_schema_and_the_schema_refuses_mistakes(
    chart_variant: tuple[dict[str, str], Path],
) -> None:
    answers, project = chart_variant
    schema = json.loads((project / CHART / "values.schema.json").read_text())
    defaults = yaml.safe_load((project / CHART / "values.yaml").read_text())
    assert set(defaults) <= set(schema["properties"]), "every value is described"
    mistakes: list[dict[str, Any]] = [
        {"replicaCount": 3},
        {"api": {"preStopSleepSeconds": "5"}},
        {"image": {"pullPolicy": "Sometimes"}},
        {"config": {"APP_WORKERS": 2}},
        {"config": {"LOG_LEVEL": "DEBUG"}},
        {"config": {"APP_HEALTH_TIMEOUT_SECONDS": "soon"}},
        {"existingSecret": ""},
    ]
    secrets_here = secrets_of(answers, project)
    mistakes += [{"config": {name: "secret"}} for name in sorted(secrets_here)]
    with helm.Chart.load(project / CHART) as chart:
        for _, values in value_sets(project):
            chart.validate_schema(chart.merge_values(values))
        for values in mistakes:
            with pytest.raises(helm.HelmValuesError):
                chart.validate_schema(chart.merge_values(values))
    if answers["database"] != "sqlite":
        assert "APP_DATABASE__URL" in secrets_here


# --- what the manifests say


def by_kind(manifests: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {m["metadata"]["name"]: m for m in manifests if m["kind"] == kind}


def pod_specs(manifests: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        f"{m['kind']}/{m['metadata']['name']}": m["spec"]["template"]["spec"]
        for m in manifests
        if m["kind"] in {"Deployment", "Job"}
    }


def containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*spec.get("initContainers", []), *spec["containers"]]


def api_container(manifests: list[dict[str, Any]]) -> dict[str, Any]:
    spec = by_kind(manifests, "Deployment")[SLUG]["spec"]["template"]["spec"]
    return next(c for c in spec["containers"] if c["name"] == "api")


def test_every_pod_runs_locked_down_as_the_images_user(
    chart_variant: tuple[dict[str, str], Path],
) -> None:
    _, project = chart_variant
    assert f"--uid {IMAGE_UID}" in (project / "Dockerfile").read_text()
    for _, values in value_sets(project):
        for name, spec in pod_specs(render_chart(project, values)).items():
            pod = spec["securityContext"]
            assert pod["runAsNonRoot"] is True, name
            assert pod["runAsUser"] == pod["runAsGroup"] == pod["fsGroup"] == IMAGE_UID, name
            assert pod["seccompProfile"] == {"type": "RuntimeDefault"}, name
            assert spec["automountServiceAccountToken"] is False, name
            writable = {v["name"] for v in spec["volumes"]}
            for container in containers(spec):
                where = f"{name} {container['name']}"
                context = container["securityContext"]
                assert context["allowPrivilegeEscalation"] is False, where
                assert context["readOnlyRootFilesystem"] is True, where
                assert context["capabilities"] == {"drop": ["ALL"]}, where
                mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
                assert "/tmp" in mounts, where
                assert set(mounts.values()) <= writable, where
                assert {"requests", "limits"} <= set(container["resources"]), where
                assert "memory" in container["resources"]["limits"], where


@pytest.mark.parametrize("health_timeout", ["2", "4.5"])
def test_probes_wait_longer_than_the_service_and_stopping_pods_drain(
    chart_variant: tuple[dict[str, str], Path], health_timeout: str
) -> None:
    _, project = chart_variant
    manifests = render_chart(project, {"config": {"APP_HEALTH_TIMEOUT_SECONDS": health_timeout}})
    api = api_container(manifests)
    seconds = float(health_timeout)

    assert api["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert api["startupProbe"]["httpGet"]["path"] == "/health/live"
    assert api["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    # /health/ready checks its dependencies at once, each for up to the setting's seconds:
    # a probe waits longer, and not much longer, so a dead dependency is noticed in time.
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert api[probe]["timeoutSeconds"] == math.ceil(seconds) + 1, probe

    values = yaml.safe_load((project / CHART / "values.yaml").read_text())
    pause = api["lifecycle"]["preStop"]["sleep"]["seconds"]
    spec = by_kind(manifests, "Deployment")[SLUG]["spec"]["template"]["spec"]
    assert pause == values["api"]["preStopSleepSeconds"] > 0
    assert spec["terminationGracePeriodSeconds"] > pause + values["api"]["drainSeconds"]
    # uvicorn itself waits drainSeconds for the requests in flight, no more.
    grace = {variable["name"]: variable["value"] for variable in api["env"]}
    assert grace["APP_SHUTDOWN_GRACE_SECONDS"] == str(values["api"]["drainSeconds"])


def settings_of(env_example: str) -> set[str]:
    return set(re.findall(r"^(APP_\w+)=", env_example, re.MULTILINE))


def test_settings_are_the_services_own_and_secrets_only_come_from_the_secret(
    chart_variant: tuple[dict[str, str], Path],
) -> None:
    answers, project = chart_variant
    known = settings_of((project / ".env.example").read_text())
    for name, values in value_sets(project):
        manifests = render_chart(project, values)
        assert not by_kind(manifests, "Secret"), "the chart never holds a secret"
        (config_map,) = by_kind(manifests, "ConfigMap").values()
        settings = set(config_map["data"])
        assert settings <= known, f"{name}: not settings of the service: {settings - known}"
        assert not settings & secrets_of(answers, project), name
        secret = values.get("existingSecret") or SLUG
        for pod, spec in pod_specs(manifests).items():
            for container in containers(spec):
                sources = container.get("envFrom", [])
                assert {"secretRef": {"name": secret}} in sources, f"{pod} {container['name']}"
    for path in (project / CHART).rglob("*"):
        if path.is_file():
            text = path.read_text()
            assert not re.search(r"://[^/\s:@]*:[^/\s@]+@", text), f"a password in {path}"
            assert "change-me" not in text, path
    # The README's `kubectl create secret` names exactly the secrets this variant reads.
    readme = (project / "README.md").read_text()
    literals = set(re.findall(r"--from-literal=(APP_\w+)=", readme))
    assert literals == secrets_of(answers, project) - {"APP_AUTH__PRIVATE_KEY"}
    if answers["database"] != "sqlite":
        assert "APP_DATABASE__URL" in literals


def test_migrations_run_before_the_new_pods_serve(
    chart_variant: tuple[dict[str, str], Path],
) -> None:
    answers, project = chart_variant
    manifests = render_chart(project)
    api = by_kind(manifests, "Deployment")[SLUG]["spec"]
    if answers["database"] == "sqlite":
        (migrate,) = api["template"]["spec"]["initContainers"]
        assert migrate["command"] == [SLUG, "migrate"]
        assert api["replicas"] == 1
        assert api["strategy"] == {"type": "Recreate"}, "never two pods on one SQLite file"
        assert not by_kind(manifests, "Job")
        return
    (job,) = by_kind(manifests, "Job").values()
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert "before-hook-creation" in annotations["helm.sh/hook-delete-policy"]
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == [SLUG, "migrate"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    # On the first install the hook runs before the ConfigMap exists: settings are inline.
    (config_map,) = by_kind(manifests, "ConfigMap").values()
    inline = {item["name"]: item["value"] for item in container["env"]}
    assert inline == config_map["data"]
    assert api["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_workers_and_the_one_scheduler_run_from_the_same_image(
    chart_variant: tuple[dict[str, str], Path],
) -> None:
    answers, project = chart_variant
    queue = answers["task_queue"]
    manifests = render_chart(project)
    deployments = by_kind(manifests, "Deployment")
    commands = {
        tuple(c["command"][1:2])
        for d in deployments.values()
        for c in d["spec"]["template"]["spec"]["containers"]
    }
    assert (("worker",) in commands) == (queue in WORKER_QUEUES)
    assert (("scheduler",) in commands) == (queue in SCHEDULER_QUEUES)
    images = {c["image"] for spec in pod_specs(manifests).values() for c in containers(spec)}
    assert images == {f"registry.example.com/{SLUG}:0.1.0"}
    if answers["database"] != "sqlite" and queue in SCHEDULER_QUEUES:
        scheduler = deployments[f"{SLUG}-scheduler"]["spec"]
        assert scheduler["replicas"] == 1
        assert scheduler["strategy"] == {"type": "Recreate"}
    if queue != "none":
        storage = yaml.safe_load((project / CHART / "values.yaml").read_text())["config"][
            "APP_DOCUMENTS__STORAGE_DIR"
        ]
        for name, spec in pod_specs(manifests).items():
            for container in spec["containers"]:
                if container["command"][1] in {"serve", "worker"}:
                    mounted = [m["mountPath"] for m in container["volumeMounts"]]
                    assert any(storage.startswith(path) for path in mounted if path != "/tmp"), (
                        f"{name} {container['name']} cannot see the uploads"
                    )


def test_the_chart_refuses_more_connections_than_the_database_allows(
    chart_variant: tuple[dict[str, str], Path],
) -> None:
    answers, project = chart_variant
    if answers["database"] == "sqlite":
        assert "database" not in yaml.safe_load((project / CHART / "values.yaml").read_text())
        return
    values = yaml.safe_load((project / CHART / "values.yaml").read_text())
    budget = values["database"]["connectionLimit"] - values["database"]["reservedConnections"]
    pool = int(values["config"]["APP_DATABASE__POOL_SIZE"])
    most = budget // pool - 1  # replicas whose rollout, one pod more, still fits

    render_chart(project, {"api": {"replicas": most}})
    with pytest.raises(helm.HelmRenderError, match=r"database\.connectionLimit"):
        render_chart(project, {"api": {"replicas": most + 1}})
    processes = budget // ((values["api"]["replicas"] + 1) * pool) + 1
    with pytest.raises(helm.HelmRenderError, match=r"database\.connectionLimit"):
        render_chart(project, {"config": {"APP_WORKERS": str(processes)}})
    with pytest.raises(helm.HelmRenderError, match=r"database\.connectionLimit"):
        render_chart(project, {"autoscaling": {"enabled": True, "maxReplicas": most + 1}})
    # The README's figures are the chart's defaults.
    replicas, autoscaled = values["api"]["replicas"], values["autoscaling"]["maxReplicas"]
    readme = (project / "README.md").read_text()
    assert f"{replicas + 1} x 1 x ({pool} + 0) = {(replicas + 1) * pool}" in readme
    assert f"{autoscaled + 1} x 1 x {pool} = {(autoscaled + 1) * pool}" in readme
    assert f"`database.connectionLimit` ({values['database']['connectionLimit']}," in readme


def test_the_readme_installs_and_upgrades_with_the_chart(
    chart_variant: tuple[dict[str, str], Path],
) -> None:
    _, project = chart_variant
    readme = (project / "README.md").read_text()
    assert structure_problems(readme) == []
    assert f"helm install {SLUG} {CHART.as_posix()} " in readme
    assert f"helm upgrade {SLUG} {CHART.as_posix()} " in readme
    assert f"helm lint --strict {CHART.as_posix()}" in readme


def test_validators_refuse_what_they_should() -> None:
    """The tools above fail on mistakes, so their passing means something."""
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x"},
        "spec": {
            "selector": {"matchLabels": {"a": "b"}},
            "template": {
                "metadata": {"labels": {"a": "b"}},
                "spec": {
                    "containers": [{"name": "x", "image": "x", "readOnlyRootFilesytem": True}]
                },
            },
        },
    }
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, latest_version(), strict=True)


# --- CI files


def ci_commands_of_github(workflow: dict[str, Any]) -> list[str]:
    return [
        line.strip()
        for step in workflow["jobs"]["test"]["steps"]
        if "run" in step
        for line in step["run"].splitlines()
        if line.strip()
    ]


def github_images(workflow: dict[str, Any]) -> set[str]:
    return {s["image"] for s in workflow["jobs"]["test"].get("services", {}).values()}


def test_the_ci_files_follow_their_schemas_and_pin_their_versions(
    variant: tuple[dict[str, str], Path],
) -> None:
    answers, project = variant
    if answers["ci"] == "github":
        run(["actionlint", "-no-color", ".github/workflows/ci.yml"], project)
        workflow = yaml.safe_load((project / ".github" / "workflows" / "ci.yml").read_text())
        uses = [s["uses"] for job in workflow["jobs"].values() for s in job["steps"] if "uses" in s]
        assert uses, "the workflow uses actions"
        for action in uses:
            assert re.search(r"@v\d+(\.\d+)*$", action), f"{action} is not pinned to a version"
        assert "docker/build-push-action" in " ".join(uses), "the workflow builds the image"
    elif answers["ci"] == "gitlab":
        run(["check-jsonschema", "--builtin-schema", "vendor.gitlab-ci", ".gitlab-ci.yml"], project)
        pipeline = yaml.safe_load((project / ".gitlab-ci.yml").read_text())
        jobs = {
            name: job for name, job in pipeline.items() if isinstance(job, dict) and "script" in job
        }
        images = [job["image"] for job in jobs.values()] + [
            service if isinstance(service, str) else service["name"]
            for job in jobs.values()
            for service in job.get("services", [])
        ]
        for image in images:
            tag = image.rsplit(":", 1)[-1]
            assert ":" in image, f"{image} is not pinned to a version"
            assert re.match(r"\d", tag), f"{image} is not pinned to a version"
        assert any("docker build" in line for job in jobs.values() for line in job["script"])
    else:
        assert not list(project.glob(".git*ci*"))
        assert not (project / ".github").exists()


def test_the_gitlab_pipeline_does_what_the_github_workflow_does(
    variant: tuple[dict[str, str], Path], template: Path, tmp_path: Path
) -> None:
    answers, project = variant
    if answers["ci"] != "gitlab":
        assert not (project / ".gitlab-ci.yml").exists()
        return
    github = render(
        template, tmp_path / SLUG, {"project_name": "Acme Orders", **answers, "ci": "github"}
    )
    workflow = yaml.safe_load((github / ".github" / "workflows" / "ci.yml").read_text())
    pipeline = yaml.safe_load((project / ".gitlab-ci.yml").read_text())

    assert pipeline["test"]["script"] == ci_commands_of_github(workflow)
    services = {s["name"] for s in pipeline["test"].get("services", [])}
    assert services == github_images(workflow)
    assert pipeline["test"]["image"].endswith(
        f"-python{answers.get('python_version', '3.13')}-bookworm-slim"
    )
    # The tests' servers, by the same variables, at the services' aliases.
    github_env = workflow["jobs"]["test"].get("env", {})
    gitlab_env = {
        k: v for k, v in pipeline["test"]["variables"].items() if k.startswith(("TEST_", "APP_"))
    }
    assert set(gitlab_env) == set(github_env)
    aliases = {s["alias"] for s in pipeline["test"].get("services", [])}
    for name, url in gitlab_env.items():
        host = re.search(r"@?([a-z0-9.]+):\d+", url.split("://", 1)[1])
        assert host, f"{name}={url}"
        assert host.group(1) in aliases, f"{name}={url}"
    assert pipeline["test"]["cache"]["paths"] == [pipeline["test"]["variables"]["UV_CACHE_DIR"]]
