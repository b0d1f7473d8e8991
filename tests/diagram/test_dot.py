"""tap_cfn/diagram/dot.py: the DOT text draws the whole graph and its legend (the first test
checks the Mermaid renderer alongside, on the same graph)."""

from __future__ import annotations

import html
import re

from tap_cfn.diagram import dot, mermaid, model
from tap_cfn.diagram.style import EDGE_STYLE


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
    for colour, _, _, words in EDGE_STYLE.values():
        assert f'<font color="{colour}">{html.escape(words)}</font>' in legend
    services = dot.render(model.services_view(dev))
    assert "default route" not in services and "uses (image" not in services  # only kinds it draws
