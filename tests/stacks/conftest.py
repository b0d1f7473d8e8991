"""Names and readers the stack tests share: ports, CamelCase names, the key parameter, alarms."""

from __future__ import annotations

from typing import Any

from tap_cfn import config as cfg
from tests.conftest import Built

KEY_ARN_PARAM = {"Ref": "KmsKeyArn"}
PORTS = {"frontend": 3000, "api-gateway": 8080, "processing": 9000}
CAMEL = {"frontend": "Frontend", "api-gateway": "ApiGateway", "processing": "Processing"}
ALB_SERVICES = ("frontend", "api-gateway")


def alarms(b: Built, stem: str) -> dict[str, dict[str, Any]]:
    return {k: v["Properties"] for k, v in b.resources(stem, "AWS::CloudWatch::Alarm").items()}


def build(raw: dict[str, Any], env: str) -> Built:
    return Built(cfg.Deployment(cfg.parse(raw), env))
