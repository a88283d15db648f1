"""Generate the command-line reference (``docs/cli-reference.md``) from the Typer apps.

Every command of ``avsynth`` and ``avsmodel`` with its help text (examples included), its
usage line and a table of its arguments and options: names, accepted values (every choice of a
choice option), default, and help. The documentation site's hook (``scripts/mkdocs_hooks.py``)
renders the page from this module at build time; ``tests/test_docs.py`` checks that the copy
in ``docs/`` is current. Regenerate it with::

    python scripts/cli_reference.py > docs/cli-reference.md
"""

from __future__ import annotations

import enum
import sys
from typing import Any

import typer

HEADER = """# Command-line reference

Generated from the commands themselves (`scripts/cli_reference.py`): every command and
option of `avsynth` and `avsmodel`, as `--help` shows them. The conventions shared by all
commands (exit codes, `--quiet`, `--json`, `--out`, deprecated spellings) are in
[cli.md](cli.md).
"""


def _cell(text: Any) -> str:
    """Text for one Markdown table cell (pipes escaped, on one line)."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _values(param: Any, ctx: typer.Context) -> str:
    """What a parameter accepts, as ``--help`` shows it (every choice of a choice option)."""
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return "flag"
    shown = param.display_type(ctx).strip("<>")  # "path", "raise|skip", "list[a|b]"
    kind, _, inner = shown.partition("[")
    if inner:  # a list of values
        return "one or more of: " + ", ".join(f"`{v}`" for v in inner.rstrip("]").split("|"))
    if "|" in shown:
        return "one of: " + ", ".join(f"`{v}`" for v in shown.split("|"))
    return f"`{kind}`"


def _default(param: Any) -> str:
    if param.required:
        return "required"
    flag = getattr(param, "is_flag", False)
    if flag and param.secondary_opts and param.default is not None:
        return "`" + (param.opts[0] if param.default else param.secondary_opts[0]) + "`"
    value = param.default
    if value is None or value == () or (flag and not value) or getattr(param, "count", False):
        return ""
    if isinstance(value, enum.Enum):
        value = value.value
    return f"`{value}`"


def _names(param: Any) -> str:
    if param.param_type_name == "argument":
        return f"`{param.name.upper()}`" + (" ..." if param.nargs == -1 else "")
    opts = [*param.opts, *getattr(param, "secondary_opts", [])]
    return ", ".join(f"`{o}`" for o in opts)


def _table(params: list[Any], ctx: typer.Context) -> list[str]:
    rows = ["| argument / option | values | default | help |", "|---|---|---|---|"]
    for p in params:
        if getattr(p, "hidden", False):
            continue
        help_text = getattr(p, "help", None) or ""
        cells = [_names(p), _cell(_values(p, ctx)), _cell(_default(p)), _cell(help_text)]
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def command_markdown(prog: str, name: str, cmd: Any) -> str:
    """The reference section of one command."""
    ctx = typer.Context(cmd, info_name=f"{prog} {name}")
    usage = " ".join([f"{prog} {name}", *cmd.collect_usage_pieces(ctx)])
    lines = [f"### `{prog} {name}`", "", (cmd.help or "").strip(), ""]
    lines += ["```", usage, "```", ""]
    lines += _table(cmd.params, ctx)
    if cmd.epilog:
        lines += ["", cmd.epilog]
    return "\n".join(lines) + "\n"


def app_markdown(prog: str, app: typer.Typer) -> str:
    """The reference of one command line: its global options, then each command."""
    group = typer.main.get_command(app)
    ctx = typer.Context(group, info_name=prog)
    lines = [f"## `{prog}`", "", (group.help or "").strip(), "", "Global options:", ""]
    lines += _table(group.params, ctx)
    text = "\n".join(lines) + "\n"
    for name, cmd in group.commands.items():  # type: ignore[attr-defined]
        text += "\n" + command_markdown(prog, name, cmd)
    return text


def reference() -> str:
    """The whole reference page."""
    from avsmodel.cli import app as avsmodel_app
    from avsynth.cli import app as avsynth_app

    parts = [HEADER, app_markdown("avsynth", avsynth_app), app_markdown("avsmodel", avsmodel_app)]
    return "\n".join(parts)


if __name__ == "__main__":
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's packages
    sys.stdout.write(reference())
