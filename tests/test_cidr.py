"""tap_cfn/cidr.py: Fn::Cidr as CloudFormation documents it, and the VpcCidr parameter's AllowedPattern."""

from __future__ import annotations

import pytest

from tap_cfn.cidr import allowed_pattern, fn_cidr


@pytest.mark.parametrize(
    ("prefix", "accepted", "refused"),
    [
        (
            16,
            ["10.0.0.0/16", "10.255.0.0/16", "172.16.0.0/16", "172.31.0.0/16", "192.168.0.0/16"],
            ["10.1.2.0/16", "10.256.0.0/16", "172.32.0.0/16", "192.169.0.0/16", "8.8.0.0/16", "10.1.0.0/17"],
        ),
        (
            20,
            ["10.7.32.0/20", "172.20.240.0/20", "192.168.16.0/20"],
            ["10.7.33.0/20", "10.7.32.0/16", "192.168.8.0/20"],
        ),
    ],
)
def test_the_vpc_cidr_parameter_accepts_exactly_rfc_1918_networks_of_its_prefix(
    prefix: int, accepted: list[str], refused: list[str]
) -> None:
    import re

    pattern = allowed_pattern(prefix)
    assert [c for c in accepted if not re.fullmatch(pattern, c)] == []
    assert [c for c in refused if re.fullmatch(pattern, c)] == []


def test_fn_cidr_follows_the_documented_example() -> None:
    # The Fn::Cidr page: ["192.168.0.0/24", 6, 5] creates 6 CIDRs with a subnet mask "/27".
    assert fn_cidr("192.168.0.0/24", "6", "5") == [
        "192.168.0.0/27",
        "192.168.0.32/27",
        "192.168.0.64/27",
        "192.168.0.96/27",
        "192.168.0.128/27",
        "192.168.0.160/27",
    ]


@pytest.mark.parametrize(
    ("block", "count", "bits"),
    [("10.0.0.0/16", 0, 8), ("10.0.0.0/16", 257, 1), ("10.0.0.0/30", 3, 1)],  # a /30 holds two /31s
)
def test_fn_cidr_refuses_what_cloudformation_refuses(block: str, count: int, bits: int) -> None:
    # the page: count is 1 to 256; more blocks than the range holds is an error, not a short list
    with pytest.raises(ValueError, match="Fn::Cidr"):
        fn_cidr(block, count, bits)
