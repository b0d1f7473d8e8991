"""tap_cfn/deploy/aws.py: the one client factory retries adaptively and honours the endpoint."""

from __future__ import annotations

import pytest

from tap_cfn.deploy import aws


def test_the_client_factory_retries_adaptively_and_honours_the_endpoint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    clients = aws.connect(None, "eu-west-1", "http://127.0.0.1:9")
    for client in (clients.cloudformation, clients.s3, clients.sts):
        assert client.meta.endpoint_url == "http://127.0.0.1:9"
        assert client.meta.region_name == "eu-west-1"
        # max_attempts counts retries; botocore keeps the total, the first call included
        assert client.meta.config.retries == {"mode": "adaptive", "total_max_attempts": 11}


def test_without_the_option_the_endpoint_comes_from_aws_endpoint_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:8")
    assert aws.connect(None, "eu-west-1", None).cloudformation.meta.endpoint_url == "http://127.0.0.1:8"
