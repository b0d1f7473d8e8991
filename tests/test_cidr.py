"""tap_cfn/cidr.py: the VpcCidr parameter's AllowedPattern."""

from __future__ import annotations

import pytest

from tap_cfn.cidr import allowed_pattern


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
