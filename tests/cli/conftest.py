"""A config of another project than the packaged one."""

from __future__ import annotations

from pathlib import Path

import pytest

PACKAGED = Path(__file__).resolve().parents[2] / "tap_cfn" / "tap.yaml"


@pytest.fixture
def acme_config(tmp_path: Path) -> Path:
    """The packaged config with `project: acme`."""
    text = PACKAGED.read_text()
    assert "\nproject: tap\n" in text
    path = tmp_path / "acme.yaml"
    path.write_text(text.replace("\nproject: tap\n", "\nproject: acme\n"))
    return path


# `drift` on recorded CloudFormation answers (tests/cli/test_ops.py; the answers: tests/ops/test_drift.py)
# and `stackset` commands on the local endpoint (tests/cli/test_stackset.py)
from tests.ops.test_drift import cfn  # noqa: E402, F401
from tests.support.stackset_endpoint import base, endpoint  # noqa: E402, F401
