"""`copier update` from the previous release: nothing lost, nothing conflicting, answers changeable.

Copier exits 0 even when it leaves conflicts, so every update here is followed by a search for
unmerged index entries, `*.rej` files and conflict markers.
"""

from __future__ import annotations

import filecmp
import subprocess
import sys
from pathlib import Path
from typing import Any

import copier
import pytest

from tests.helpers import BASE_ENV, UV, git_commit_all, render, run, uv_sync
from tests.servers import servers_for_tests
from tests.test_readme import TAG_RELEASES, section_code
from tests.variants import DEFAULTS as DEFAULT_OPTIONS

pytestmark = pytest.mark.slow

ANSWER_SETS = {
    "defaults": {"project_name": "Acme Orders"},
    "postgresql-jwt-celery-redis": {
        "project_name": "Acme Orders",
        "database": "postgresql",
        "cache": "redis",
        "auth": "jwt",
        "task_queue": "celery",
        "broker": "redis",
    },
    "mysql-api_key-taskiq-rabbitmq": {
        "project_name": "Acme Orders",
        "database": "mysql",
        "cache": "none",
        "auth": "api_key",
        "task_queue": "taskiq",
        "broker": "rabbitmq",
        "python_version": "3.11",
    },
}
# What differs between two renders of the same answers by design.
IGNORED = {".git", ".env", ".copier-answers.yml"}


def tagged_releases(template: Path) -> list[str]:
    """Every release in CHANGELOG.md, newest first, tagged in the template snapshot if missing.

    By the script README.md gives users for the same purpose.
    """
    return run([str(template / TAG_RELEASES)], template).stdout.split()


@pytest.fixture(scope="module")
def previous_release(template: Path) -> str:
    return tagged_releases(template)[0]


@pytest.fixture(scope="module")
def first_release(template: Path) -> str:
    return tagged_releases(template)[-1]


def generate_from(template: Path, ref: str, destination: Path, answers: dict[str, Any]) -> Path:
    render(template, destination, answers, vcs_ref=ref)
    run(["git", "init", "--quiet"], destination)
    git_commit_all(destination, "generated")
    return destination


def update(project: Path, data: dict[str, Any] | None = None) -> None:
    copier.run_update(
        project,
        data=data or {},
        defaults=True,
        overwrite=True,
        vcs_ref="HEAD",
        quiet=True,
        unsafe=False,
    )
    assert_no_conflicts(project)


def assert_no_conflicts(project: Path) -> None:
    unmerged = run(["git", "ls-files", "--unmerged"], project).stdout
    assert not unmerged, f"unmerged files:\n{unmerged}"
    rejects = [path for path in project.rglob("*.rej") if ".git" not in path.parts]
    assert not rejects, f"rejected hunks: {rejects}"
    markers = subprocess.run(
        ["git", "grep", "-lE", "^(<<<<<<<|>>>>>>>) "],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    assert not markers, f"conflict markers in: {markers}"


def differences(left: Path, right: Path) -> list[str]:
    found: list[str] = []

    def walk(comparison: filecmp.dircmp[str], prefix: str) -> None:
        for name in comparison.left_only + comparison.right_only + comparison.diff_files:
            if name not in IGNORED:
                found.append(prefix + name)
        for name, sub in comparison.subdirs.items():
            if name not in IGNORED:
                walk(sub, f"{prefix}{name}/")

    walk(filecmp.dircmp(left, right, ignore=[".git", "__pycache__"]), "")
    return found


def answers_without_commit(project: Path) -> list[str]:
    lines = (project / ".copier-answers.yml").read_text().splitlines()
    return [line for line in lines if not line.startswith("_commit:")]


@pytest.mark.parametrize("answers", ANSWER_SETS.values(), ids=ANSWER_SETS.keys())
def test_update_without_edits_equals_a_fresh_render(
    template: Path, previous_release: str, tmp_path: Path, answers: dict[str, Any]
) -> None:
    project = generate_from(template, previous_release, tmp_path / "project", answers)

    update(project)

    fresh = render(template, tmp_path / "fresh", answers)
    assert differences(project, fresh) == []
    assert answers_without_commit(project) == answers_without_commit(fresh)
    # A question added since takes its default: `observability` brings the metrics.
    assert (project / "src" / "acme_orders" / "observability" / "metrics.py").is_file()
    assert "- metrics" in (project / ".copier-answers.yml").read_text()


def test_update_from_the_first_release_equals_a_fresh_render(
    template: Path, first_release: str, tmp_path: Path
) -> None:
    """The long way: every release's changes at once, new questions taking their defaults."""
    answers = ANSWER_SETS["defaults"]
    project = generate_from(template, first_release, tmp_path / "project", answers)

    update(project)

    fresh = render(template, tmp_path / "fresh", answers)
    assert differences(project, fresh) == []
    assert answers_without_commit(project) == answers_without_commit(fresh)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize("answers", ANSWER_SETS.values(), ids=ANSWER_SETS.keys())
def test_user_edits_survive_an_update_and_the_tests_still_pass(
    template: Path, previous_release: str, tmp_path: Path, answers: dict[str, Any]
) -> None:
    project = generate_from(template, previous_release, tmp_path / "project", answers)
    package = project / "src" / "acme_orders"
    (package / "status.py").write_text(
        '"""An endpoint of the project\'s own."""\n\nfrom fastapi import APIRouter\n\n'
        'router = APIRouter()\n\n\n@router.get("/status")\nasync def status() -> dict[str, str]:\n'
        '    return {"status": "fine"}\n'
    )
    edit(package / "config.py", 'log_level: str = "INFO"', 'log_level: str = "WARNING"')
    edit(
        project / "pyproject.toml",
        '    "alembic>=1.16",\n',
        '    "alembic>=1.16",\n    "tenacity>=8",\n',
    )
    # A line of the user's own, away from the lines the template changes between releases.
    edit(
        project / "README.md",
        "## Migrations\n",
        "## Migrations\n\nOur team migrates on Fridays only.\n",
    )
    git_commit_all(project, "our own changes")

    update(project)

    assert (package / "status.py").read_text().endswith('return {"status": "fine"}\n')
    assert 'log_level: str = "WARNING"' in (package / "config.py").read_text()
    assert '"tenacity>=8"' in (project / "pyproject.toml").read_text()
    assert "Our team migrates on Fridays only." in (project / "README.md").read_text()
    uv_sync(project)
    run(
        [UV, "run", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider"],
        project,
        env=servers_for_tests({**DEFAULT_OPTIONS, **answers}),
    )


# From answer set, the answers changed, files that must go, files that must appear.
ANSWER_CHANGES = {
    # The question the release did not ask yet, answered other than its default.
    "defaults-drop-the-cache-choose-sentry": (
        "defaults",
        {"cache": "none", "observability": ["sentry"]},
        ["src/acme_orders/cache.py", "src/acme_orders/observability/metrics.py"],
        ["src/acme_orders/observability/sentry.py", "tests/observability/test_sentry.py"],
    ),
    "defaults-add-postgresql-redis-and-celery": (
        "defaults",
        {"database": "postgresql", "cache": "redis", "task_queue": "celery", "broker": "redis"},
        ["src/acme_orders/sqlite.py", "src/acme_orders/jobs/inprocess.py"],
        ["src/acme_orders/cache.py", "src/acme_orders/jobs/celery_worker.py"],
    ),
    "defaults-turn-jwt-on": (
        "defaults",
        {"auth": "jwt"},
        [],
        ["src/acme_orders/auth/tokens.py", "tests/auth/test_tokens.py"],
    ),
    "mysql-api_key-to-sqlite-jwt-without-jobs": (
        "mysql-api_key-taskiq-rabbitmq",
        {"database": "sqlite", "auth": "jwt", "task_queue": "none", "cache": "memory"},
        ["src/acme_orders/auth/keys.py", "src/acme_orders/jobs", "src/acme_orders/documents"],
        ["src/acme_orders/sqlite.py", "src/acme_orders/auth/tokens.py"],
    ),
}


@pytest.mark.parametrize(
    ("start", "data", "gone", "present"), ANSWER_CHANGES.values(), ids=ANSWER_CHANGES.keys()
)
def test_changing_answers_during_an_update_renders_the_new_variant(
    template: Path,
    previous_release: str,
    tmp_path: Path,
    start: str,
    data: dict[str, Any],
    gone: list[str],
    present: list[str],
) -> None:
    answers = ANSWER_SETS[start]
    project = generate_from(template, previous_release, tmp_path / "project", answers)

    update(project, data)

    for name in gone:
        assert not (project / name).exists(), name
    for name in present:
        assert (project / name).exists(), name
    assert differences(project, render(template, tmp_path / "fresh", {**answers, **data})) == []
    uv_sync(project)
    for check in (["ruff", "check", "--no-fix"], ["ruff", "format", "--check"], ["mypy"]):
        run([UV, "run", "--frozen", *check], project)
    run(
        [UV, "run", "--frozen", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider"],
        project,
        env=servers_for_tests({**DEFAULT_OPTIONS, **answers, **data}),
    )


def set_answer(project: Path, key: str, value: str) -> None:
    answers = project / ".copier-answers.yml"
    lines = [
        f"{key}: {value}" if line.startswith(f"{key}:") else line
        for line in answers.read_text().splitlines()
    ]
    answers.write_text("\n".join(lines) + "\n")
    git_commit_all(project, f"fix {key}")


def failed_update_message(project: Path) -> str:
    with pytest.raises(ValueError) as failure:  # noqa: PT011 - copier's errors are ValueErrors
        copier.run_update(project, defaults=True, overwrite=True, quiet=True, unsafe=False)
    return str(failure.value)


@pytest.mark.parametrize("answers", ANSWER_SETS.values(), ids=ANSWER_SETS.keys())
def test_a_relative_template_path_fails_as_the_readme_says_and_its_fix_works(
    template: Path,
    previous_release: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    answers: dict[str, Any],
) -> None:
    run(["git", "clone", "--quiet", str(template), str(tmp_path / "template")], tmp_path)
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    generate_from(Path("../template"), previous_release, Path("project"), answers)
    project = tmp_path / "work" / "project"
    monkeypatch.chdir(project)

    message = failed_update_message(Path())

    guide = (render(template, tmp_path / "fresh", answers) / "README.md").read_text()
    assert message in guide, "the rendered README names the error and its fix"
    set_answer(project, "_src_path", str(template))
    update(project)


@pytest.mark.parametrize("answers", ANSWER_SETS.values(), ids=ANSWER_SETS.keys())
def test_a_project_from_a_dirty_template_fails_as_the_readme_says_and_its_fix_works(
    template: Path, previous_release: str, tmp_path: Path, answers: dict[str, Any]
) -> None:
    dirty = tmp_path / "dirty-template"
    subprocess.run(["git", "clone", "--quiet", str(template), str(dirty)], check=True)
    run(["git", "tag", "--force", previous_release, previous_release], dirty)
    with (dirty / "template" / ".dockerignore").open("a") as ignore:
        ignore.write("experiments/\n")
    with pytest.warns(Warning, match="Dirty template"):
        project = generate_from(dirty, "HEAD", tmp_path / "project", answers)
    run(["git", "checkout", "--", "."], dirty)  # the experiment is gone; its commit never existed
    recorded = next(
        line.split(": ", 1)[1]
        for line in (project / ".copier-answers.yml").read_text().splitlines()
        if line.startswith("_commit:")
    )

    message = failed_update_message(project)

    assert "Unknown revision" in message
    guide = (render(template, tmp_path / "fresh", answers) / "README.md").read_text()
    assert "Unknown revision:" in guide, "the rendered README names the error and its fix"
    set_answer(project, "_commit", recorded.split("-")[0])
    update(project)
    assert "experiments/" in (project / ".dockerignore").read_text()


# The path README.md gives users: a clone without tags, the tag script, a copy of the latest
# release, a git repository, then `copier update` as the rendered README gives it.
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Template Tests",
    "GIT_AUTHOR_EMAIL": "tests@example.com",
    "GIT_COMMITTER_NAME": "Template Tests",
    "GIT_COMMITTER_EMAIL": "tests@example.com",
}
# README commands say `uvx copier`; here it is the tests' own Copier.
UVX_COPIER = 'uvx() { [ "$1" = copier ] || return 127; shift; "$PYTHON" -m copier "$@"; }\n'


def shell(
    commands: list[str], cwd: Path, *, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Runs README lines in one bash, stopping at the first that fails."""
    script = UVX_COPIER + "\n".join(commands)
    args = ["bash", "-euo", "pipefail", "-c", script]
    env = {**GIT_IDENTITY, "PYTHON": sys.executable}
    if check:
        return run(args, cwd, env=env)
    return subprocess.run(
        args, cwd=cwd, env={**BASE_ENV, **env}, capture_output=True, text=True, timeout=300
    )


def clone_without_tags(template: Path, destination: Path) -> Path:
    run(["git", "clone", "--quiet", str(template), str(destination)], template)
    tags = run(["git", "tag", "--list"], destination).stdout.split()
    if tags:
        run(["git", "tag", "--delete", *tags], destination)
    return destination


def try_it(clone: Path) -> list[str]:
    """README.md's "Try it" lines that tag, render and commit: not uv's install, not serving."""
    setup, *steps, serve = section_code((clone / "README.md").read_text(), "Try it")
    assert setup.startswith("python3 -m venv .tools"), setup
    assert serve.startswith("uv run "), serve
    return steps


def recorded_commit(project: Path) -> str:
    lines = (project / ".copier-answers.yml").read_text().splitlines()
    return next(line.split(": ", 1)[1] for line in lines if line.startswith("_commit:"))


def update_command(project: Path) -> str:
    """The update line of the project's own README: the latest release, the same answers."""
    command = section_code((project / "README.md").read_text(), "Updating from the template")[0]
    assert command.startswith("uvx copier update --defaults "), command
    return command


def release_after(clone: Path, newest: str) -> str:
    """Releases a change in the clone as maintainers do: a commit, then its CHANGELOG entry."""
    with (clone / "template" / ".dockerignore").open("a") as ignore:
        ignore.write("experiments/\n")
    git_commit_all(clone, "ignore experiments/")
    commit = run(["git", "rev-parse", "--short=12", "HEAD"], clone).stdout.strip()
    major, minor, patch = newest.removeprefix("v").split(".")
    release = f"v{major}.{minor}.{int(patch) + 1}"
    changelog = clone / "CHANGELOG.md"
    entry = f"## {release} (commit {commit})\n\n- `experiments/` stays out of images.\n\n"
    changelog.write_text(changelog.read_text().replace(f"## {newest} ", entry + f"## {newest} ", 1))
    git_commit_all(clone, f"Release {release}")
    return release


def test_the_tag_script_changes_nothing_twice_and_moves_no_tag(
    template: Path, tmp_path: Path
) -> None:
    clone = clone_without_tags(template, tmp_path / "fastapi-service-template")
    script = str(clone / TAG_RELEASES)
    first = run([script], clone)
    again = run([script], clone)
    assert again.stdout == first.stdout
    assert again.stderr == "", "nothing tagged the second time"
    newest = first.stdout.split()[0]
    run(["git", "tag", "--force", newest, "HEAD"], clone)

    moved = subprocess.run([script], cwd=clone, capture_output=True, text=True, check=False)

    assert moved.returncode != 0
    assert f"{newest} is on" in moved.stderr
    head = run(["git", "rev-parse", "HEAD"], clone).stdout
    assert run(["git", "rev-parse", f"{newest}^{{commit}}"], clone).stdout == head


def test_the_readme_path_renders_the_latest_release_and_updates_release_by_release(
    template: Path, tmp_path: Path
) -> None:
    clone = clone_without_tags(template, tmp_path / "fastapi-service-template")
    steps = try_it(clone)

    shell(steps, clone)

    project = tmp_path / "my-service"
    releases = tagged_releases(clone)  # already tagged: the script changes nothing
    assert recorded_commit(project) == releases[0], "Try it renders the newest release"
    assert not run(["git", "status", "--porcelain"], project).stdout, "everything committed"
    shell([update_command(project)], project)
    assert recorded_commit(project) == releases[0]
    assert not run(["git", "status", "--porcelain"], project).stdout, "nothing to update"

    release = release_after(clone, releases[0])
    shell([line for line in steps if "tag-releases" in line], clone)
    shell([update_command(project)], project)

    assert_no_conflicts(project)
    assert recorded_commit(project) == release
    assert (project / ".dockerignore").read_text().endswith("experiments/\n")


def test_a_project_of_the_release_before_updates_to_the_latest_as_the_readmes_say(
    template: Path, tmp_path: Path
) -> None:
    clone = clone_without_tags(template, tmp_path / "fastapi-service-template")
    newest, previous = tagged_releases(clone)[:2]
    steps = [
        line.replace(f"--vcs-ref {newest} ", f"--vcs-ref {previous} ") for line in try_it(clone)
    ]
    assert steps != try_it(clone), f"Try it renders {newest}"
    shell(steps, clone)
    project = tmp_path / "my-service"
    assert recorded_commit(project) == previous

    shell([update_command(project)], project)

    assert_no_conflicts(project)
    assert recorded_commit(project) == newest
    fresh = render(clone, tmp_path / "fresh", {"project_name": "My Service"}, vcs_ref=newest)
    assert differences(project, fresh) == []


def test_a_project_rendered_between_releases_updates_as_the_readme_says(
    template: Path, tmp_path: Path
) -> None:
    """Rendered without --vcs-ref from a clone without tags, as README.md used to say."""
    clone = clone_without_tags(template, tmp_path / "fastapi-service-template")
    steps = try_it(clone)
    newest = tagged_releases(template)[0]
    untagged = [line.replace(f"--vcs-ref {newest} ", "") for line in steps]
    shell([line for line in untagged if "tag-releases" not in line], clone)
    project = tmp_path / "my-service"
    assert not recorded_commit(project).startswith("v"), "a bare commit"
    shell([line for line in steps if "tag-releases" in line], clone)

    refused = shell([update_command(project)], project, check=False)

    assert refused.returncode != 0
    assert "You are downgrading from" in refused.stderr, refused.stderr
    guide = (clone / "README.md").read_text()
    assert "You are downgrading from" in guide, "README.md names the error"
    assert "You are downgrading from" in (project / "README.md").read_text()
    follow_head = [
        line
        for line in section_code(guide, "Releases and updates")
        if "copier update" in line and "--vcs-ref HEAD" in line
    ]
    assert follow_head, "README.md says how to update before the next release"
    shell(follow_head, project)
    assert_no_conflicts(project)
    git_commit_all(project, "the template's HEAD")

    release = release_after(clone, newest)
    shell([line for line in steps if "tag-releases" in line], clone)
    shell([update_command(project)], project)

    assert_no_conflicts(project)
    assert recorded_commit(project) == release
    assert (project / ".dockerignore").read_text().endswith("experiments/\n")
