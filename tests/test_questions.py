"""Every question refuses bad answers with a message that says what is allowed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

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


def refusal(template: Path, destination: Path, **answers: Any) -> str:
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
    assert "ascii_spellings" not in answers


@pytest.mark.parametrize(
    ("project_name", "slug", "package"),
    [
        # Distribution names and commands may start with a digit; Python packages may not.
        ("3D Print-Queue API (v2)", "3d-print-queue-api-v2", "service_3d_print_queue_api_v2"),
        ("24/7 Orders", "24-7-orders", "service_24_7_orders"),
        ("2025", "2025", "service_2025"),
        # Accented Latin letters are spelt in ASCII, decomposed accents dropped.
        ("Café Ünïcode", "cafe-unicode", "cafe_unicode"),
        ("Straße Ærø Ørsted", "strasse-aero-orsted", "strasse_aero_orsted"),
        ("Phở Hà Nội", "pho-ha-noi", "pho_ha_noi"),
        ("İstanbul Şehir", "istanbul-sehir", "istanbul_sehir"),
        ("Cafe\u0301 Au Lait", "cafe-au-lait", "cafe_au_lait"),
        # Nothing to spell in ASCII.
        ("日本語", "service", "service"),
        ("!!!", "service", "service"),
        # Reserved names: a keyword, standard-library modules, a dependency.
        ("Async", "async-service", "async_service"),
        ("Test", "test-service", "test_service"),
        ("Json", "json-service", "json_service"),
        ("Redis", "redis-service", "redis_service"),
        ("  Leading and trailing  ", "leading-and-trailing", "leading_and_trailing"),
        # 60 characters cut to 32 right after a separator, which goes.
        (
            "Northwind Loyalty Points Ledger: Europe, West and Nordics!!!",
            "northwind-loyalty-points-ledger",
            "northwind_loyalty_points_ledger",
        ),
        # "service_" and a leading digit cut to 32 right after a separator, which goes.
        (
            "2025 Northwinds Loyalty Ledger Europe",
            "2025-northwinds-loyalty-ledger-e",
            "service_2025_northwinds_loyalty",
        ),
    ],
)
def test_any_project_name_derives_a_valid_slug_and_package(
    template: Path, tmp_path: Path, project_name: str, slug: str, package: str
) -> None:
    answers = answers_after_render(template, tmp_path / "out", project_name=project_name)

    assert (answers["project_slug"], answers["package_name"]) == (slug, package)
    assert (tmp_path / "out" / "src" / package / "main.py").is_file()


@pytest.mark.parametrize(
    ("slug", "package"),
    [("3d-print-queue", "service_3d_print_queue"), ("fastapi", "fastapi_service")],
)
def test_the_package_name_is_derived_from_the_slug_the_user_typed(
    template: Path, tmp_path: Path, slug: str, package: str
) -> None:
    answers = answers_after_render(template, tmp_path / "out", project_slug=slug)

    assert (answers["project_slug"], answers["package_name"]) == (slug, package)


@pytest.mark.parametrize("version", SUPPORTED_PYTHONS)
def test_every_standard_library_module_is_a_reserved_package_name(
    version: str, tmp_path: Path
) -> None:
    python = run([UV, "python", "find", version], tmp_path).stdout.strip()
    names = run([python, "-I", "-c", STANDARD_LIBRARY_NAMES], tmp_path).stdout.split()

    could_be_a_package_name = {name for name in names if re.fullmatch(r"[a-z][a-z0-9_]*", name)}
    assert "test" in could_be_a_package_name
    assert sorted(could_be_a_package_name - RESERVED_PACKAGE_NAMES) == []


def test_ascii_spellings_cover_lowercase_letters_once() -> None:
    spellings: dict[str, str] = QUESTIONS["ascii_spellings"]["default"]
    letters = "".join(spellings.values())

    assert all(re.fullmatch(r"[a-z]+", ascii) for ascii in spellings)
    assert all(letter.lower() == letter and not letter.isascii() for letter in letters)
    assert len(set(letters)) == len(letters)


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"project_name": "   "}, "A project name is required"),
        ({"project_name": 'Say "hi"'}, "cannot contain double quotes"),
        ({"project_name": "x" * 61}, "60 characters or fewer"),
        ({"project_slug": "Acme_Orders"}, "lowercase letters, digits and single hyphens"),
        ({"project_slug": "acme--orders"}, "single hyphens"),
        ({"project_slug": "-acme"}, "starting with a letter or digit"),
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
        ({"package_name": "async"}, "keyword or would shadow"),
        ({"description": 'The "best"'}, "cannot contain double quotes"),
        ({"description": "d" * 201}, "200"),
        ({"author_name": "Back\\slash"}, "without double quotes, backslashes"),
        ({"author_email": "not-an-email"}, "e-mail address"),
        ({"author_email": "a@b"}, "e-mail address"),
        ({"python_version": "3.10"}, "3.11"),
        ({"observability": ["logs"]}, "not in ['metrics', 'tracing', 'sentry']"),
        ({"observability": ["metrics", "traces"]}, "'traces' is not in"),
    ],
)
def test_bad_answer_is_refused_with_what_is_allowed(
    template: Path, tmp_path: Path, answers: dict[str, Any], message: str
) -> None:
    destination = tmp_path / "out"

    error = refusal(template, destination, **answers)

    assert message in error
    assert not destination.exists()


def test_a_safe_package_name_is_accepted(template: Path, tmp_path: Path) -> None:
    answers = answers_after_render(template, tmp_path / "out", package_name="orders_service")

    assert answers["package_name"] == "orders_service"
    assert (tmp_path / "out" / "src" / "orders_service" / "main.py").is_file()
