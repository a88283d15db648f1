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
    stack = [obj]
    while stack:
        x = stack.pop()
        if isinstance(x, dict):
            stack.extend(x.keys())
            stack.extend(x.values())
        elif isinstance(x, list | tuple):
            stack.extend(x)
        elif not isinstance(x, _PLAIN):
            raise SourceError(f"{p}: holds a {type(x).__name__}; only plain containers allowed")
    return obj


def read_annotations(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """``[(line number, row dict)]`` of ``annotations.csv`` read by position.

    Row dicts hold ``instance``, ``image``, ``class``, ``class_id`` (int), ``source``,
    ``audio`` (empty for train rows) and ``split`` (``train``/``val``/``test``).

    Raises:
        SourceError: missing file, no/misplaced ``split`` column, wrong column count, an
            unknown split, a non-integer class id, or an unusable name (names the line).
    """
    import pandas as pd

    if not path.is_file():
        raise SourceError(f"{path}: not found; is this the AVS-Synthetic release folder?")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as e:
        raise SourceError(f"{path}: not a readable CSV ({_line(e)})") from None
    cols = list(df.columns)
    if "split" not in cols:
        raise SourceError(f"{path}: no 'split' column (columns: {', '.join(cols)})")
    if len(cols) == 9:
        if cols.index("split") not in _UNUSED:
            raise SourceError(
                f"{path}: 'split' is column {cols.index('split')}, which the authors' loader "
                "reads as data; expected it at position 2, 3 or 7"
            )
        positional = cols
    elif len(cols) == 10:
        positional = [c for c in cols if c != "split"]
    else:
        raise SourceError(
            f"{path}: {len(cols)} columns; the authors' loader reads 9 (split among them)"
        )
    out = []
    values = df[positional].to_numpy()
    splits = df["split"].to_numpy()
    for i, (vals, split) in enumerate(zip(values, splits, strict=True)):
        line = i + 2
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
