"""tap_cfn/diagram/mermaid.py: the flowchart text of a small graph, written out by hand.

Mermaid's flowchart syntax (https://mermaid.js.org/syntax/flowchart.html): `((...))` is a circle,
quotes and angle brackets in a label are entity codes (`#quot;`, `#lt;`, `#gt;`), `linkStyle`
numbers links in the order they are declared, and a class name holds no `-`."""

from __future__ import annotations

from tap_cfn.diagram import mermaid
from tap_cfn.diagram.model import Edge, Graph, Group, Node

GRAPH = Graph(
    "demo",
    groups=(Group("root", "tap-demo"), Group("net", "network", parent="root")),
    nodes=(
        Node("internet", "internet", "Internet"),
        Node("alb", "alb", 'ALB "public"', "HTTP :80", group="net"),
        Node("tg", "target-group", "tg-api", group="net"),
        Node("api", "service", "api<v2>", group="root"),
    ),
    edges=(
        Edge("request", "internet", "alb", "HTTP :80"),
        Edge("allows", "alb", "api", "TCP 8080"),
        Edge("request", "tg", "api"),
    ),
)


def test_a_graph_becomes_nested_subgraphs_escaped_labels_and_styled_links() -> None:
    assert mermaid.render(GRAPH) == (
        "flowchart LR\n"
        '  internet(("Internet")):::internet\n'
        '  subgraph root["tap-demo"]\n'
        '    api["api#lt;v2#gt;"]:::service\n'
        '    subgraph net["network"]\n'
        '      alb["ALB #quot;public#quot;<br/><small>HTTP :80</small>"]:::alb\n'
        '      tg["tg-api"]:::target_group\n'
        "    end\n"
        "  end\n"
        '  internet ==>|"HTTP :80"| alb\n'
        '  alb -.->|"TCP 8080"| api\n'
        "  tg ==> api\n"
        "  linkStyle 0,2 stroke:#1565c0\n"
        "  linkStyle 1 stroke:#c62828\n"
        "  classDef alb fill:#d1c4e9,stroke:#616161\n"
        "  classDef internet fill:#ffffff,stroke:#616161\n"
        "  classDef service fill:#ffcc80,stroke:#616161\n"
        "  classDef target_group fill:#e8eaf6,stroke:#616161\n"
    )
