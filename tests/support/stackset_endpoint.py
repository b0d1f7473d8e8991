"""The local endpoint for the `stackset` commands: moto's server once per module, and a client in
a target account through AssumeRole."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest

from tests.support.moto_endpoint import dummy_credentials, moto_server, reset_backends


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with dummy_credentials(), moto_server() as url:
        yield url


@pytest.fixture
def base(endpoint: str) -> list[str]:
    reset_backends()
    return ["--env", "dev", "--suffix", "demo", "--region", "us-east-1", "--endpoint-url", endpoint, "-q"]


def in_account(endpoint: str, account: str, region: str) -> object:
    sts = boto3.client("sts", region_name="us-east-1", endpoint_url=endpoint)
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/Reader", RoleSessionName="test")[
        "Credentials"
    ]
    return boto3.client(
        "cloudformation",
        region_name=region,
        endpoint_url=endpoint,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
