"""The local endpoint for tests of `stackset` commands (test_preflight.py)."""

from tests.support.stackset_endpoint import base, endpoint  # noqa: F401
