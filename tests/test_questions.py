"""Every question refuses bad answers with a message that says what is allowed."""

from __future__ import annotations

import re
from pathlib import Path

import copier
import pytest
import yaml

from tests.conftest import DEFAULT_ANSWERS
from tests.helpers import ROOT, UV, render, run

QUESTIONS = yaml.safe_load((ROOT / "copier.yml").read_text(encoding="utf-8"))
RESERVED_PACKAGE_NAMES = set(QUESTIONS["reserved_package_names"]["default"])
SUPPORTED_PYTHONS = QUESTIONS["python_version"]["choices"]

# Every module name an import can find in the interpreter's own library. sys.stdlib_module_names
# leaves out its test packages (`test`, `xxlimited`...), which import all the same.
STANDARD_LIBRARY_NAMES = """
import pkgutil, sys, sysconfig
folders = [sysconfig.get_path("stdlib"), sysconfig.get_path("platstdlib")]
folders += [path for path in sys.path if path.endswith("lib-dynload")]
names = set(sys.stdlib_module_names) | set(sys.builtin_module_names)
names |= {module.name for module in pkgutil.iter_modules(folders)}
print("\\n".join(sorted(names)))
"""


def answers_after_render(template: Path, destination: Path, **answers: str) -> dict[str, str]:
    render(template, destination, {**DEFAULT_ANSWERS, **answers})
    recorded: dict[str, str] = yaml.safe_load((destination / ".copier-answers.yml").read_text())
    return recorded


def refusal(template: Path, destination: Path, **answers: str) -> str:
    with pytest.raises(ValueError, match=r"(?i)validation error|invalid choice") as error:
        copier.run_copy(
            str(template),
            destination,
            data={**DEFAULT_ANSWERS, **answers},
            defaults=True,
            vcs_ref="HEAD",
            quiet=True,
            pretend=True,
        )
    return str(error.value)


def test_names_are_derived_from_the_project_name(template: Path, tmp_path: Path) -> None:
    answers = answers_after_render(template, tmp_path / "out", project_name="  Acme  Orders 2 ")

    assert answers["project_slug"] == "acme-orders-2"
    assert answers["package_name"] == "acme_orders_2"
    assert answers["python_version"] == "3.13"
    assert "reserved_package_names" not in answers


@pytest.mark.parametrize("version", SUPPORTED_PYTHONS)
def test_every_standard_library_module_is_a_reserved_package_name(
    version: str, tmp_path: Path
) -> None:
    python = run([UV, "python", "find", version], tmp_path).stdout.strip()
    names = run([python, "-I", "-c", STANDARD_LIBRARY_NAMES], tmp_path).stdout.split()

    could_be_a_package_name = {name for name in names if re.fullmatch(r"[a-z][a-z0-9_]*", name)}
    assert "test" in could_be_a_package_name
    assert sorted(could_be_a_package_name - RESERVED_PACKAGE_NAMES) == []


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"project_name": "   "}, "A project name is required"),
        ({"project_name": 'Say "hi"'}, "cannot contain double quotes"),
        ({"project_name": "x" * 61}, "60 characters or fewer"),
        ({"project_slug": "Acme_Orders"}, "lowercase letters, digits and single hyphens"),
        ({"project_slug": "acme--orders"}, "single hyphens"),
        ({"project_slug": "-acme"}, "starting with a letter"),
        ({"project_slug": "a" * 33}, "Use up to 32"),
        ({"package_name": "Acme"}, "Python identifier"),
        ({"package_name": "acme-orders"}, "Python identifier"),
        ({"package_name": "9lives"}, "starting with a letter"),
        ({"package_name": "class"}, "keyword or would shadow"),
        ({"package_name": "fastapi"}, "keyword or would shadow"),
        ({"package_name": "alembic"}, "keyword or would shadow"),
        ({"package_name": "tests"}, "keyword or would shadow"),
        ({"package_name": "json"}, "keyword or would shadow"),
        ({"package_name": "asyncio"}, "keyword or would shadow"),
        ({"package_name": "test"}, "keyword or would shadow"),
        ({"description": 'The "best"'}, "cannot contain double quotes"),
        ({"description": "d" * 201}, "200"),
        ({"author_name": "Back\\slash"}, "without double quotes, backslashes"),
        ({"author_email": "not-an-email"}, "e-mail address"),
        ({"author_email": "a@b"}, "e-mail address"),
        ({"python_version": "3.10"}, "3.11"),
    ],
)
def test_bad_answer_is_refused_with_what_is_allowed(
    template: Path, tmp_path: Path, answers: dict[str, str], message: str
) -> None:
    destination = tmp_path / "out"

    error = refusal(template, destination, **answers)

    assert message in error
    assert not destination.exists()


def test_a_safe_package_name_is_accepted(template: Path, tmp_path: Path) -> None:
    answers = answers_after_render(template, tmp_path / "out", package_name="orders_service")

    assert answers["package_name"] == "orders_service"
    assert (tmp_path / "out" / "src" / "orders_service" / "main.py").is_file()
