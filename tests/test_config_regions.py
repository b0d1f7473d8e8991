"""Per-region settings of an environment (environments.<env>.regions): what each region deploys
with, and the one line a bad one gets."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tap_cfn import config as cfg
from tap_cfn.contract import REGIONAL, regional_parameters
from tests.test_config import assert_rejected, mutated

EU_CERT = "arn:aws:acm:eu-west-1:111111111111:certificate/0b0e2f51-6c5d-4c4f-9d2e-1a2b3c4d5e6f"


def regions(**by_region: dict[str, str]) -> Callable[[dict[str, Any]], object]:
    return lambda r: r["environments"]["prod"].update(regions=by_region)


BAD = [
    (
        "a region name with a typo",
        regions(**{"eu-wset-1": {"vpc_cidr": "10.1.0.0/16"}}),
        r"environments\.prod\.regions\.eu-wset-1: not a region AWS has \(as botocore lists them\); "
        r"did you mean eu-west-1\?",
    ),
    (
        "not a region name at all",
        regions(**{"Ireland": {"vpc_cidr": "10.1.0.0/16"}}),
        r"environments\.prod\.regions\.Ireland: not an AWS region name such as eu-west-1",
    ),
    (
        "a public range",
        regions(**{"eu-west-1": {"vpc_cidr": "8.8.0.0/16"}}),
        r"environments\.prod\.regions\.eu-west-1\.vpc_cidr: 8\.8\.0\.0/16 must be a private \(RFC 1918\) "
        r"range: inside 10\.0\.0\.0/8, 172\.16\.0\.0/12 or 192\.168\.0\.0/16",
    ),
    (
        "a range Python calls private that RFC 1918 does not list",
        regions(**{"eu-west-1": {"vpc_cidr": "198.18.0.0/16"}}),
        r"environments\.prod\.regions\.eu-west-1\.vpc_cidr: 198\.18\.0\.0/16 must be a private \(RFC 1918\)",
    ),
    (
        "host bits set",
        regions(**{"eu-west-1": {"vpc_cidr": "10.1.2.0/16"}}),
        r"environments\.prod\.regions\.eu-west-1\.vpc_cidr: 10\.1\.2\.0/16 has host bits set",
    ),
    (
        "another prefix length than the environment's",
        regions(**{"eu-west-1": {"vpc_cidr": "10.1.0.0/20"}}),
        r"environments\.prod\.regions\.eu-west-1\.vpc_cidr: 10\.1\.0\.0/20 must be a /16 like the "
        r"environment's vpc_cidr 10\.0\.0\.0/16",
    ),
    (
        "two regions overlapping",
        regions(**{"eu-west-1": {"vpc_cidr": "10.1.0.0/16"}, "us-east-1": {"vpc_cidr": "10.1.0.0/16"}}),
        r"environments\.prod\.regions\.us-east-1\.vpc_cidr: 10\.1\.0\.0/16 overlaps eu-west-1's "
        r"10\.1\.0\.0/16; give each region its own range so the regions can be peered",
    ),
    (
        "two regions left at the environment's range",
        regions(**{"eu-west-1": {"certificate_arn": EU_CERT}, "us-east-1": {}}),
        r"environments\.prod\.regions\.us-east-1\.vpc_cidr: 10\.0\.0\.0/16 \(the environment's vpc_cidr\) "
        r"overlaps eu-west-1's 10\.0\.0\.0/16",
    ),
    (
        "a certificate of another region",
        regions(**{"us-east-1": {"vpc_cidr": "10.2.0.0/16", "certificate_arn": EU_CERT}}),
        r"environments\.prod\.regions\.us-east-1\.certificate_arn: the certificate is in eu-west-1, not "
        r"us-east-1; request or import one in us-east-1",
    ),
    (
        "something that is no certificate ARN",
        regions(**{"eu-west-1": {"certificate_arn": "arn:aws:iam::111111111111:server-certificate/x"}}),
        r"environments\.prod\.regions\.eu-west-1\.certificate_arn: Invalid value "
        r"'arn:aws:iam::111111111111:server-certificate/x'; allowed: an ACM certificate ARN, "
        r"arn:aws:acm:<region>:<12-digit account>:certificate/<id>$",
    ),
    (
        "an unknown key",
        regions(**{"eu-west-1": {"vpc_cdir": "10.1.0.0/16"}}),
        r"environments\.prod\.regions\.eu-west-1\.vpc_cdir: unknown key; did you mean `vpc_cidr`\?",
    ),
]


@pytest.mark.parametrize(("change", "message"), [(c, m) for _, c, m in BAD], ids=[i for i, _, _ in BAD])
def test_bad_region_settings_are_refused_in_one_line_naming_the_field(
    change: Callable[[dict[str, Any]], object], message: str
) -> None:
    assert_rejected(change, message)


def test_the_cli_exits_2_with_one_line_and_writes_nothing(tmp_path: Path) -> None:
    from tap_cfn.cli import main

    config = tmp_path / "platform.yaml"
    raw = mutated(
        regions(**{"eu-west-1": {"vpc_cidr": "10.1.0.0/16"}, "us-east-1": {"vpc_cidr": "10.1.128.0/16"}})
    )
    config.write_text(yaml.safe_dump(raw))
    out = tmp_path / "out"
    assert main(["templates", "--config", str(config), "--out", str(out), "--quiet"]) == 2
    assert not out.exists()


def test_each_region_deploys_with_its_own_values_and_others_with_the_defaults() -> None:
    raw = mutated(
        regions(
            **{
                "eu-west-1": {"vpc_cidr": "10.1.0.0/16", "certificate_arn": EU_CERT},
                "us-east-1": {"vpc_cidr": "172.20.0.0/16"},
            }
        )
    )
    env = cfg.parse(raw).environments["prod"]
    assert regional_parameters(env, "eu-west-1") == {"VpcCidr": "10.1.0.0/16", "CertificateArn": EU_CERT}
    assert regional_parameters(env, "us-east-1") == {"VpcCidr": "172.20.0.0/16"}
    assert regional_parameters(env, "ap-south-1") == {}
    assert env.vpc_cidr_in("ap-south-1") == "10.0.0.0/16"


def test_every_region_setting_names_the_root_parameter_it_feeds() -> None:
    assert set(REGIONAL) == set(cfg.RegionSettings.__struct_fields__)
