"""Intrinsic functions the local endpoint and the tests work out themselves: Fn::Cidr, which moto
does not evaluate (see ../shared/notes/local-aws-endpoint.md), through tap_cfn.cidr.fn_cidr."""

from __future__ import annotations

from typing import Any

from tap_cfn.cidr import fn_cidr

__all__ = ["evaluate", "fn_cidr"]


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
