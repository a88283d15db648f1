"""MkDocs hooks (``hooks:`` in ``mkdocs.yml``): the pages generated when the site is built.

* ``cli-reference.md`` is replaced by :func:`cli_reference.reference`, the reference of every
  command and option of both command lines, generated from the Typer apps;
* the marker in ``api-reference.md`` becomes one mkdocstrings block (``::: module.name``) per
  public name of ``avsynth`` and ``avsmodel`` (their ``_LAZY`` tables: name -> module), plus
  the error hierarchies and the logging set-up.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MARKER = "<!-- api-reference"
#: Modules documented whole, besides the packages' public names.
EXTRA_MODULES = ("avsynth.errors", "avsmodel.errors", "avsynth.log")


def _import_paths() -> None:
    for p in (ROOT, ROOT / "scripts"):
        if str(p) not in sys.path:
            sys.path.insert(0, str(p))


def api_blocks() -> str:
    """One ``:::`` block per public name, grouped by package."""
    _import_paths()
    import avsmodel
    import avsynth

    out: list[str] = []
    for package in (avsynth, avsmodel):
        out.append(f"## `{package.__name__}`\n")
        lazy: dict[str, str] = package._LAZY  # noqa: SLF001 - the package's own export table
        for name in sorted(lazy, key=str.lower):
            out.append(f"::: {lazy[name]}.{name}\n")
    out.append("## Errors and logging\n")
    out += [f"::: {m}\n" for m in EXTRA_MODULES]
    return "\n".join(out)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Fill in the generated pages."""
    src = page.file.src_uri
    if src == "cli-reference.md":
        _import_paths()
        from cli_reference import reference

        return reference()
    if src == "api-reference.md" and MARKER in markdown:
        head = markdown[: markdown.index(MARKER)]
        return head + api_blocks()
    return markdown
