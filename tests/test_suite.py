"""The test suite's own machinery, which the rest of it silently relies on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT
from tests.reliability import Tally


@pytest.mark.xdist_group("suite-self-check")
def test_xdist_groups_keep_a_variant_on_one_worker(request: pytest.FixtureRequest) -> None:
    """Under `--dist loadgroup`, xdist pins a group by suffixing the node id with `@<group>`.

    Without it every worker renders and installs every variant it meets, which costs minutes.
    """
    if "PYTEST_XDIST_WORKER" not in os.environ:
        pytest.skip("runs only under pytest-xdist, as `-n auto` in pyproject.toml does")
    assert request.node.nodeid.endswith("@suite-self-check")


def test_reliability_counts_reach_the_summary_line(tmp_path: Path) -> None:
    """Counts added on xdist workers are summed into the one line `bash .ci/run` prints."""
    (tmp_path / "conftest.py").write_text(
        "from tests.conftest import (\n"
        "    pytest_sessionfinish, pytest_terminal_summary, pytest_testnodedown, reliability,\n"
        ")\n"
    )
    (tmp_path / "test_counting.py").write_text(
        "import pytest\n\n\n"
        "@pytest.mark.parametrize('n', range(4))\n"
        "def test_count(reliability, n):\n"
        "    reliability.add(faults_injected=1, cases_generated=n)\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        "reliability: 0 operations fuzzed, 6 cases generated, 0 hostile inputs tried,"
        " 4 faults injected, 0 requests lost"
    ) in result.stdout.splitlines()


def test_an_unknown_reliability_count_is_refused(reliability: Tally) -> None:
    with pytest.raises(ValueError, match="unknown reliability counts"):
        reliability.add(faults_injectd=1)
