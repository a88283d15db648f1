"""Write the demo's numbers into README.md and docs/demo.md from a demo's ``summary.json``.

The numbers live between ``<!-- demo-numbers:NAME -->`` and ``<!-- /demo-numbers:NAME -->``
markers; everything else in the files is left alone. ``--check`` rewrites nothing and exits 1
when a block differs from what the summary gives (the slow test ``tests/test_demo.py`` runs it
on a fresh demo), so the documented numbers cannot drift from what the demo prints.

Usage::

    python -m avsmodel.demo --out demo_out
    .venv/bin/python scripts/demo_numbers.py demo_out/summary.json            # rewrite
    .venv/bin/python scripts/demo_numbers.py demo_out/summary.json --check    # exit 1 if stale
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
FILES = {"readme": REPO / "README.md", "demo": REPO / "docs" / "demo.md"}


def blocks(s: dict[str, Any]) -> dict[str, str]:
    """The text of each marked block, from a demo summary."""
    m, mm = s["test_matched"], s["test_mismatched"]
    return {
        "readme": (
            f"it reaches test mIoU {m['miou']:.2f} with each image's own sound and "
            f"{mm['miou']:.2f} with another category's sound"
        ),
        "demo": (
            "```\n"
            f"test      matched audio:    mIoU {m['miou']:.3f}  F {m['fscore']:.3f}  "
            f"({m['n']} images)\n"
            f"          mismatched audio: mIoU {mm['miou']:.3f}  F {mm['fscore']:.3f}\n"
            "```"
        ),
    }


def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(
        rf"(<!-- demo-numbers:{name} -->\n?)(.*?)(\n?<!-- /demo-numbers:{name} -->)", re.S
    )


def render(text: str, name: str, body: str, where: Path) -> str:
    """``text`` with block ``name`` replaced by ``body``.

    Raises:
        SystemExit: the file has no such block (or more than one).
    """
    pat = _pattern(name)
    found = pat.findall(text)
    if len(found) != 1:
        raise SystemExit(f"{where}: expected one demo-numbers:{name} block, found {len(found)}")
    return pat.sub(lambda mt: mt.group(1) + body + mt.group(3), text)


def main(argv: list[str] | None = None) -> int:
    """Rewrite (or ``--check``) the blocks; returns the exit status."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("summary", type=Path, help="a demo's summary.json")
    ap.add_argument("--check", action="store_true", help="exit 1 if a block is out of date")
    args = ap.parse_args(argv)
    summary = json.loads(args.summary.read_text(encoding="utf-8"))
    stale = []
    for name, body in blocks(summary).items():
        path = FILES[name]
        old = path.read_text(encoding="utf-8")
        new = render(old, name, body, path)
        if new != old:
            stale.append(str(path.relative_to(REPO)))
            if not args.check:
                path.write_text(new, encoding="utf-8")
    if stale and args.check:
        print(f"out of date with {args.summary}: {', '.join(stale)} "
              f"(run scripts/demo_numbers.py {args.summary})", file=sys.stderr)  # fmt: skip
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
