"""What the rendered README says of the Docker image holds, measured without a Docker engine.

The final stage of the image is the build stage's `/app` on the slim Python image, so the
dependency set it carries is what `uv sync --frozen --no-dev` installs, with bytecode compiled,
into an empty environment: that is measured here for the default answers and for the largest
set of answers, and compared with the figures the README gives.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import UV, render, run

DEFAULT = {"project_name": "Acme Orders"}
# The answers with the most dependencies (asyncmy's compiled extension weighs most).
LARGEST = {
    "project_name": "Acme Orders",
    "database": "mysql",
    "cache": "redis",
    "auth": "jwt",
    "task_queue": "celery",
    "broker": "rabbitmq",
}
# Dependencies move between releases: a figure this far off is to be measured again.
TOLERANCE = 0.15


def stages(dockerfile: str) -> list[str]:
    return re.split(r"^FROM ", dockerfile, flags=re.MULTILINE)[1:]


def installed_size(project: Path, environment: Path) -> int:
    """Bytes of the environment the Dockerfile's build stage makes, as its `RUN`s make it."""
    env = {"UV_PROJECT_ENVIRONMENT": str(environment), "UV_COMPILE_BYTECODE": "1"}
    env["UV_LINK_MODE"] = "copy"
    run([UV, "lock", "--quiet"], project)
    run([UV, "sync", "--frozen", "--no-dev", "--quiet"], project, env=env)
    return sum(path.stat().st_size for path in environment.rglob("*") if path.is_file())


def test_the_image_installs_from_the_lock_compiled_and_ships_no_build_tool(
    template: Path, tmp_path: Path
) -> None:
    project = render(template, tmp_path / "acme-orders", DEFAULT)
    dockerfile = (project / "Dockerfile").read_text()
    builder, final = stages(dockerfile)

    syncs = re.findall(r"uv sync[^\n]*", dockerfile)
    assert syncs, "the image is installed by uv"
    assert all("--frozen" in sync and "--no-dev" in sync for sync in syncs), syncs
    assert "UV_COMPILE_BYTECODE=1" in builder
    assert final.startswith("python:3.13-slim\n")
    assert re.findall(r"^COPY [^\n]*", final, re.MULTILINE) == [
        "COPY --from=builder --chown=10001:10001 /app /app"
    ]
    for tool in ("uv", "apt-get", "pip ", "gcc"):
        assert not re.search(rf"\b{tool}", final), f"{tool} in the final stage"

    environment = tmp_path / "image-venv"
    installed_size(project, environment)
    site = next(environment.glob("lib/python*/site-packages"))
    for tool in ("pip", "setuptools", "wheel", "uv"):
        assert not (site / tool).exists(), f"{tool} is installed in the image"
    assert list((site / "fastapi").glob("__pycache__/*.pyc")), "bytecode is compiled"


@pytest.mark.parametrize(
    ("answers", "words"),
    [(DEFAULT, "with the\ntemplate's default answers"), (LARGEST, "with its largest set")],
    ids=["default", "largest"],
)
def test_the_readme_gives_the_measured_size_of_the_dependencies(
    template: Path, tmp_path: Path, answers: dict[str, str], words: str
) -> None:
    project = render(template, tmp_path / "acme-orders", answers)
    readme = " ".join((project / "README.md").read_text().split())
    stated = re.search(rf"about (\d+) MB {re.escape(' '.join(words.split()))}", readme)
    assert stated, f"the README gives no size {words!r}"

    measured = installed_size(project, tmp_path / "image-venv") / 1e6

    assert abs(measured - int(stated.group(1))) <= TOLERANCE * measured, (
        f"README says {stated.group(1)} MB, measured {measured:.0f} MB: update the figure"
    )
