"""tap_cfn/diagram/dot.py: the DOT text draws the whole graph and its legend (the first test
checks the Mermaid renderer alongside, on the same graph)."""

from __future__ import annotations

import re

from tap_cfn.diagram import dot, mermaid, model

# The legend's rows and how the edges they name are drawn, read once from templates/dev/topology.dot.
LEGEND = [
    '<font color="#1565c0">blue, thick: request path (listener, rule, container port)</font>',
    '<font color="#c62828">red, dashed: a security group allows it (protocol and port)</font>',
    '<font color="#757575">grey: uses (image, secret, Cloud Map registration, cluster)</font>',
    '<font color="#6a1b9a">purple: default route (destination)</font>',
]
EDGE_LOOKS = {("#1565c0", "bold"), ("#c62828", "dashed"), ("#757575", "dotted"), ("#6a1b9a", "solid")}


def test_renderers_draw_every_node_group_and_edge(dev: model.Graph) -> None:
    text = dot.render(dev)
    for node in dev.nodes:
        assert f'"{node.id}" [label="{node.title}' in text
    for group in dev.groups:
        assert f'subgraph "cluster_{group.id}"' in text
    assert text.count(" -> ") == len(dev.edges)
    flow = mermaid.render(dev)
    assert flow.startswith("flowchart LR\n")
    # two top-level groups: the environment's root stack and the project's registry beside it
    assert flow.count("\n  subgraph ") == 2 and flow.count("subgraph ") == len(dev.groups)
    assert sum(1 for line in flow.splitlines() if re.match(r"\s+\w+ (==>|-->|-\.->)", line)) == len(dev.edges)


def test_the_legend_names_each_edge_kind_drawn_in_its_colour(dev: model.Graph) -> None:
    text = dot.render(dev)
    legend = next(line for line in text.splitlines() if line.startswith('  "legend" '))
    assert re.findall(r"<font [^>]+>[^<]+</font>", legend) == LEGEND
    edges = re.findall(r' -> .*color="(#[0-9a-f]{6})", fontcolor="\1", style=(\w+)\]', text)
    assert len(edges) == len(dev.edges) and set(edges) == EDGE_LOOKS
    services = dot.render(model.services_view(dev))
    assert "default route" not in services and "uses (image" not in services  # only kinds it draws
    services_legend = next(line for line in services.splitlines() if line.startswith('  "legend" '))
    assert re.findall(r"<font [^>]+>[^<]+</font>", services_legend) == LEGEND[:2]
