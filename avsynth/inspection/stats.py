"""Dataset statistics of a manifest: count tables and plots.

:func:`stats` streams the manifest once and writes to ``out``:

* ``counts.csv`` / ``counts.md``: triplets per category x split (+ total row/column);
* ``sources.csv``: LVIS vs Open Images masks per category;
* ``counts.png``: stacked bars per category and split;
* ``mask_area.png``: distribution of mask area (fraction of the image), per split;
* ``source_mix.png``: LVIS vs Open Images share per category;
* ``clip_reuse.png``: histogram of how many triplets use each audio clip;
* ``stats.json``: the numbers behind the summary;
* composed manifests (``avsynth build --compose``) also: ``compositions.csv`` /
  ``compositions.png``, triplets per composition x split (``compositions`` in ``stats.json``;
  clip reuse then counts every component clip).

Plots use matplotlib's Agg backend (no display needed); PNGs carry no timestamp, so the same
manifest gives byte-identical files.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

from avsynth.errors import ManifestError
from avsynth.manifest import iter_manifest
from avsynth.manifest.schema import COMPOSITIONS, SPLITS
from avsynth.storage.atomic import atomic_path, atomic_write_text

SOURCES = ("lvis", "openimages")


@dataclass
class StatsReport:
    """Numbers computed by :func:`stats` (also written to ``stats.json``).

    Attributes:
        triplets: Number of manifest lines.
        counts: ``{category: {split: n}}`` (every split present, zeros included).
        sources: ``{category: {"lvis": n, "openimages": n}}``.
        clips: Number of distinct audio clips (YouTube id + start).
        clip_uses: ``{uses: number of clips used that many times}``.
        area_quantiles: Mask area fraction at 0, 25, 50, 75 and 100 %.
        compositions: ``{composition: {split: n}}`` (composed manifests only, else empty).
        files: Paths of the files written, relative to ``out``.
    """

    triplets: int = 0
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    sources: dict[str, dict[str, int]] = field(default_factory=dict)
    clips: int = 0
    clip_uses: dict[int, int] = field(default_factory=dict)
    area_quantiles: list[float] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    compositions: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def split_totals(self) -> dict[str, int]:
        """Triplets per split."""
        return {s: sum(c[s] for c in self.counts.values()) for s in SPLITS}

    def summary(self) -> str:
        """A few lines for the terminal."""
        tot = self.split_totals
        src = Counter()
        for c in self.sources.values():
            src.update(c)
        n = max(self.triplets, 1)
        reuse_max = max(self.clip_uses, default=0)
        q = self.area_quantiles or [0.0] * 5
        comp = (
            [
                "compositions: "
                + ", ".join(f"{c} {sum(v.values())}" for c, v in self.compositions.items())
            ]
            if self.compositions
            else []
        )
        return "\n".join(
            comp
            + [
                f"{self.triplets} triplets, {len(self.counts)} categories; "
                + ", ".join(f"{s} {tot[s]}" for s in SPLITS),
                "masks: "
                + ", ".join(f"{s} {src[s]} ({100 * src[s] / n:.1f}%)" for s in SOURCES)
                + f"; area fraction median {q[2]:.3f} (min {q[0]:.3f}, max {q[4]:.3f})",
                f"audio: {self.clips} distinct clips, up to {reuse_max} uses per clip, "
                f"{self.triplets / max(self.clips, 1):.2f} on average",
            ]
        )


def _quantiles(values: list[float]) -> list[float]:
    import numpy as np

    if not values:
        return [0.0] * 5
    return [float(v) for v in np.quantile(np.asarray(values), [0, 0.25, 0.5, 0.75, 1.0])]


def _tables(report: StatsReport) -> tuple[str, str, str]:
    cats = sorted(report.counts)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["category", *SPLITS, "total"])
    for c in cats:
        row = [report.counts[c][s] for s in SPLITS]
        w.writerow([c, *row, sum(row)])
    tot = report.split_totals
    w.writerow(["total", *[tot[s] for s in SPLITS], report.triplets])
    counts_csv = buf.getvalue()

    md = ["| category | " + " | ".join(SPLITS) + " | total |"]
    md.append("|---|" + "---:|" * (len(SPLITS) + 1))
    for c in cats:
        row = [report.counts[c][s] for s in SPLITS]
        md.append(f"| {c} | " + " | ".join(str(v) for v in row) + f" | {sum(row)} |")
    md.append(
        "| **total** | "
        + " | ".join(f"**{tot[s]}**" for s in SPLITS)
        + f" | **{report.triplets}** |"
    )
    counts_md = "\n".join(md) + "\n"

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["category", *SOURCES, "lvis_fraction"])
    for c in cats:
        n = [report.sources[c][s] for s in SOURCES]
        w.writerow([c, *n, f"{n[0] / max(sum(n), 1):.4f}"])
    return counts_csv, counts_md, buf.getvalue()


def _save(fig, path: Path) -> None:
    # No "Software"/date metadata: identical input gives identical bytes.
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})


def _plots(report: StatsReport, areas: dict[str, list[float]], out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import numpy as np
    from matplotlib.figure import Figure

    cats = sorted(report.counts)
    x = np.arange(len(cats))
    height = max(4.0, 0.5 + 0.05 * len(cats))
    width = max(6.0, 1.5 + 0.28 * len(cats))
    colours = {"train": "#4c72b0", "val": "#dd8452", "test": "#55a868"}
    written = []

    fig = Figure(figsize=(width, height))
    ax = fig.add_subplot()
    bottom = np.zeros(len(cats))
    for s in SPLITS:
        v = np.array([report.counts[c][s] for c in cats], dtype=float)
        ax.bar(x, v, bottom=bottom, label=s, color=colours[s])
        bottom += v
    ax.set_xticks(x, cats, rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("triplets")
    ax.set_title(f"Triplets per category and split ({report.triplets} in all)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    _save(fig, out / "counts.png")
    written.append("counts.png")

    fig = Figure(figsize=(6.4, 4.0))
    ax = fig.add_subplot()
    data = [areas[s] for s in SPLITS if areas[s]]
    top = max((max(a) for a in data), default=1.0)
    bins = np.linspace(0.0, min(1.0, max(top * 1.05, 0.05)), 41)
    labels = [s for s in SPLITS if areas[s]]
    if data:
        ax.hist(data, bins=bins, label=labels, color=[colours[s] for s in labels], stacked=True)
        ax.legend()
    ax.set_xlabel("mask area (fraction of the image)")
    ax.set_ylabel("masks")
    ax.set_title("Mask area distribution")
    fig.tight_layout()
    _save(fig, out / "mask_area.png")
    written.append("mask_area.png")

    fig = Figure(figsize=(width, height))
    ax = fig.add_subplot()
    lv = np.array([report.sources[c]["lvis"] for c in cats], dtype=float)
    oi = np.array([report.sources[c]["openimages"] for c in cats], dtype=float)
    tot = np.maximum(lv + oi, 1)
    ax.bar(x, lv / tot, label="LVIS", color="#8172b3")
    ax.bar(x, oi / tot, bottom=lv / tot, label="Open Images", color="#ccb974")
    ax.set_xticks(x, cats, rotation=60, ha="right", fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_ylabel("share of masks")
    ax.set_title("Mask source per category")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    _save(fig, out / "source_mix.png")
    written.append("source_mix.png")

    fig = Figure(figsize=(6.4, 4.0))
    ax = fig.add_subplot()
    uses = sorted(report.clip_uses)
    ax.bar(uses, [report.clip_uses[u] for u in uses], color="#4c72b0", width=0.8)
    ax.set_xlabel("triplets using the clip")
    ax.set_ylabel("audio clips")
    ax.set_title(f"Audio clip reuse ({report.clips} distinct clips)")
    if uses and max(uses) <= 20:
        ax.set_xticks(range(1, max(uses) + 1))
    fig.tight_layout()
    _save(fig, out / "clip_reuse.png")
    written.append("clip_reuse.png")
    return written


def stats(
    manifest: str | os.PathLike[str], out: str | os.PathLike[str], *, progress: bool = True
) -> StatsReport:
    """Count a manifest's triplets and write tables and plots to ``out``.

    Args:
        manifest: ``manifest.jsonl`` (or ``.jsonl.gz``).
        out: Folder for the tables and plots (created if needed).
        progress: Show a progress bar while reading.

    Returns:
        The :class:`StatsReport`; ``report.summary()`` is a short text summary.

    Raises:
        ManifestError: if the manifest is missing or malformed.
        OutputError: if ``out`` is a file, lies below one, or cannot be written.
    """
    from avsynth.progress import progress as progress_bar
    from avsynth.storage.out_paths import check_out_dir

    if not Path(manifest).is_file():
        raise ManifestError(f"{manifest}: manifest not found")
    out = check_out_dir(out)
    counts: dict[str, Counter] = defaultdict(Counter)
    sources: dict[str, Counter] = defaultdict(Counter)
    clips: Counter = Counter()
    areas: dict[str, list[float]] = {s: [] for s in SPLITS}
    comps: dict[str, Counter] = defaultdict(Counter)
    n = 0
    for t in progress_bar(iter_manifest(manifest), desc="stats", unit="triplets", enabled=progress):
        n += 1
        counts[t.category][t.split] += 1
        sources[t.category][t.mask.source] += 1
        comps[t.composition][t.split] += 1
        for a in [c.audio for c in t.components] or [t.audio]:
            clips[(a.youtube_id, a.start_seconds)] += 1
        areas[t.split].append(float(t.mask.area_fraction))
    report = StatsReport(
        triplets=n,
        counts={c: {s: counts[c][s] for s in SPLITS} for c in sorted(counts)},
        sources={c: {s: sources[c][s] for s in SOURCES} for c in sorted(sources)},
        clips=len(clips),
        clip_uses=dict(sorted(Counter(clips.values()).items())),
        area_quantiles=_quantiles([a for s in SPLITS for a in areas[s]]),
    )
    if set(comps) - {"single"}:
        report.compositions = {
            c: {s: comps[c][s] for s in SPLITS} for c in COMPOSITIONS if c in comps
        }
    out.mkdir(parents=True, exist_ok=True)
    counts_csv, counts_md, sources_csv = _tables(report)
    atomic_write_text(out / "counts.csv", counts_csv)
    atomic_write_text(out / "counts.md", counts_md)
    atomic_write_text(out / "sources.csv", sources_csv)
    files = ["counts.csv", "counts.md", "sources.csv"]
    files += _plots(report, areas, out)
    if report.compositions:
        files += write_composition_stats(report.compositions, out)
    files.append("stats.json")
    report.files = files
    d = asdict(report)
    d["clip_uses"] = {str(k): v for k, v in report.clip_uses.items()}
    d["split_totals"] = report.split_totals
    if not report.compositions:
        del d["compositions"]  # a single-source manifest's stats.json is as it was
    text = json.dumps(d, indent=2, sort_keys=True, allow_nan=False)  # strict JSON
    atomic_write_text(out / "stats.json", text + "\n")
    return report


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
