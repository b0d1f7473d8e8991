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


def test_a_client_in_an_assumed_role_keeps_the_retry_settings_in_the_region_asked() -> None:
    # GIVEN the Credentials of an AssumeRole answer (as stackset's target clients get them)
    credentials = {"AccessKeyId": "ASIAEXAMPLE", "SecretAccessKey": "secret", "SessionToken": "token"}
    # WHEN a client is made from them in another region
    session = aws.make_session(credentials=credentials)
    client = aws.make_client(session, "cloudformation", "http://127.0.0.1:9", "us-east-1")
    # THEN it signs with those credentials, in that region, with the factory's retries
    assert client._request_signer._credentials.access_key == "ASIAEXAMPLE"
    assert client._request_signer._credentials.token == "token"
    assert client.meta.region_name == "us-east-1"
    assert client.meta.endpoint_url == "http://127.0.0.1:9"
    assert client.meta.config.retries == {"mode": "adaptive", "total_max_attempts": 11}
