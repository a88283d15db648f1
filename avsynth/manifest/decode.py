"""One-line messages for manifest records that do not decode to the record types.

Records are decoded by msgspec against the typed record classes of
:mod:`avsynth.manifest.schema` (:func:`avsynth.manifest.io.iter_manifest`), which checks
every field's type, the choices (``split``, ``root``, ``composition``) and the ranges of the
numbers while parsing. This module turns msgspec's errors into
:class:`~avsynth.errors.ManifestRecordError` lines that name the file, the line, the field and
the value found::

    manifest.jsonl:7: audio.duration: expected float, got str ('long')
    manifest.jsonl:9: split: 'dev' is not one of train, val, test
    manifest.jsonl:4: mask.area_fraction: NaN is not a JSON number

Only failing lines come here, so the extra parsing (with :mod:`json`, to find the value)
costs nothing on a valid manifest.
"""

from __future__ import annotations

import json
import re
from typing import Any

import msgspec

from avsynth.errors import ManifestError, ManifestRecordError

_AT = re.compile(r"^(?P<what>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_MISSING = re.compile(r"^Object missing required field `(?P<name>[^`]+)`$")
_ENUM = re.compile(r"^Invalid enum value (?P<value>.+)$")
_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]")


class _Constant:
    """Stands for a ``NaN`` / ``Infinity`` literal while looking for the field holding it."""

    def __init__(self, text: str) -> None:
        self.text = text


def _value_at(doc: Any, path: str) -> tuple[bool, Any]:
    """``(found, value)`` of ``path`` (``.audio.duration``, ``.mask.bbox[2]``) in ``doc``."""
    for key, index in _STEP.findall(path):
        try:
            doc = doc[key] if key else doc[int(index)]
        except (KeyError, IndexError, TypeError):
            return False, None
    return True, doc


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def record_error(
    e: msgspec.ValidationError,
    where: str,
    doc: Any = None,
    *,
    choices: dict[str, tuple[str, ...]] | None = None,
) -> ManifestRecordError:
    """The one-line error for a record msgspec refused.

    Args:
        e: msgspec's error (``Expected `float`, got `str` - at `$.audio.duration```).
        where: ``file:line``.
        doc: The record as :mod:`json` parses it (to show the value found), if at hand.
        choices: Allowed values by field name (``{"split": ("train", ...)}``), for unknown
            choices.

    Returns:
        ``ManifestRecordError("file:line: audio.duration: expected float, got str ('long')")``.
    """
    m = _AT.match(str(e))
    what, path = (m["what"], m["path"] or "") if m else (str(e), "")
    missing = _MISSING.match(what)
    if missing:
        path = f"{path}.{missing['name']}"
        field = path.lstrip(".")
        return ManifestRecordError(f"{where}: {field}: missing (a required field)", field)
    field = path.lstrip(".") or "record"
    enum = _ENUM.match(what)
    name = field.rsplit(".", 1)[-1]
    if enum and choices and name in choices:
        return ManifestRecordError(
            f"{where}: {field}: {enum['value']} is not one of {', '.join(choices[name])}", field
        )
    text = what[:1].lower() + what[1:]
    text = text.replace("`", "").replace("number out of range", "a number out of range")
    found, value = _value_at(doc, path) if doc is not None else (False, None)
    if found:
        text += f" ({_show(value)})"
    return ManifestRecordError(f"{where}: {field}: {text}", field)


def syntax_error(line: bytes, e: msgspec.DecodeError, where: str) -> ManifestError:
    """The one-line error for a line that is not JSON as the manifest format allows.

    ``NaN``/``Infinity`` (which Python's :mod:`json` writes but JSON does not allow) name
    their field; other syntax errors name what :mod:`json` finds.
    """
    try:
        doc = json.loads(line, parse_constant=_Constant)
    except json.JSONDecodeError as j:
        return ManifestError(f"{where}: invalid JSON ({j.msg})")
    except (UnicodeDecodeError, ValueError, RecursionError):
        return ManifestError(f"{where}: invalid JSON ({e})")
    path = _find_constant(doc, "")
    if path is not None:
        field, const = path
        return ManifestRecordError(
            f"{where}: {field or 'record'}: {const} is not a JSON number", field
        )
    return ManifestError(f"{where}: invalid JSON ({e})")


def _find_constant(doc: Any, path: str) -> tuple[str, str] | None:
    """Path and text of the first ``NaN``/``Infinity`` in ``doc``."""
    stack = [(doc, path)]
    while stack:
        x, p = stack.pop()
        if isinstance(x, _Constant):
            return p.lstrip("."), x.text
        if isinstance(x, dict):
            stack.extend((v, f"{p}.{k}") for k, v in reversed(list(x.items())))
        elif isinstance(x, list):
            stack.extend((v, f"{p}[{i}]") for i, v in reversed(list(enumerate(x))))
    return None


def loads_or_none(line: bytes) -> Any:
    """``json.loads(line)``, or ``None`` where it fails (for messages only)."""
    try:
        return json.loads(line)
    except (ValueError, RecursionError):
        return None
