"""Fixtures for the deployer tests: one local AWS endpoint per session, emptied per test."""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import pytest

from tap_cfn.deploy.aws import Clients, make_clients
from tap_cfn.deploy.deployer import Console
from tests.support.moto_endpoint import dummy_credentials, moto_server, reset_backends

FIXTURES = Path(__file__).parent / "fixtures"
REGION = "us-east-1"


@pytest.fixture(scope="session")
def endpoint() -> Iterator[str]:
    """moto on 127.0.0.1:<free port>, with fake credentials in the environment.

    AWS_ENDPOINT_URL points at a closed local port: a client someone forgot to point at the
    endpoint fails at once instead of reaching AWS with whatever the environment holds.
    """
    with dummy_credentials(), moto_server() as url:
        os.environ["AWS_ENDPOINT_URL"] = "http://localhost:9"
        yield url


@pytest.fixture
def aws(endpoint: str) -> Iterator[str]:
    """The endpoint, empty at the start of the test."""
    reset_backends()
    yield endpoint


@pytest.fixture
def clients(aws: str) -> Clients:
    return make_clients(boto3.Session(region_name=REGION), aws)


class Terminal:
    """A console whose output the test reads; `answers` is what the user types."""

    def __init__(self, interactive: bool = False, tty: bool = False, answers: str = "") -> None:
        self.out, self.err = io.StringIO(), io.StringIO()
        self.console = Console(
            self.out, self.err, io.StringIO(answers), interactive, tty, sleep=lambda _s: None, poll_delay=0
        )

    @property
    def stdout(self) -> str:
        return self.out.getvalue()

    @property
    def stderr(self) -> str:
        return self.err.getvalue()


@pytest.fixture
def terminal() -> Callable[..., Terminal]:
    return Terminal


@pytest.fixture
def fixture_templates(tmp_path: Path) -> Path:
    """A templates dir whose `dev` is the hand-written nested fixture (root, 2 children, 1 grandchild)."""
    shutil.copytree(FIXTURES / "nested", tmp_path / "templates" / "dev")
    return tmp_path / "templates"


@pytest.fixture(scope="session")
def generated_templates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every environment rendered by the generator now, as `python generate.py templates` does."""
    from tap_cfn.cli import main

    out = tmp_path_factory.mktemp("templates")
    assert main(["templates", "--out", str(out), "--quiet"]) == 0
    return out
