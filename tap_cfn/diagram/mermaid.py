"""The graph as a Mermaid flowchart, for Markdown viewers that render Mermaid."""

from __future__ import annotations

from tap_cfn.diagram.model import Graph, Node, nested_lines
from tap_cfn.diagram.style import DEFAULT_FILL, EDGE_STYLE, NODE_FILL


def _text(text: str) -> str:
    """Mermaid label text: quotes and angle brackets as entities, lines as <br/>."""
    escaped = text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
    return escaped.replace("\n", "<br/>")


def _node(node: Node, indent: str) -> str:
    label = _text(node.title) + (f"<br/><small>{_text(node.detail)}</small>" if node.detail else "")
    left, right = ("((", "))") if node.kind == "internet" else ("[", "]")
    return f'{indent}{node.id}{left}"{label}"{right}:::{node.kind.replace("-", "_")}'


def render(graph: Graph) -> str:
    """The flowchart text (without the ```mermaid fence); deterministic."""
    lines = ["flowchart LR"]
    lines += nested_lines(
        graph,
        _node,
        lambda group, indent: [f'{indent}subgraph {group.id}["{_text(group.label)}"]'],
        lambda indent: f"{indent}end",
    )
    for edge in graph.edges:
        arrow = EDGE_STYLE[edge.kind][2]
        label = f'|"{_text(edge.label)}"|' if edge.label else ""
        lines.append(f"  {edge.source} {arrow}{label} {edge.target}")
    by_kind: dict[str, list[str]] = {}
    for index, edge in enumerate(graph.edges):
        by_kind.setdefault(edge.kind, []).append(str(index))
    for kind, indexes in by_kind.items():
        lines.append(f"  linkStyle {','.join(indexes)} stroke:{EDGE_STYLE[kind][0]}")
    for kind in sorted({n.kind for n in graph.nodes}):
        lines.append(
            f"  classDef {kind.replace('-', '_')} fill:{NODE_FILL.get(kind, DEFAULT_FILL)},stroke:#616161"
        )
    return "\n".join(lines) + "\n"
