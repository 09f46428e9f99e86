"""The READMEs read right: well-formed Markdown for every variant, and the steps in their order.

Only README.md (and `.env`) are rendered here, which takes a fraction of a full render; what
the commands do is tested where they run (`tests/test_updates.py` follows "Try it").
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import copier
import pytest
import yaml
from markdown_it import MarkdownIt

from tests.helpers import ROOT, run
from tests.variants import VARIANTS, variant_id, with_project_name

MARKDOWN = MarkdownIt("commonmark").enable("table")
TAG_RELEASES = Path("scripts") / "tag-releases.sh"


def structure_problems(text: str) -> list[str]:
    """What a Markdown renderer would show broken: glued blocks, open fences, stray fences."""
    lines = text.split("\n")
    problems: list[str] = []
    for token in MARKDOWN.parse(text):
        if token.map is None:
            continue
        start, end = token.map
        if token.type == "heading_open":
            if start > 0 and lines[start - 1].strip():
                problems.append(f"line {start + 1}: a heading right after text: {lines[start]!r}")
            if end < len(lines) and lines[end].strip():
                problems.append(f"line {start + 1}: text right after a heading: {lines[end]!r}")
        elif token.type == "fence":
            closing = lines[end - 1].strip()
            fence_char = token.markup[0]
            if end - start < 2 or len(closing) < len(token.markup) or closing.strip(fence_char):
                problems.append(f"line {start + 1}: a code block that is never closed")
        elif token.type == "inline" and "```" in token.content:
            problems.append(f"line {start + 1}: ``` inside text: {token.content[:60]!r}")
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip() and not lines[number - 2].strip() and number < len(lines):
            problems.append(f"line {number}: a second blank line")
    if not text.endswith("\n") or text.endswith("\n\n"):
        problems.append("the text does not end with exactly one line break")
    return problems


def section_code(text: str, heading: str) -> list[str]:
    """The lines of the code blocks in a section, up to the next heading of its level or above."""
    tokens = MARKDOWN.parse(text)
    level: int | None = None
    lines: list[str] = []
    for index, token in enumerate(tokens):
        if token.type == "heading_open":
            if level is not None and int(token.tag[1:]) <= level:
                break
            if tokens[index + 1].content == heading:
                level = int(token.tag[1:])
        elif level is not None and token.type == "fence":
            lines += token.content.splitlines()
    assert level is not None, f"no section {heading!r}"
    return lines


def render_readme(template: Path, destination: Path, answers: dict[str, Any]) -> Path:
    """Renders only README.md and .env, as a user's answers would."""
    copier.run_copy(
        str(template),
        destination,
        data=dict(answers),
        defaults=True,
        vcs_ref="HEAD",
        quiet=True,
        unsafe=False,
        exclude=["*", "!README.md", "!.env"],
    )
    return destination


@pytest.fixture(scope="module", params=VARIANTS, ids=[variant_id(v) for v in VARIANTS])
def variant_readme(
    request: pytest.FixtureRequest, template: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, Any], Path]:
    answers = with_project_name(request.param)
    destination = tmp_path_factory.mktemp("readme") / "project"
    return answers, render_readme(template, destination, answers)


def test_markdown_checks_find_what_broke_before() -> None:
    assert structure_problems("# A\n\n## Test and check```sh\nuv run pytest\n```\n")
    assert structure_problems("# A\n\n```sh\nuv sync\n")
    assert structure_problems("# A\n\ntext\n\n\ntext\n")
    assert structure_problems("# A\ntext\n")
    assert structure_problems("# A\n\ntext\n\n- item\n\n  ```sh\n  uv sync\n") != []
    assert structure_problems("# A\n\ntext\n\n- item\n\n  ```sh\n  uv sync\n  ```\n") == []


def test_the_rendered_readme_is_well_formed(variant_readme: tuple[dict[str, Any], Path]) -> None:
    _, project = variant_readme
    assert structure_problems((project / "README.md").read_text()) == []


def test_the_diagram_names_every_router(variant_readme: tuple[dict[str, Any], Path]) -> None:
    answers, project = variant_readme
    diagram = "\n".join(section_code((project / "README.md").read_text(), answers["project_name"]))
    routers = next(line for line in diagram.splitlines() if 'routers["Routers' in line)
    expected = ["/items", "/health"]
    if answers["auth"] == "jwt":
        expected += ["/auth", "/users"]
    if answers["task_queue"] != "none":
        expected.append("/documents")
    assert sorted(re.findall(r"/\w+", routers.split("<br/>", 1)[1])) == sorted(expected)


def test_the_project_is_a_git_repository_before_pre_commit_install(
    variant_readme: tuple[dict[str, Any], Path],
) -> None:
    text = (variant_readme[1] / "README.md").read_text()
    commands = [
        line
        for token in MARKDOWN.parse(text)
        if token.type == "fence"
        for line in token.content.splitlines()
    ]
    git_init = next(n for n, line in enumerate(commands) if line.startswith("git init"))
    pre_commit = next(n for n, line in enumerate(commands) if "pre-commit install" in line)
    update = next(n for n, line in enumerate(commands) if "copier update" in line)
    assert git_init < pre_commit
    assert git_init < update


def test_every_server_setting_of_env_is_explained(
    variant_readme: tuple[dict[str, Any], Path],
) -> None:
    """The URLs `.env` points at compose's servers: the ones to change for servers of your own."""
    answers, project = variant_readme
    text = (project / "README.md").read_text()
    urls = re.findall(r"^((?:APP|TEST)_\w*URL)=", (project / ".env").read_text(), re.MULTILINE)
    if answers["database"] == "sqlite" and not urls:
        assert "### Servers you already run" not in text
        return
    section = text.split("### Servers you already run\n", 1)[1].split("\n## ", 1)[0]
    for name in urls:
        assert f"`{name}`" in section, name
    if answers["database"] != "sqlite":
        assert "CREATE DATABASE" in section or "createdb" in section


def test_the_root_readme_is_well_formed() -> None:
    assert structure_problems((ROOT / "README.md").read_text()) == []


def test_try_it_renders_the_newest_release_on_the_default_python(template: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    newest = run([str(template / TAG_RELEASES)], template).stdout.split()[0]
    copy = next(line for line in section_code(readme, "Try it") if "copier copy" in line)
    assert f"--vcs-ref {newest} " in copy, "a release moves the --vcs-ref of Try it to itself"
    python = yaml.safe_load((ROOT / "copier.yml").read_text())["python_version"]["default"]
    try_it = readme.split("## Try it\n", 1)[1].split("\n## ", 1)[0]
    assert f"Python {python}" in try_it, "Try it names the Python the default answers need"
