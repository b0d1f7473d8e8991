"""VPC address ranges: what a VPC CIDR may be, and how the network stack cuts it into subnets.

Pure facts (no troposphere, no boto3): the config checks, the root parameter's AllowedPattern
and the network stack's Fn::Cidr arithmetic all read them here.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

# The private IPv4 ranges of RFC 1918; a VPC should use one of them.
# https://docs.aws.amazon.com/vpc/latest/userguide/vpc-cidr-blocks.html
RFC1918 = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
# A VPC is /16 to /28 (same page); a public and a private subnet (/28 at least) in each of two
# AZs need /26, so the config's subnet check decides below /27.
VPC_PREFIXES = range(16, 28)
_OCTET = r"(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"


def is_rfc1918(network: ipaddress.IPv4Network) -> bool:
    """Inside 10/8, 172.16/12 or 192.168/16 (not merely 'private' as Python counts it: 198.18/15
    and the documentation ranges are not RFC 1918)."""
    return any(network.subnet_of(block) for block in RFC1918)


@dataclass(frozen=True)
class Layout:
    """How one template cuts any VPC of `vpc_prefix` into subnets of `subnet_prefix`: public
    subnets from the bottom of the lower half, private ones from the bottom of the upper half,
    so changing the AZ count never moves an existing subnet.

    Fn::Cidr [ipBlock, count, cidrBits] returns `count` blocks from the start of ipBlock, each
    with cidrBits host bits (a /24 has 8), count 1 to 256:
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-cidr.html
    Halving first keeps every count at the AZ count (at most 6), whatever the prefixes."""

    vpc_prefix: int
    subnet_prefix: int

    @property
    def half_bits(self) -> int:
        """cidrBits of the VPC's two halves (a /16 VPC: two /17, 15 host bits)."""
        return 32 - (self.vpc_prefix + 1)

    @property
    def subnet_bits(self) -> int:
        """cidrBits of one subnet (a /24: 8 host bits)."""
        return 32 - self.subnet_prefix


def fn_cidr(ip_block: str, count: int | str, cidr_bits: int | str) -> list[str]:
    """What CloudFormation's Fn::Cidr returns (see `Layout`): `count` CIDR blocks (1 to 256) from
    the start of `ip_block`, each with `cidr_bits` host bits ("8" makes a /24 from an IPv4 block),
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-cidr.html.
    For readers of rendered templates (the diagram) and the tests' local endpoint, which does not
    evaluate it; the counts may come as strings, as templates write them."""
    count, cidr_bits = int(count), int(cidr_bits)
    if not 1 <= count <= 256:
        raise ValueError(f"Fn::Cidr count {count}: the valid range is 1 to 256")
    network = ipaddress.ip_network(ip_block)
    blocks = network.subnets(new_prefix=network.max_prefixlen - cidr_bits)
    found = [str(block) for _, block in zip(range(count), blocks, strict=False)]
    if len(found) < count:
        raise ValueError(f"Fn::Cidr: {ip_block} holds {len(found)} blocks of {cidr_bits} bits, not {count}")
    return found


def allowed_pattern(prefix: int) -> str:
    """A regular expression (Java syntax, as CloudFormation's AllowedPattern) matching exactly the
    RFC 1918 networks of length `prefix` written with their network address, e.g. 10.1.0.0/16.
    The network address, because CreateVpc would quietly canonicalise 10.1.2.0/16 to 10.1.0.0/16
    (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateVpc.html) while Fn::Cidr
    is documented for CIDR blocks only: the template refuses what it cannot cut predictably."""
    alternatives = []
    for block in RFC1918:
        first = str(block.network_address).split(".")
        octets = []
        for index in range(4):
            octets.append(_octet(block, prefix, index, first[index]))
        alternatives.append(r"\.".join(octets) + f"/{prefix}")
    return "^(" + "|".join(alternatives) + ")$"


def _octet(block: ipaddress.IPv4Network, prefix: int, index: int, fixed: str) -> str:
    """What octet `index` may be: fixed by the RFC 1918 block, free, zero, or a multiple of the
    block size where the prefix ends inside the octet."""
    start, end = index * 8, index * 8 + 8
    if block.prefixlen >= end:
        return fixed
    low = int(fixed) if block.prefixlen > start else 0
    high = low + 2 ** (end - max(block.prefixlen, start)) - 1
    if prefix <= start:
        return "0"
    step = 2 ** max(end - prefix, 0)
    values = range(low, high + 1, step)
    if step == 1 and low == 0 and high == 255:
        return _OCTET
    return "(" + "|".join(str(v) for v in values) + ")"


def constraint(prefix: int) -> str:
    """The ConstraintDescription beside `allowed_pattern(prefix)`."""
    return (
        f"a private (RFC 1918) /{prefix} network written with its network address, e.g. "
        f"10.1.0.0/{prefix} or 172.16.0.0/{prefix} (the subnet layout of this template is for a /{prefix}); "
        "a range no other VPC you may peer with uses"
    )
