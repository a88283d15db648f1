"""The package graph is one-way: checked statically, from the source text, with ``ast``.

Every module under ``avsynth/`` and ``avsmodel/`` is parsed (nothing is imported), and every
``import``/``from ... import`` anywhere in it counts: module level, inside functions, under
``if TYPE_CHECKING:``. An edge goes to the most specific module of the two packages that the
statement names (``from avsynth.manifest import io`` -> ``avsynth.manifest.io``;
``from avsynth.manifest import read_manifest`` -> ``avsynth.manifest``). Rules:

* avsynth never imports avsmodel;
* avsmodel imports only public avsynth modules (no dotted component starting with ``_``);
* no import cycles between modules (a cycle is listed in the failure message).

``docs/architecture.md`` draws the graph of units (first-level subpackages and root modules)
and lists every edge between them; ``scripts/architecture_doc.py`` writes both from this
parser, and a test here checks that the page matches the code.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("avsynth", "avsmodel")


def modules(root: Path = ROOT) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file of the two packages."""
    out = {}
    for pkg in PACKAGES:
        for path in sorted((root / pkg).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def _target(name: str, known: dict[str, Path]) -> str | None:
    """The longest prefix of ``name`` that is one of our modules (None: third-party)."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def imports(module: str, path: Path, known: dict[str, Path]) -> set[str]:
    """Modules of the two packages that ``module`` imports anywhere in its text."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")
                parent = parent[: len(parent) - (node.level - 1)]
                base = ".".join(parent + ([base] if base else []))
            # ``from pkg import sub`` names the submodule when there is one, else pkg itself.
            names = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names
            ]
        else:
            continue
        for name in names:
            t = _target(name, known)
            if t is not None and t != module:
                out.add(t)
    return out


def graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Module -> the modules of the two packages it imports."""
    known = modules(root)
    return {m: imports(m, p, known) for m, p in known.items()}


def components(g: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of two or more modules (each sorted)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's algorithm
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(g[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(g)))
    for v in sorted(g):
        if v not in index:
            visit(v)
    return found


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (a closed path) per strongly connected component."""
    return [_closed_path(g, set(c)) for c in components(g)]


def _closed_path(g: dict[str, set[str]], comp: set[str]) -> list[str]:
    """A shortest cycle through the first module of a strongly connected component."""
    start = min(comp)
    prev: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(g[v] & comp):
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(prev[path[-1]])
                    return [start, *reversed(path[:-1]), start] if v != start else [start, start]
                if w not in prev:
                    prev[w] = v
                    nxt.append(w)
        frontier = nxt
    return sorted(comp)


@pytest.fixture(scope="module")
def edges() -> dict[str, set[str]]:
    return graph()


def test_the_parser_sees_every_kind_of_import(tmp_path: Path) -> None:
    # A throw-away package tree exercising each form, against a hand-written answer.
    for rel, text in {
        "avsynth/__init__.py": "",
        "avsynth/a.py": "import avsynth.b\nfrom . import c\n",
        "avsynth/b.py": "def f():\n    from avsynth.sub import thing\n",
        "avsynth/c.py": "import typing\nif typing.TYPE_CHECKING:\n    from .a import x\n",
        "avsynth/sub/__init__.py": "from .d import y\nimport numpy\n",
        "avsynth/sub/d.py": "from ..c import z\n",
        "avsmodel/__init__.py": "from avsynth.sub._p import q\n",
    }.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    (tmp_path / "avsynth/sub/_p.py").write_text("")
    g = graph(tmp_path)
    assert g == {
        "avsynth": set(),
        "avsynth.a": {"avsynth.b", "avsynth.c"},
        "avsynth.b": {"avsynth.sub"},
        "avsynth.c": {"avsynth.a"},
        "avsynth.sub": {"avsynth.sub.d"},
        "avsynth.sub._p": set(),
        "avsynth.sub.d": {"avsynth.c"},
        "avsmodel": {"avsynth.sub._p"},
    }
    members = ["avsynth.a", "avsynth.b", "avsynth.c", "avsynth.sub", "avsynth.sub.d"]
    assert components(g) == [members]
    assert cycles(g) == [["avsynth.a", "avsynth.c", "avsynth.a"]]  # the shortest one
    assert _private(g) == ["avsmodel -> avsynth.sub._p"]


def test_graph_covers_both_packages(edges) -> None:
    assert {"avsynth.pipeline", "avsynth.manifest.media", "avsmodel.data.dataset"} <= set(edges)
    assert "avsynth.manifest.media" in edges["avsmodel.data.dataset"]


def test_avsynth_never_imports_avsmodel(edges) -> None:
    bad = [
        f"{m} -> {t}"
        for m, ts in sorted(edges.items())
        if m.split(".")[0] == "avsynth"
        for t in sorted(ts)
        if t.split(".")[0] == "avsmodel"
    ]
    assert not bad, "avsynth imports avsmodel:\n" + "\n".join(bad)


def _private(g: dict[str, set[str]]) -> list[str]:
    return [
        f"{m} -> {t}"
        for m, ts in sorted(g.items())
        if m.split(".")[0] == "avsmodel"
        for t in sorted(ts)
        if t.split(".")[0] == "avsynth" and any(p.startswith("_") for p in t.split("."))
    ]


def test_avsmodel_imports_only_public_avsynth(edges) -> None:
    bad = _private(edges)
    assert not bad, "avsmodel imports private avsynth modules:\n" + "\n".join(bad)


#: Cycles tolerated for now: none.
KNOWN_CYCLE: set[str] = set()


def test_no_import_cycles(edges) -> None:
    found = [_closed_path(edges, set(c)) for c in components(edges) if not set(c) <= KNOWN_CYCLE]
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(c) for c in found)


def test_architecture_page_matches_the_code() -> None:
    # The page's picture and edge list are the unit graph of today's code (an independent
    # check: the expected blocks are rebuilt here from graph(), not read from the page).
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "architecture_doc", ROOT / "scripts" / "architecture_doc.py"
    )
    doc = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(doc)
    units = doc.unit_graph(graph())
    assert {"avsynth.planning", "avsynth.materialise", "avsmodel.evaluation"} <= set(units)
    page = (ROOT / "docs" / "architecture.md").read_text("utf-8")
    listed = {
        line.split("`")[1]: {t.strip("`") for t in line.partition(" -> ")[2].split(", ")}
        for line in page.split("<!-- edges:begin -->")[1].split("<!-- edges:end -->")[0].split("\n")
        if line.startswith("- `")
    }
    want = {u: ts or {"(none)"} for u, ts in units.items()}
    assert listed == want, "docs/architecture.md is stale: run python scripts/architecture_doc.py"
    assert doc.render(page, doc.blocks()) == page, "the picture is stale: run the script"


if __name__ == "__main__":  # print the edges
    for m, ts in sorted(graph().items()):
        for t in sorted(ts):
            print(f"{m} -> {t}")
