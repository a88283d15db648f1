"""Turn a command module's docstring into Typer's Markdown help.

Docstrings are written as plain text: wrapped prose paragraphs, and indented example
blocks. Prose is left to Markdown (which re-flows it to the terminal width); indented
blocks become fenced code so examples keep their line breaks, ``\\`` continuations and
``#`` comments.
"""

from __future__ import annotations

import inspect


def markdown_help(doc: str | None) -> str | None:
    """Return ``doc`` with every indented block fenced as code."""
    if not doc:
        return doc
    lines = inspect.cleandoc(doc).splitlines()
    out: list[str] = []
    in_code = False
    for i, line in enumerate(lines):
        indented = line.startswith("  ") and line.strip() != ""
        if indented and not in_code:
            if out and out[-1].strip():
                out.append("")
            out.append("```")
            in_code = True
        elif in_code and not indented:
            # A blank line inside an example block keeps the block open if more follows.
            nxt = lines[i + 1] if i + 1 < len(lines) else ""
            if line.strip() == "" and nxt.startswith("  "):
                out.append("")
                continue
            out.append("```")
            in_code = False
        out.append(line[2:] if in_code else line)
    if in_code:
        out.append("```")
    return "\n".join(out)
