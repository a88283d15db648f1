"""Regenerate the generated parts of ``docs/architecture.md`` from the import graph.

The graph is the one ``tests/test_import_graph.py`` parses (every ``import`` of every module,
read with ``ast``). Modules are grouped into *units*: a subpackage of the first level
(``avsynth.planning``, ``avsmodel.evaluation``) or a module at a package's root
(``avsynth.pipeline``). Two blocks of the page are generated:

* the picture: a Mermaid flowchart of the units, with the transitive reduction of their
  edges (an arrow that another path already implies is left out, so the picture stays
  readable; the list below has every edge);
* the edge list: every unit and the units it imports.

Usage::

    python scripts/architecture_doc.py          # rewrite the blocks in docs/architecture.md
    python scripts/architecture_doc.py --check  # exit 1 if they are out of date

``tests/test_import_graph.py`` runs the check.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"
BLOCKS = ("picture", "edges")


def unit(module: str) -> str:
    """The unit a module belongs to: ``avsynth.planning.split`` -> ``avsynth.planning``."""
    return ".".join(module.split(".")[:2])


def unit_graph(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    """Unit -> the other units its modules import."""
    out: dict[str, set[str]] = {}
    for m, targets in edges.items():
        u = unit(m)
        out.setdefault(u, set())
        out[u] |= {unit(t) for t in targets if unit(t) != u}
    return out


def reduction(g: dict[str, set[str]]) -> dict[str, set[str]]:
    """Transitive reduction of an acyclic graph: drop u -> w when u -> v ->* w exists."""

    def reach(v: str, seen: set[str]) -> None:
        for w in g.get(v, ()):
            if w not in seen:
                seen.add(w)
                reach(w, seen)

    out = {}
    for u, targets in g.items():
        implied: set[str] = set()
        for v in targets:
            reach(v, implied)
        out[u] = {t for t in targets if t not in implied}
    return out


def picture(g: dict[str, set[str]]) -> str:
    """A Mermaid flowchart (top: what imports; bottom: what is imported)."""
    ids = {u: u.replace(".", "_") for u in sorted(g)}
    lines = ["```mermaid", "flowchart TB"]
    for pkg in ("avsynth", "avsmodel"):
        lines.append(f"  subgraph {pkg}_pkg [{pkg}]")
        lines += [f'    {ids[u]}["{u}"]' for u in sorted(g) if u.split(".")[0] == pkg]
        lines.append("  end")
    red = reduction(g)
    lines += [f"  {ids[u]} --> {ids[t]}" for u in sorted(red) for t in sorted(red[u])]
    lines.append("```")
    return "\n".join(lines)


def edge_list(g: dict[str, set[str]]) -> str:
    """One line per unit: the units it imports."""
    lines = []
    for u in sorted(g):
        targets = ", ".join(f"`{t}`" for t in sorted(g[u])) or "(none)"
        lines.append(f"- `{u}` -> {targets}")
    return "\n".join(lines)


def blocks() -> dict[str, str]:
    """The generated text of each block, from the source tree as it is."""
    sys.path.insert(0, str(ROOT / "tests"))
    from test_import_graph import graph

    g = unit_graph(graph())
    return {"picture": picture(g), "edges": edge_list(g)}


def render(text: str, new: dict[str, str]) -> str:
    """``text`` with each ``<!-- NAME:begin -->`` ... ``<!-- NAME:end -->`` block replaced."""
    for name, body in new.items():
        begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
        if begin not in text or end not in text:
            raise SystemExit(f"{DOC}: no {begin} ... {end} block")
        head, _, rest = text.partition(begin)
        _, _, tail = rest.partition(end)
        text = f"{head}{begin}\n{body}\n{end}{tail}"
    return text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--check", action="store_true", help="exit 1 if the page is out of date")
    args = ap.parse_args()
    text = DOC.read_text("utf-8")
    new = render(text, blocks())
    if args.check:
        if new != text:
            print(f"{DOC} is out of date: run python scripts/architecture_doc.py")
            sys.exit(1)
        return
    DOC.write_text(new, "utf-8")
    print(f"wrote {DOC}")


if __name__ == "__main__":
    main()
