"""How each kind of node and edge looks, shared by the DOT and Mermaid renderers."""

from __future__ import annotations

# Node kind -> fill colour (AWS console-ish families: networking purple, compute orange, ...).
NODE_FILL = {
    "internet": "#ffffff",
    "vpc": "#ede7f6",
    "internet-gateway": "#ede7f6",
    "subnet": "#f3e5f5",
    "nat": "#e1bee7",
    "alb": "#d1c4e9",
    "target-group": "#e8eaf6",
    "cluster": "#ffe0b2",
    "service": "#ffcc80",
    "namespace": "#fff3e0",
    "repository": "#ffe0b2",
    "secret": "#ffcdd2",
    "security-group": "#fce4ec",
    "trace-group": "#c8e6c9",
}
DEFAULT_FILL = "#eeeeee"

# Edge kind -> (colour, DOT style, Mermaid arrow, legend).
EDGE_STYLE = {
    "request": ("#1565c0", "bold", "==>", "blue, thick: request path (listener, rule, container port)"),
    "allows": ("#c62828", "dashed", "-.->", "red, dashed: a security group allows it (protocol and port)"),
    "uses": ("#757575", "dotted", "-.->", "grey: uses (image, secret, Cloud Map registration, cluster)"),
    "route": ("#6a1b9a", "solid", "-->", "purple: default route (destination)"),
}
