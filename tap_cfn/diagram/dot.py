"""The graph as Graphviz DOT text, and that text rendered to SVG by the `dot` program."""

from __future__ import annotations

import hashlib
import html
import shutil
import subprocess

from tap_cfn.diagram.model import Graph, Node, nested_lines
from tap_cfn.diagram.style import DEFAULT_FILL, EDGE_STYLE, NODE_FILL

FONT = "Helvetica"
LEGEND_ID = "legend"
# The SVG records which DOT text it was drawn from: a drawing is current when its DOT text is,
# whichever Graphviz version drew it (so the committed SVGs do not follow a developer's Graphviz).
STAMP = "<!-- tap-cfn: drawn from DOT sha256 {} -->"
INSTALL_HINT = "apt-get install graphviz, or brew install graphviz on macOS"


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
        # top to bottom: the stacks stack up, and the drawing stays within 2:1 for a slide
        'rankdir=TB, newrank=true, nodesep=0.25, ranksep=0.5, style="rounded", color="#9e9e9e"];',
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
    lines.append(_legend({edge.kind for edge in graph.edges}))
    for edge in graph.edges:
        colour, style, _, _ = EDGE_STYLE[edge.kind]
        attrs = [f"color={quote(colour)}", f"fontcolor={quote(colour)}", f"style={style}"]
        if edge.label:
            attrs.insert(0, f"label={quote(edge.label)}")
        lines.append(f"  {quote(edge.source)} -> {quote(edge.target)} [{', '.join(attrs)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _legend(kinds: set[str]) -> str:
    """The edge kinds drawn, as a table inside the picture, so the SVG explains itself."""
    rows = "".join(
        f'<tr><td align="left"><font color="{colour}">{html.escape(text)}</font></td></tr>'
        for kind, (colour, _, _, text) in EDGE_STYLE.items()
        if kind in kinds
    )
    title = '<tr><td align="left"><b>edges</b></td></tr>'
    table = f'<table border="0" cellborder="0" cellspacing="2">{title}{rows}</table>'
    return f'  {quote(LEGEND_ID)} [shape=box, style="rounded", color="#9e9e9e", fontsize=9, label=<{table}>];'


def stamp(dot_text: str) -> str:
    return STAMP.format(hashlib.sha256(dot_text.encode()).hexdigest())


def to_svg(dot_text: str) -> str:
    """Run Graphviz `dot -Tsvg`; the SVG carries the stamp of `dot_text` after its XML
    declaration. Raises DotMissing when Graphviz is not installed."""
    exe = shutil.which("dot")
    if exe is None:
        raise DotMissing(f"Graphviz `dot` not found ({INSTALL_HINT})")
    result = subprocess.run([exe, "-Tsvg"], input=dot_text, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"dot failed: {result.stderr.strip()}")
    head, _, rest = result.stdout.partition("\n")
    return f"{head}\n{stamp(dot_text)}\n{rest}"
