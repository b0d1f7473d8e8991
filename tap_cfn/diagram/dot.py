"""The graph as Graphviz DOT text, and that text rendered to SVG by the `dot` program."""

from __future__ import annotations

import shutil
import subprocess

from tap_cfn.diagram.model import Graph, Node, nested_lines
from tap_cfn.diagram.style import DEFAULT_FILL, EDGE_STYLE, NODE_FILL

FONT = "Helvetica"


class DotMissing(Exception):
    """Graphviz is not installed."""


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _node(node: Node, indent: str) -> str:
    label = node.title + (f"\n{node.detail}" if node.detail else "")
    shape = "ellipse" if node.kind == "internet" else "box"
    fill = quote(NODE_FILL.get(node.kind, DEFAULT_FILL))
    return f"{indent}{quote(node.id)} [label={quote(label)}, shape={shape}, fillcolor={fill}];"


def render(graph: Graph) -> str:
    """DOT text; the same graph always gives the same bytes."""
    lines = [
        "digraph topology {",
        f"  graph [label={quote(graph.title)}, labelloc=t, fontname={quote(FONT)}, fontsize=12, "
        'rankdir=LR, newrank=true, nodesep=0.25, ranksep=0.7, style="rounded", color="#9e9e9e"];',
        f'  node [fontname={quote(FONT)}, fontsize=10, style="rounded,filled", color="#616161"];',
        f"  edge [fontname={quote(FONT)}, fontsize=9];",
    ]
    lines += nested_lines(
        graph,
        _node,
        lambda group, indent: [
            f"{indent}subgraph {quote('cluster_' + group.id)} {{",
            f"{indent}  label={quote(group.label)};",
        ],
        lambda indent: f"{indent}}}",
    )
    for edge in graph.edges:
        colour, style, _, _ = EDGE_STYLE[edge.kind]
        attrs = [f"color={quote(colour)}", f"fontcolor={quote(colour)}", f"style={style}"]
        if edge.label:
            attrs.insert(0, f"label={quote(edge.label)}")
        lines.append(f"  {quote(edge.source)} -> {quote(edge.target)} [{', '.join(attrs)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_svg(dot_text: str) -> str:
    """Run Graphviz `dot -Tsvg`. Raises DotMissing when it is not installed."""
    exe = shutil.which("dot")
    if exe is None:
        raise DotMissing("Graphviz `dot` not found: apt-get install -y graphviz (make does it for you)")
    result = subprocess.run([exe, "-Tsvg"], input=dot_text, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"dot failed: {result.stderr.strip()}")
    return result.stdout
