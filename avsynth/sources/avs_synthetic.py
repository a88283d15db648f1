"""Reading the authors' AVS-Synthetic release (Zenodo record 8125822) as their loader does.

The layout (``datasets/AVSSynthetic_dataloader.py`` of jinxiang-liu/anno-free-AVS):

* ``annotations.csv``: columns read by position -- 0 instance id, 1 image id, 4 class name,
  5 class id, 6 source dataset, 8 audio name (2, 3 and 7 unused) -- and a column named
  ``split`` holding ``train`` / ``validate`` / ``test``. The loader unpacks exactly nine
  values per row, so ``split`` is one of the unused positions; a file with a tenth column
  named ``split`` is read with the positions counted over the other nine. Only val and test
  rows carry an audio name.
* ``images/<image id>.jpg``, ``masks/<instance id>.png``, ``audios/<audio name>.wav``.
* ``category_for_vggsound_audios.pkl``: ``{class id: [audio name, ...]}``. It comes from the
  internet, so it is read by a restricted unpickler that admits only dicts, lists, tuples,
  strings, numbers, booleans and None: a pickle that names any class or function is refused
  before anything in it runs.
"""

from __future__ import annotations

import csv
import io
import os
import pickle
from pathlib import Path
from typing import Any

from avsynth.errors import SourceError

ANNOTATIONS = "annotations.csv"
POOLS = "category_for_vggsound_audios.pkl"
SPLIT_NAMES = {"train": "train", "validate": "val", "test": "test"}
#: Column positions the authors' loader uses (over the nine positional columns).
POS_INSTANCE, POS_IMAGE, POS_CLASS, POS_CLASS_ID, POS_SOURCE, POS_AUDIO = 0, 1, 4, 5, 6, 8
_UNUSED = (2, 3, 7)
_PLAIN = (str, int, float, bool, type(None))


class _PlainUnpickler(pickle.Unpickler):
    """Unpickler that refuses every global (class or function) a pickle names."""

    def find_class(self, module: str, name: str) -> Any:
        raise _Refused(f"{module}.{name}")

    def persistent_load(self, pid: Any) -> Any:
        raise _Refused(f"persistent id {pid!r}")


class _Refused(Exception):
    pass


def load_plain_pickle(path: str | os.PathLike[str]) -> Any:
    """Unpickle a file that may hold only dicts, lists, tuples, str, int, float, bool, None.

    Raises:
        SourceError: the file is missing or corrupt, names a class/function (refused without
            running it), or holds another type (e.g. a set or bytes).
    """
    p = Path(path)
    if not p.is_file():
        raise SourceError(f"{p}: not found")
    try:
        obj = _PlainUnpickler(io.BytesIO(p.read_bytes())).load()
    except _Refused as e:
        raise SourceError(
            f"{p}: refused to unpickle {e}: this file may hold only dicts, lists, strings and "
            "numbers (a pickle naming a class or function could run code)"
        ) from None
    except Exception as e:  # noqa: BLE001 - truncated/corrupt pickles raise many types
        raise SourceError(f"{p}: not a readable pickle ({type(e).__name__}: {e})") from None
    check_plain(obj, str(p))
    return obj


#: Deepest container nesting :func:`check_plain` accepts (the pool file nests 2 deep).
MAX_DEPTH = 32


def check_plain(obj: Any, where: str) -> None:
    """Check that ``obj`` holds only plain containers and scalars, visiting each container
    once (a pickle can share one list many times: walked as a tree, 30 levels of two shared
    references would be 2**30 visits) and at most :data:`MAX_DEPTH` levels deep.

    Raises:
        SourceError: naming ``where``: another type, or nesting deeper than ``MAX_DEPTH``.
    """
    seen: set[int] = set()
    stack = [(obj, 0)]
    while stack:
        x, depth = stack.pop()
        if isinstance(x, _PLAIN):
            continue
        if not isinstance(x, dict | list | tuple):
            raise SourceError(f"{where}: holds a {type(x).__name__}; only plain containers allowed")
        if id(x) in seen:
            continue
        seen.add(id(x))
        if depth >= MAX_DEPTH:
            raise SourceError(
                f"{where}: containers nested more than {MAX_DEPTH} deep; expected "
                "{class id: [audio name, ...]}"
            )
        items = [*x.keys(), *x.values()] if isinstance(x, dict) else x
        stack.extend((v, depth + 1) for v in items)


def read_annotations(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """``[(line number, row dict)]`` of ``annotations.csv`` read by position.

    Row dicts hold ``instance``, ``image``, ``class``, ``class_id`` (int), ``source``,
    ``audio`` (empty for train rows) and ``split`` (``train``/``val``/``test``).

    Raises:
        SourceError: missing file, no/misplaced ``split`` column, wrong column count, an
            unknown split, a non-integer class id, or an unusable name (names the line).
    """
    if not path.is_file():
        raise SourceError(f"{path}: not found; is this the AVS-Synthetic release folder?")
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f)
            table = [(reader.line_num, r) for r in reader if r]  # blank lines skipped
    except (csv.Error, UnicodeDecodeError) as e:
        raise SourceError(f"{path}: not a readable CSV ({_line(e)})") from None
    if not table:
        raise SourceError(f"{path}: not a readable CSV (no header line)")
    cols = table[0][1]
    if "split" not in cols:
        raise SourceError(f"{path}: no 'split' column (columns: {', '.join(cols)})")
    if len(cols) == 9:
        if cols.index("split") not in _UNUSED:
            raise SourceError(
                f"{path}: 'split' is column {cols.index('split')}, which the authors' loader "
                "reads as data; expected it at position 2, 3 or 7"
            )
        positions = list(range(9))
    elif len(cols) == 10:
        positions = [i for i in range(10) if i != cols.index("split")]
    else:
        raise SourceError(
            f"{path}: {len(cols)} columns; the authors' loader reads 9 (split among them)"
        )
    out = []
    split_at = cols.index("split")
    for line, fields in table[1:]:
        if len(fields) != len(cols):
            raise SourceError(f"{path}:{line}: {len(fields)} fields; the header has {len(cols)}")
        vals = [fields[i] for i in positions]
        split = fields[split_at]
        if split not in SPLIT_NAMES:
            raise SourceError(
                f"{path}:{line}: split {split!r} is not one of {', '.join(SPLIT_NAMES)}"
            )
        try:
            class_id = int(vals[POS_CLASS_ID])
        except ValueError:
            raise SourceError(
                f"{path}:{line}: class id {vals[POS_CLASS_ID]!r} is not an integer"
            ) from None
        row = {
            "instance": vals[POS_INSTANCE].strip(),
            "image": vals[POS_IMAGE].strip(),
            "class": vals[POS_CLASS].strip(),
            "class_id": class_id,
            "source": vals[POS_SOURCE].strip(),
            "audio": vals[POS_AUDIO].strip() if split != "train" else "",
            "split": SPLIT_NAMES[split],
        }
        for k in ("instance", "image", "class"):
            _name(row[k], f"{path}:{line}: {k}")
        if row["split"] != "train":
            _name(row["audio"], f"{path}:{line}: {split} row's audio name")
        out.append((line, row))
    return out


def read_pools(path: Path) -> dict[int, list[str]]:
    """``{class id: [audio name, ...]}`` of ``category_for_vggsound_audios.pkl`` (restricted
    unpickling, see :func:`load_plain_pickle`)."""
    pools = load_plain_pickle(path)
    if not isinstance(pools, dict):
        raise SourceError(f"{path}: holds a {type(pools).__name__}, expected {{class id: [...]}}")
    out: dict[int, list[str]] = {}
    for k, v in pools.items():
        if not isinstance(k, int) or isinstance(k, bool):
            raise SourceError(f"{path}: key {k!r} is not an integer class id")
        if not isinstance(v, list | tuple) or not all(isinstance(x, str) for x in v):
            raise SourceError(f"{path}: class {k}: expected a list of audio names")
        for x in v:
            _name(x, f"{path}: class {k}: audio name")
        out[k] = list(v)
    return out


def _name(text: str, what: str) -> str:
    """``text`` if it is one file name (the manifest rule: :func:`safe_component`)."""
    from avsynth.paths import UnsafePathError, safe_component

    try:
        return safe_component(text, what=what)
    except UnsafePathError as e:
        raise SourceError(str(e)) from None


def _line(e: Exception) -> str:
    text = str(e).strip()
    return text.splitlines()[0][:160] if text else type(e).__name__
