"""Reader for Open Images V7 instance segmentations (https://storage.googleapis.com/openimages/web/).

Annotations CC BY 4.0; images listed as CC BY 2.0. Layout under ``ROOT``::

    train-annotations-object-segmentation.csv        # also validation-, test-
    oidv7-class-descriptions-boxable.csv             # LabelName,DisplayName (or the header-less
                                                     # V6 class-descriptions-boxable.csv)
    train-masks-0.zip ... train-masks-f.zip          # PNGs by first hex digit of ImageID,
                                                     # or extracted train-masks/ folders
    train/0001eeaf4aed83f9.jpg                       # images

The CSV header is ``MaskPath,ImageID,LabelName,BoxID,BoxXMin,BoxXMax,BoxYMin,BoxYMax,
PredictedIoU,Clicks`` (boxes normalised; ~2.69 M train rows). It is read with pyarrow, only
the needed columns, filtered to the wanted MIDs before any Python objects are made. Classes are
joined on MIDs: 23 display names changed between V6 and V7.
"""

from __future__ import annotations

import csv
import os
import time
from collections.abc import Collection, Iterator
from pathlib import Path

from avsynth.errors import SourceError
from avsynth.sources.guards import check_unique
from avsynth.sources.processes import gc_paused
from avsynth.sources.records import SourceImage, SourceMask

__all__ = [
    "OI_COLUMNS",
    "OI_IMAGE_LICENSE",
    "OI_SUBSETS",
    "iter_openimages_masks",
    "openimages_class_file",
    "openimages_classes",
    "openimages_csv_path",
    "read_openimages_classes",
    "openimages_files",
    "openimages_records",
    "parse_openimages_tables",
]

OI_SUBSETS = ("train", "validation", "test")
OI_IMAGE_LICENSE = "CC BY 2.0"
OI_COLUMNS = (
    "MaskPath",
    "ImageID",
    "LabelName",
    "BoxID",
    "BoxXMin",
    "BoxXMax",
    "BoxYMin",
    "BoxYMax",
    "PredictedIoU",
    "Clicks",
)
_NEEDED = OI_COLUMNS[:3] + OI_COLUMNS[4:9]
#: Names of the Open Images class list (``MID,DisplayName``), the first found is read.
CLASS_FILES = (
    "oidv7-class-descriptions-boxable.csv",
    "class-descriptions-boxable.csv",
    "oidv6-class-descriptions-boxable.csv",
)


def openimages_csv_path(root: str | os.PathLike, subset: str) -> Path:
    """Path of ``{subset}-annotations-object-segmentation.csv`` under ``root``."""
    return Path(root) / f"{subset}-annotations-object-segmentation.csv"


def _check_root(root: str | os.PathLike) -> Path:
    root = Path(root)
    if not root.is_dir():
        raise SourceError(
            f"Open Images root {root} is not a folder "
            "(expected train-annotations-object-segmentation.csv etc.)"
        )
    return root


def openimages_classes(root: str | os.PathLike) -> dict[str, str]:
    """Open Images MID -> display name.

    Reads ``oidv7-class-descriptions-boxable.csv`` (header ``LabelName,DisplayName``) or,
    failing that, the header-less V6 ``class-descriptions-boxable.csv``.

    Raises:
        SourceError: No class file, or a malformed line (message names file and line).
    """
    return dict(sorted(read_openimages_classes(openimages_class_file(root)).items()))


def openimages_class_file(root: str | os.PathLike) -> Path:
    """The class-description CSV :func:`openimages_classes` reads under ``root``.

    Raises:
        SourceError: ``root`` is not a folder, or holds no class file.
    """
    root = _check_root(root)
    path = next((root / n for n in CLASS_FILES if (root / n).is_file()), None)
    if path is None:
        raise SourceError(f"no {' or '.join(CLASS_FILES[:2])} in {root}")
    return path


def read_openimages_classes(path: str | os.PathLike) -> dict[str, str]:
    """MID -> display name from an Open Images class-description CSV (header optional).

    Reads V7's ``oidv7-class-descriptions-boxable.csv`` (header ``LabelName,DisplayName``),
    the header-less V4-V6 files and the full ``oidv6-class-descriptions.csv`` (names with
    commas are quoted).

    Raises:
        SourceError: The file is missing, empty, or a row is not ``MID,DisplayName``.
    """
    path = Path(path)
    out: dict[str, str] = {}
    try:
        f = open(path, newline="", encoding="utf-8-sig")  # noqa: SIM115
    except FileNotFoundError:
        raise SourceError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise SourceError(f"{path}: is a directory; pass the file itself") from None
    with f:
        try:
            for lineno, row in enumerate(csv.reader(f), start=1):
                if not row:
                    continue
                if lineno == 1 and [c.strip().lower() for c in row] == [
                    "labelname",
                    "displayname",
                ]:
                    continue
                if len(row) != 2 or not row[0].startswith("/"):
                    raise SourceError(
                        f"{path}:{lineno}: expected 'MID,DisplayName' (e.g. '/m/0bt9lr,Dog'), "
                        f"got {','.join(row)[:60]!r}"
                    )
                out[row[0]] = row[1]
        except UnicodeDecodeError as e:
            raise SourceError(f"{path}: not UTF-8 text: {e}") from None
    if not out:
        raise SourceError(f"{path}: no Open Images classes found")
    return out


def _bad_line(path: Path) -> str:
    """Find the first CSV line whose column count is wrong (for error messages)."""
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        for lineno, row in enumerate(csv.reader(f), start=1):
            if row and len(row) != len(OI_COLUMNS):
                return f"{path}:{lineno}: expected {len(OI_COLUMNS)} columns, got {len(row)}"
    return f"{path}: malformed CSV"


def _count_lines(path: Path) -> int:
    """Physical lines of a file (a last line without newline counts), by a fast byte count."""
    n, last = 0, b"\n"
    with open(path, "rb") as f:
        while chunk := f.read(16 << 20):
            n += chunk.count(b"\n")
            last = chunk[-1:]
    return n + (last != b"\n")


def _row_span_error(path: Path) -> str | None:
    """The first row that spans several lines (a stray double quote), for the error message;
    ``None`` when every row is one line (the counts differed by blank lines only)."""
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        reader = csv.reader(f)
        end = 0
        for row in reader:
            start, end = end + 1, reader.line_num
            if end != start or any("\n" in c or "\r" in c for c in row):
                return (
                    f"{path}:{start}: unclosed double quote: the row runs on to line {end} "
                    "(so later rows would be lost); remove the stray quote"
                )
    return None


def _has_quote(path: Path) -> bool:
    """Whether the file holds a double quote anywhere (one fast byte scan).

    The segmentation CSVs hold none (ids, MIDs, numbers, clicks): without a quote no row
    can span lines, so the row-versus-line check of :func:`_read_csv_checked` is needed only
    when this is true."""
    with open(path, "rb") as f:
        while chunk := f.read(16 << 20):
            if b'"' in chunk:
                return True
    return False


def _header(path: Path) -> list[str]:
    with open(path, encoding="utf-8", errors="replace") as f:
        header = next(csv.reader([f.readline().strip().lstrip("\ufeff")]), [])
    missing = [c for c in _NEEDED if c not in header]
    if missing:
        raise SourceError(f"{path}:1: header lacks {missing}; expected {','.join(OI_COLUMNS)}")
    return header


def _read_csv(path: Path, mids: set[str]):
    """The wanted rows as a pyarrow table sorted by MaskPath (all columns strings).

    A file without double quotes (every real one) is scanned by pyarrow.dataset with the
    MID filter pushed down: one call that parses without holding the GIL and keeps only the
    wanted rows of each block, so memory stays bounded by the selection. A file with quotes
    takes the checked path (:func:`_read_csv_checked`), which catches a stray quote merging
    rows."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.dataset as ds
    from pyarrow import csv as pacsv

    header = _header(path)
    if _has_quote(path):
        return _read_csv_checked(path, mids)
    fmt = ds.CsvFileFormat(
        read_options=pacsv.ReadOptions(block_size=4 << 20),
        convert_options=pacsv.ConvertOptions(
            column_types={c: pa.string() for c in header}, strings_can_be_null=False
        ),
    )
    try:
        # One thread: planning runs this in a worker beside the LVIS decode, one core each
        # (arrow's threads would compete with it and hold ~80 MB more).
        table = ds.dataset(path, format=fmt).to_table(
            columns=list(_NEEDED),
            filter=pc.field("LabelName").isin(sorted(mids)),
            use_threads=False,
        )
    except pa.ArrowInvalid:
        raise SourceError(_bad_line(path)) from None
    return table.sort_by("MaskPath")


def _read_csv_checked(path: Path, mids: set[str]):
    """:func:`_read_csv` for a file holding double quotes: streamed block by block, with the
    number of rows compared to the number of lines."""
    import pyarrow as pa
    import pyarrow.compute as pc
    from pyarrow import csv as pacsv

    # Stream in blocks and keep only the wanted MIDs: memory stays bounded by the selection,
    # not by the ~2.7 M-row file.
    value_set = pa.array(sorted(mids), type=pa.string())
    batches = []
    try:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=4 << 20),
            convert_options=pacsv.ConvertOptions(
                include_columns=list(_NEEDED),
                column_types={c: pa.string() for c in _NEEDED},
                strings_can_be_null=False,
            ),
        )
        rows = 0
        for batch in reader:
            rows += batch.num_rows
            batches.append(batch.filter(pc.is_in(batch.column("LabelName"), value_set=value_set)))
        table = pa.Table.from_batches(batches, schema=reader.schema)
    except pa.ArrowInvalid:
        raise SourceError(_bad_line(path)) from None
    # A stray double quote makes one "row" of everything up to the next quote, silently
    # dropping the rows in between: every row of this format is one line, so the row count
    # must equal the line count (blank lines aside).
    if rows != _count_lines(path) - 1:
        err = _row_span_error(path)
        if err is not None:
            raise SourceError(err)
    return table.sort_by("MaskPath")


def _floats(path: Path, table, col: str, *, optional: bool = False):
    """Column ``col`` as float64 numpy (NaN for empty optional cells); errors name the row."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = table[col]
    if optional:
        arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)
    try:
        out = pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False)  # null -> NaN
        bad = ~np.isfinite(out) & ~pc.is_null(arr).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid:  # a cell that is not a number: find the first one
        out, bad = None, np.zeros(len(arr), bool)
        for i, v in enumerate(arr.to_pylist()):
            try:
                float(v or 0)
            except ValueError:
                bad[i] = True
                break
    if bad.any():
        i = int(np.argmax(bad))
        raise SourceError(
            f"{path}: row {table['MaskPath'][i].as_py()!r}: {col} is "
            f"{table[col][i].as_py()!r}, not a number"
        )
    return out


def _read_subset(path: Path, subset: str, mids: set[str]) -> list[SourceMask]:
    return _masks_of(path, subset, _read_csv(path, mids))


def _masks_of(path: Path, subset: str, table) -> list[SourceMask]:
    """The records of the wanted rows of one subset's CSV (``table`` from :func:`_read_csv`)."""
    import numpy as np

    if table.num_rows == 0:
        return []
    mask_paths = table["MaskPath"].to_pylist()
    check_unique(mask_paths, "MaskPath", str(path))  # one mask file, one instance
    image_ids = table["ImageID"].to_pylist()
    for i, (mp, iid) in enumerate(zip(mask_paths, image_ids, strict=True)):
        if not mp or not iid:
            raise SourceError(f"{path}: row {i} of {table['LabelName'][i].as_py()} has an "
                              "empty ImageID or MaskPath")  # fmt: skip
    x0, x1, y0, y1 = (np.clip(_floats(path, table, c), 0.0, 1.0) for c in _NEEDED[3:7])
    bad = (x1 < x0) | (y1 < y0)
    if bad.any():
        raise SourceError(f"{path}: row {mask_paths[int(np.argmax(bad))]!r}: box min > max")
    iou = _floats(path, table, "PredictedIoU", optional=True)
    w, h = x1 - x0, y1 - y0
    images: dict[str, SourceImage] = {}
    out: list[SourceMask] = []
    cols = (mask_paths, image_ids, table["LabelName"].to_pylist(), x0.tolist(), y0.tolist(),
            w.tolist(), h.tolist(), iou.tolist())  # fmt: skip
    for mp, iid, label, bx, by, bw, bh, q in zip(*cols, strict=True):
        img = images.get(iid)
        if img is None:
            img = SourceImage(
                "openimages", iid, f"{subset}/{iid}.jpg", None, None, OI_IMAGE_LICENSE, subset
            )
            images[iid] = img
        out.append(
            SourceMask(
                source="openimages",
                mask_id=mp.rsplit(".", 1)[0],
                image=img,
                label=label,
                bbox=(bx, by, bw, bh),
                area_fraction=bw * bh,
                iscrowd=False,
                exhaustive=True,
                mask_file=mp,
                predicted_iou=None if q != q else q,
            )
        )
    return out


def iter_openimages_masks(
    root: str | os.PathLike,
    mids: Collection[str],
    *,
    subsets: Collection[str] = OI_SUBSETS,
) -> Iterator[SourceMask]:
    """Yield the Open Images instance masks of the given MIDs.

    Reads ``root/{subset}-annotations-object-segmentation.csv`` for each subset whose file
    exists, in the order of ``subsets``; within a subset masks come sorted by ``MaskPath``.

    Args:
        root: Open Images root folder.
        mids: Class MIDs such as ``/m/0bt9lr``.
        subsets: Any of ``("train", "validation", "test")``.

    Yields:
        :class:`SourceMask` with ``mask_id`` = MaskPath stem, ``mask_file`` = MaskPath,
        ``bbox`` = normalised ``(x, y, w, h)``, ``area_fraction`` = box area fraction,
        ``predicted_iou``; images have ``width``/``height`` None (the CSV has no sizes) and
        ``path`` = ``{subset}/{ImageID}.jpg``.

    Raises:
        SourceError: No CSV exists, or one is malformed (message names file and line/row).
    """
    wanted = set(mids)
    for subset, path in openimages_files(root, subsets):
        with gc_paused():
            masks = _read_subset(path, subset, wanted)
        yield from masks


def openimages_files(
    root: str | os.PathLike, subsets: Collection[str] = OI_SUBSETS
) -> list[tuple[str, Path]]:
    """``(subset, csv path)`` of the subsets whose segmentation CSV exists under ``root``.

    Raises:
        SourceError: ``root`` is not a folder, a subset is unknown, a CSV path is a folder,
            or no CSV exists.
    """
    root = _check_root(root)
    bad = [s for s in subsets if s not in OI_SUBSETS]
    if bad:
        raise SourceError(f"unknown Open Images subset(s) {bad}: use {list(OI_SUBSETS)}")
    files = [(s, openimages_csv_path(root, s)) for s in subsets]
    for _, p in files:
        if p.exists() and not p.is_file():
            raise SourceError(f"{p} is not a file (a folder?); put the segmentation CSV there")
    files = [(s, p) for s, p in files if p.is_file()]
    if not files:
        names = ", ".join(openimages_csv_path(root, s).name for s in subsets)
        raise SourceError(f"no Open Images segmentation CSV ({names}) in {root}")
    return files


def parse_openimages_tables(
    files: list[tuple[str, Path]], mids: Collection[str]
) -> tuple[list, float]:
    """The wanted rows of each ``(subset, csv path)`` of :func:`openimages_files`, as Arrow
    tables (the slow, GIL-free part of reading; run it in a worker process), and the
    seconds it took. :func:`openimages_records` makes the records.

    Raises:
        SourceError: A CSV is malformed (message names file and line).
    """
    t = time.perf_counter()
    wanted = set(mids)
    tables = [(subset, path, _read_csv(path, wanted)) for subset, path in files]
    return tables, time.perf_counter() - t


def openimages_records(tables: list) -> list[SourceMask]:
    """The masks of the tables of :func:`parse_openimages_tables` (emptied on the way)."""
    out: list[SourceMask] = []
    with gc_paused():
        for subset, path, table in tables:
            out.extend(_masks_of(path, subset, table))
    tables.clear()
    return out
