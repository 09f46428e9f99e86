from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import ROOT, git_commit_all, render, uv_sync
from tests.reliability import Tally, tally
from tests.variants import variant_id

DEFAULT_ANSWERS = {"project_name": "Acme Orders"}


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A committed copy of the template as it is in the working tree, uncommitted edits included.

    Copier renders a git ref; committing a snapshot makes `_commit` real and lets tests run
    on work in progress without touching the developer's repository.
    """
    snapshot = tmp_path_factory.mktemp("template") / "repo"
    _git("clone", "--quiet", "--no-hardlinks", str(ROOT), str(snapshot), cwd=ROOT)
    tracked_or_new = _git(
        "ls-files", "--cached", "--others", "--exclude-standard", "-z", cwd=ROOT
    ).split("\0")
    for name in filter(None, tracked_or_new):
        source = ROOT / name
        target = snapshot / name
        if source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        elif target.exists():
            target.unlink()
    git_commit_all(snapshot, "snapshot of the working tree")
    return snapshot


@pytest.fixture(scope="session")
def installed_project(
    template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[dict[str, Any]], Path]:
    """Renders and installs a variant once per test session, for every test that asks for it.

    Tests of one variant share an xdist group, so they meet the same cache.
    """
    projects: dict[str, Path] = {}

    def get(answers: dict[str, Any]) -> Path:
        key = variant_id(answers)
        if key not in projects:
            project = render(template, tmp_path_factory.mktemp(key) / "project", answers)
            uv_sync(project)
            projects[key] = project
        return projects[key]

    return get


@pytest.fixture(scope="module")
def project(variant: dict[str, Any], installed_project: Callable[[dict[str, Any]], Path]) -> Path:
    """The installed project of the module's `variant` fixture."""
    return installed_project(variant)


@pytest.fixture(scope="session")
def reliability(pytestconfig: pytest.Config) -> Tally:
    """Where the fuzz, hostile-input, fault and stop tests count what they did."""
    return tally(pytestconfig)


def pytest_sessionfinish(session: pytest.Session) -> None:
    # On an xdist worker: hand the worker's counts to the controller.
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["reliability"] = dict(tally(session.config).counts)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    # On the xdist controller: a worker finished; add its counts.
    tally(node.config).merge(node.workeroutput.get("reliability", {}))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    counts = tally(terminalreporter.config)
    if counts.counts:
        terminalreporter.write_line(counts.summary())
