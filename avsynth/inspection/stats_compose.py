"""The composition breakdown of :func:`avsynth.stats` for composed (schema 2) manifests:
``compositions.csv`` (triplets per composition x split, with totals) and
``compositions.png`` (stacked bars per composition and split)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from avsynth.files import atomic_path, atomic_write_text
from avsynth.manifest.schema import COMPOSITIONS, SPLITS


def composition_table(counts: dict[str, dict[str, int]]) -> str:
    """CSV text: ``composition,train,val,test,total`` rows plus a ``total`` row."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["composition", *SPLITS, "total"])
    for c, n in counts.items():
        w.writerow([c, *(n[s] for s in SPLITS), sum(n.values())])
    w.writerow(["total", *(sum(n[s] for n in counts.values()) for s in SPLITS),
                sum(sum(n.values()) for n in counts.values())])  # fmt: skip
    return buf.getvalue()


def write_composition_stats(counts: dict[str, dict[str, int]], out: Path) -> list[str]:
    """Write ``compositions.csv`` and ``compositions.png`` into ``out``; returns their names."""
    import matplotlib

    matplotlib.use("Agg")
    import numpy as np
    from matplotlib.figure import Figure

    atomic_write_text(out / "compositions.csv", composition_table(counts))
    names = [c for c in COMPOSITIONS if c in counts]
    x = np.arange(len(names))
    colours = {"train": "#4c72b0", "val": "#dd8452", "test": "#55a868"}
    fig = Figure(figsize=(6.0, 4.0))
    ax = fig.add_subplot()
    bottom = np.zeros(len(names))
    for s in SPLITS:
        v = np.array([counts[c][s] for c in names], dtype=float)
        ax.bar(x, v, bottom=bottom, label=s, color=colours[s])
        bottom += v
    ax.set_xticks(x, names)
    ax.set_ylabel("triplets")
    ax.set_title("Triplets per composition and split")
    ax.legend(loc="upper right")
    fig.tight_layout()
    with atomic_path(out / "compositions.png") as tmp:  # no date metadata: same bytes
        fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
    return ["compositions.csv", "compositions.png"]
