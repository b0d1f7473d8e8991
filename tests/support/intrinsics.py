"""CloudFormation's Fn::Cidr, written from its documentation, for the tests and the local endpoint
(moto does not evaluate it; see ../shared/notes/local-aws-endpoint.md).

https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-cidr.html:
`{"Fn::Cidr": [ipBlock, count, cidrBits]}` returns `count` CIDR blocks (1 to 256) from the start of
ipBlock, each with `cidrBits` subnet (host) bits: "8" makes a /24 from an IPv4 block.
"""

from __future__ import annotations

import ipaddress
import itertools
from typing import Any


def fn_cidr(ip_block: str, count: int | str, cidr_bits: int | str) -> list[str]:
    count, cidr_bits = int(count), int(cidr_bits)
    if not 1 <= count <= 256:
        raise ValueError(f"Fn::Cidr count {count}: the valid range is 1 to 256")
    network = ipaddress.ip_network(ip_block)
    blocks = network.subnets(new_prefix=network.max_prefixlen - cidr_bits)
    found = [str(block) for block in itertools.islice(blocks, count)]
    if len(found) < count:
        raise ValueError(f"Fn::Cidr: {ip_block} holds {len(found)} blocks of {cidr_bits} bits, not {count}")
    return found


def evaluate(value: Any, parameters: dict[str, str]) -> Any:
    """`value` with Ref (to a parameter), Fn::Select and Fn::Cidr worked out; anything else is
    returned as it is."""
    if isinstance(value, list):
        return [evaluate(item, parameters) for item in value]
    if not isinstance(value, dict) or len(value) != 1:
        return value
    ((name, arg),) = value.items()
    if name == "Ref" and arg in parameters:
        return parameters[arg]
    if name == "Fn::Select":
        index, items = evaluate(arg, parameters)
        return items[int(index)]
    if name == "Fn::Cidr":
        return fn_cidr(*evaluate(arg, parameters))
    return value
