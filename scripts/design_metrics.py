"""Print the design measurements of issue 21 for ``avsynth`` and ``avsmodel``.

Everything is read from the source text with :mod:`ast` (nothing is imported):

* **subpackage cycles**: import cycles between a package's first-level parts (a subpackage
  such as ``avsynth.planning``, or a module at the package root such as ``avsynth.pipeline``);
  every import counts (module level, inside functions, under ``TYPE_CHECKING``);
* **private imports**: ``from M import _name`` with ``M`` another module of the two packages,
  and imports, from any other module, of a module whose dotted path has an
  underscore-prefixed part (``avsynth.sources.processes``);
* **long bodies**: functions (and methods) whose body, docstring excluded, spans more than
  80 lines (files below a ``testing`` folder are not counted);
* **triple names**: module basenames (``__init__`` excluded) used three or more times in a
  package;
* **type: ignore**: comments in the package's ``.py`` files;
* **commit hashes in docs**: words of 7 to 12 or of 40 hex digits, with at least one digit
  and one letter, in ``docs/*.md`` (16-digit record ids and digest prefixes written
  ``abc123...`` are not counted).

Usage::

    python scripts/design_metrics.py            # the tree this script lives in
    python scripts/design_metrics.py --root DIR # another checkout
    python scripts/design_metrics.py --verbose  # list every finding
"""

from __future__ import annotations

import argparse
import ast
import re
from collections import Counter, defaultdict
from pathlib import Path

PACKAGES = ("avsynth", "avsmodel")
MAX_BODY = 80
# abbreviated (7-12) or full (40) commit ids; not 16-hex record ids, not ``abc123...`` prefixes
HASH = re.compile(r"(?<![0-9A-Za-z_])(?:[0-9a-f]{7,12}|[0-9a-f]{40})(?![0-9A-Za-z_]|\.\.\.)")


def modules(root: Path, pkg: str) -> dict[str, Path]:
    """Dotted module name -> file for every ``.py`` file of ``pkg``."""
    out = {}
    for path in sorted((root / pkg).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _resolve(module: str, path: Path, node: ast.ImportFrom) -> str:
    base = node.module or ""
    if node.level:
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        parent = package.split(".")
        parent = parent[: len(parent) - (node.level - 1)]
        base = ".".join(parent + ([base] if base else []))
    return base


def _known(name: str, known: dict[str, Path]) -> str | None:
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def import_facts(root: Path) -> tuple[dict[str, set[str]], list[str]]:
    """Module -> imported modules of the two packages; and the private imports found."""
    known: dict[str, Path] = {}
    for pkg in PACKAGES:
        known.update(modules(root, pkg))
    edges: dict[str, set[str]] = {}
    private: list[str] = []
    for mod, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        out: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [(a.name, None) for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(mod, path, node)
                targets = []
                for a in node.names:
                    sub = f"{base}.{a.name}"
                    targets.append((sub, None) if sub in known else (base, a.name))
            else:
                continue
            for name, attr in targets:
                t = _known(name, known)
                if t is None or t == mod:
                    continue
                out.add(t)
                if attr is not None and attr.startswith("_") and not attr.startswith("__"):
                    private.append(f"{mod} imports {attr} from {t}")
                parts = t.split(".")
                for i, p in enumerate(parts[1:], 1):
                    own = ".".join(parts[: i + 1])
                    if p.startswith("_") and not p.startswith("__"):
                        if mod != own and not mod.startswith(own + "."):
                            private.append(f"{mod} imports private module {t}")
                        break
        edges[mod] = out
    return edges, sorted(set(private))


def _part(mod: str) -> str:
    return ".".join(mod.split(".")[:2])


def subpackage_cycles(edges: dict[str, set[str]], pkg: str) -> list[list[str]]:
    """Strongly connected components (2+ parts) of the first-level parts of ``pkg``."""
    g: dict[str, set[str]] = defaultdict(set)
    for m, ts in edges.items():
        if m.split(".")[0] != pkg or m == pkg:
            continue
        for t in ts:
            if t.split(".")[0] == pkg and t != pkg and _part(t) != _part(m):
                g[_part(m)].add(_part(t))
        g.setdefault(_part(m), set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(g[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return found


def long_bodies(root: Path, pkg: str) -> list[str]:
    """``file:line name (n lines)`` for each function body over :data:`MAX_BODY` lines."""
    out = []
    for path in sorted((root / pkg).rglob("*.py")):
        if "testing" in path.relative_to(root).parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            body = node.body
            if (
                len(body) > 1
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                body = body[1:]
            n = body[-1].end_lineno - body[0].lineno + 1
            if n > MAX_BODY:
                rel = path.relative_to(root).as_posix()
                out.append(f"{rel}:{node.lineno} {node.name} ({n} lines)")
    return out


def triple_names(root: Path, pkg: str) -> dict[str, int]:
    """Module basenames used three or more times in ``pkg``."""
    names = Counter(p.stem for p in (root / pkg).rglob("*.py") if p.stem != "__init__")
    return {n: k for n, k in sorted(names.items()) if k >= 3}


def type_ignores(root: Path, pkg: str) -> int:
    return sum(
        p.read_text(encoding="utf-8").count("type: ignore") for p in (root / pkg).rglob("*.py")
    )


def doc_hashes(root: Path) -> list[str]:
    out = []
    for p in sorted((root / "docs").glob("*.md")):
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            for h in HASH.findall(line):
                if re.search(r"[0-9]", h) and re.search(r"[a-f]", h):
                    out.append(f"{p.relative_to(root).as_posix()}:{i} {h}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    ap.add_argument("--verbose", "-v", action="store_true")
    args = ap.parse_args()
    root = args.root.resolve()
    edges, private = import_facts(root)
    for pkg in PACKAGES:
        cyc = subpackage_cycles(edges, pkg)
        priv = [p for p in private if p.split(".")[0] == pkg]
        longs = long_bodies(root, pkg)
        triples = triple_names(root, pkg)
        rows = [
            ("subpackage cycles", len(cyc), [" <-> ".join(c) for c in cyc]),
            ("private imports", len(priv), priv),
            (f"bodies over {MAX_BODY} lines", len(longs), longs),
            ("triple names", len(triples), [f"{n} x{k}" for n, k in triples.items()]),
            ("type: ignore", type_ignores(root, pkg), []),
        ]
        print(f"{pkg}:")
        for label, n, items in rows:
            print(f"  {label:22s} {n}")
            if args.verbose:
                for x in items:
                    print(f"      {x}")
    hashes = doc_hashes(root)
    print(f"docs:\n  {'commit hashes':22s} {len(hashes)}")
    if args.verbose:
        for x in hashes:
            print(f"      {x}")


if __name__ == "__main__":
    main()
