"""The end-to-end demo behind ``make demo``: world -> dataset -> training -> evaluation.

``avsmodel demo --out demo_out`` (or ``python -m avsmodel.demo --out demo_out``) runs, on CPU
in a few minutes:

1. ``avsynth.testing.world.make_world``: bundled sample sources in the real LVIS / Open
   Images / VGGSound layouts (images with 2-3 objects of different categories, each category
   with its own look and its own sound).
2. ``avsynth.build`` with the shipped 46-category map (``--categories 46``, the copy of
   ``category_maps/46.yaml`` packaged in avsynth): the map's categories that the world lacks
   are reported and left out.
3. ``avsynth.stats``: counts tables and plots of the manifest.
4. ``avsmodel.train`` of ``sama_avs_tiny`` (configs/tiny.yaml).
5. ``avsmodel.evaluate`` on the test split with matched and with mismatched audio.
6. ``avsmodel.predict`` overlays for a few test triplets, and a grid PNG.

Reruns are idempotent: finished stages (world, build, stats, training) are kept.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from avsynth.storage.atomic import atomic_path, atomic_write_text

#: The category map the demo builds with: the curated map shipped inside avsynth (so the demo
#: also runs from an installed wheel, without the source tree's ``category_maps/``).
DEFAULT_MAP = "46"
#: Size of the grid's panels: predict's overlays are drawn at this size, so the captions keep
#: their height (16 px) in the grid.
OVERLAY_PX = 384

logger = logging.getLogger(__name__)


def _grid(rows: list[list[Any]], out: Path) -> Path:
    from PIL import Image

    cw = max(im.width for r in rows for im in r)
    ch = max(im.height for r in rows for im in r)
    pad = 4
    grid = Image.new(
        "RGB", (len(rows[0]) * (cw + pad) + pad, len(rows) * (ch + pad) + pad), (255, 255, 255)
    )
    for i, r in enumerate(rows):
        for j, im in enumerate(r):
            grid.paste(im, (pad + j * (cw + pad), pad + i * (ch + pad)))
    with atomic_path(out) as tmp:
        grid.save(tmp)
    return out


def _predictions(ckpt: Path, manifest: Path, out: Path, n: int, seed: int) -> Path:
    """Overlays (ground truth | matched audio | mismatched audio) for n test triplets."""
    from PIL import Image

    from avsmodel.data import ManifestDataset
    from avsmodel.data.dataset import read_mask, read_rgb
    from avsmodel.inference import predict, render_overlay

    ds = ManifestDataset(
        manifest,
        "test",
        image_size=128,
        audio_examples=1,
        mismatched=True,
        seed=seed,
        audio_cache=0,
    )
    out.mkdir(parents=True, exist_ok=True)
    picks, seen = [], set()
    for i, t in enumerate(ds.records):  # one triplet per category first, then the rest
        if t.category not in seen:
            picks.append(i)
            seen.add(t.category)
    picks += [i for i in range(len(ds.records)) if i not in picks]
    rows = []
    for i in picks[:n]:
        t = ds.records[i]
        other = ds.records[ds.audio_index(i)]
        img_path, audio_path = ds.path(t.image), ds.path(t.audio)
        img, gt = read_rgb(img_path), read_mask(ds.path(t.mask))
        cells = [render_overlay(img, gt, f"ground truth: {t.category}", scale_to=OVERLAY_PX)]
        for tag, a, who in (
            ("matched", audio_path, t),
            ("mismatched", ds.path(other.audio), other),
        ):
            r = predict(
                ckpt,
                img_path,
                a,
                out / f"{t.id}_{tag}_mask.png",
                out / f"{t.id}_{tag}.png",
                label=f"audio: {who.audio.label} ({tag})",
            )
            with Image.open(r["overlay"]) as im:
                cells.append(im.convert("RGB").resize(cells[0].size))
        rows.append(cells)
    return _grid(rows, out / "grid.png")


def _world_stage(
    world_dir: Path, n_images: int, clips_per_label: int, seed: int, log: Callable[[str], None]
) -> Path:
    """Stage 1: the synthetic world (kept when a previous demo finished it)."""
    from avsynth.testing.world import make_world

    done = world_dir / ".done"
    if not done.is_file():
        log(f"[1/6] world: {n_images} LVIS + {n_images} Open Images images, sounds -> {world_dir}")
        make_world(
            world_dir,
            n_lvis_images=n_images,
            n_openimages_images=n_images,
            clips_per_label=clips_per_label,
            seed=seed,
        )
        done.write_text("ok\n")
    else:
        log(f"[1/6] world: kept {world_dir}")
    return world_dir


def _build_stage(
    build_dir: Path,
    world_dir: Path,
    category_map: str | os.PathLike[str] | None,
    split_sizes: tuple[int, int, int],
    seed: int,
    progress: bool,
    log: Callable[[str], None],
) -> tuple[Path, dict[str, Any]]:
    """Stage 2: the build (kept when one is there); its manifest and left-out categories."""
    import avsynth
    from avsynth.catmap import resolve_map_path

    manifest = build_dir / "manifest.jsonl"
    cmap = resolve_map_path(DEFAULT_MAP if category_map is None else category_map)
    if not manifest.is_file():
        log(f"[2/6] build: {cmap} -> {build_dir}")
        rep = avsynth.build(
            cmap,
            out=build_dir,
            vggsound=world_dir / "vggsound",
            lvis=world_dir / "lvis",
            openimages=world_dir / "openimages",
            split_sizes=split_sizes,
            seed=seed,
            progress=progress,
        )
        log(rep.summary())
        return manifest, dict(rep.plan.left_out)
    log(f"[2/6] build: kept {manifest}")
    info = json.loads((build_dir / "build_info.json").read_text())
    return manifest, info.get("left_out", {})


def run_demo(
    out: str | os.PathLike[str],
    *,
    n_images: int = 200,
    clips_per_label: int = 12,
    split_sizes: tuple[int, int, int] = (600, 100, 100),
    epochs: int | None = None,
    n_predictions: int = 6,
    seed: int = 0,
    category_map: str | os.PathLike[str] | None = None,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run every stage of the demo below ``out``; returns the numbers (also ``summary.json``).

    Args:
        out: Demo folder (``world/``, ``build/``, ``stats/``, ``run/``, ``predictions/``).
        n_images: Images per source (LVIS and Open Images) in the world.
        clips_per_label: VGGSound clips per label in the world.
        split_sizes: (train, val, test) triplets of the build.
        epochs: Training epochs (default: configs/tiny.yaml).
        n_predictions: Test triplets drawn in the overlay grid.
        seed: Seed of world, build and training.
        category_map: Map to build with: a path or a shipped map's name (default ``46``).
        progress: Show progress bars.
        log: Where stage messages go (default: this module's logger, at INFO).
    """
    import avsynth
    from avsmodel.evaluation import evaluate
    from avsmodel.training import train

    log = logger.info if log is None else log
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    times: dict[str, float] = {}

    t = time.monotonic()
    world_dir = _world_stage(out / "world", n_images, clips_per_label, seed, log)
    times["world"] = time.monotonic() - t

    t = time.monotonic()
    manifest, left_out = _build_stage(
        out / "build", world_dir, category_map, split_sizes, seed, progress, log
    )
    times["build"] = time.monotonic() - t

    t = time.monotonic()
    stats_dir = out / "stats"
    log(f"[3/6] stats -> {stats_dir}")
    srep = avsynth.stats(manifest, stats_dir, progress=progress)
    times["stats"] = time.monotonic() - t

    run_dir = out / "run"
    t = time.monotonic()
    log(f"[4/6] train sama_avs_tiny -> {run_dir}")
    over = {} if epochs is None else {"epochs": epochs}
    res = train(
        manifest,
        model="sama_avs_tiny",
        out=run_dir,
        resume=True,
        progress=progress,
        seed=seed,
        **over,
    )
    times["train"] = time.monotonic() - t

    t = time.monotonic()
    log("[5/6] evaluate on test: matched and mismatched audio")
    ckpt = run_dir / "best.pt"
    ev = {
        a: evaluate(ckpt, manifest=manifest, split="test", audio=a, progress=progress)
        for a in ("matched", "mismatched")
    }
    times["eval"] = time.monotonic() - t

    t = time.monotonic()
    log(f"[6/6] predictions -> {out / 'predictions'}")
    grid = _predictions(ckpt, manifest, out / "predictions", n_predictions, seed)
    times["predict"] = time.monotonic() - t
    times["total"] = time.monotonic() - t0

    summary = {
        "manifest": str(manifest),
        "categories_left_out": len(left_out),
        "categories_used": sorted(srep.counts),
        "triplets": srep.split_totals,
        "best_val_miou": res.best_miou,
        "best_epoch": res.best_epoch,
        "test_matched": _scores(ev["matched"]),
        "test_mismatched": _scores(ev["mismatched"]),
        "per_category_matched": ev["matched"].get("per_category", {}),
        "seconds": {k: round(v, 1) for k, v in times.items()},
        "files": {
            "stats": str(stats_dir),
            "metrics": str(run_dir / "metrics.jsonl"),
            "curves": str(run_dir / "curves.png"),
            "checkpoint": str(ckpt),
            "grid": str(grid),
        },
    }
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2) + "\n")
    log(_report(summary, left_out))
    return summary


def _scores(r: dict[str, Any]) -> dict[str, Any]:
    """mIoU, the batch-independent F, all three F protocols and the frame count."""
    return {
        "miou": r["miou"],
        "fscore": r["fscore"]["dataset"],
        "fscores": r["fscore"],
        "n": r["n"],
    }


def _report(s: dict[str, Any], left_out: dict[str, str]) -> str:
    m, mm = s["test_matched"], s["test_mismatched"]
    lines = [
        "",
        "=== demo finished in {:.0f} s (training {:.0f} s) ===".format(
            s["seconds"]["total"], s["seconds"]["train"]
        ),
        f"dataset   {s['manifest']}: train/val/test = "
        f"{s['triplets']['train']}/{s['triplets']['val']}/{s['triplets']['test']} triplets of "
        f"{len(s['categories_used'])} categories ({', '.join(s['categories_used'])}); "
        f"{s['categories_left_out']} map categories are absent from the world and were left out"
        + (f" (e.g. {next(iter(left_out))}: {left_out[next(iter(left_out))]})" if left_out else ""),
        f"stats     {s['files']['stats']}  (counts.md, plots)",
        f"training  {s['files']['metrics']}, {s['files']['curves']}, best val mIoU "
        f"{s['best_val_miou']:.3f} at epoch {s['best_epoch']}",
        f"test      matched audio:    mIoU {m['miou']:.3f}  F {m['fscore']:.3f}  ({m['n']} images)",
        f"          mismatched audio: mIoU {mm['miou']:.3f}  F {mm['fscore']:.3f}",
        f"overlays  {s['files']['grid']}  (columns: ground truth | prediction with the image's "
        "own sound | with another category's sound)",
        "",
        "What the numbers mean: every test image holds 2-3 objects of different categories;",
        "only the sound says which one to segment. High mIoU with the matched sound and a",
        "collapse with a mismatched sound show that the model listens; a model that ignored",
        "the audio would score about the same on both.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":  # the demo is a command now; this module is its library
    sys.exit(
        "note: `python -m avsmodel.demo` became `avsmodel demo` "
        "(or `python -m avsmodel.cli demo`) with the same options"
    )
