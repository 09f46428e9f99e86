"""The test suite's own machinery, which the rest of it silently relies on."""

from __future__ import annotations

import os

import pytest


@pytest.mark.xdist_group("suite-self-check")
def test_xdist_groups_keep_a_variant_on_one_worker(request: pytest.FixtureRequest) -> None:
    """Under `--dist loadgroup`, xdist pins a group by suffixing the node id with `@<group>`.

    Without it every worker renders and installs every variant it meets, which costs minutes.
    """
    if "PYTEST_XDIST_WORKER" not in os.environ:
        pytest.skip("runs only under pytest-xdist, as `-n auto` in pyproject.toml does")
    assert request.node.nodeid.endswith("@suite-self-check")
