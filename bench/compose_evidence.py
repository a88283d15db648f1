"""Does pretraining on composed triplets help on multi-source / off-screen data?

On a generated world (:func:`avsynth.testing.world.make_world`, with Open Images'
human-verified image labels) whose images hold one object (half of them, by default, as in
most real photos) or 2-3 objects of different categories, train the tiny SAMA-AVS twice,
same seed, same number of steps (same train size, batch and epochs):

* ``single``: on an ``avsynth build`` with ``--compose single=1`` (today's build);
* ``composed``: on a build of the same world with ``--compose COMPOSE``;

then evaluate both on held-out test sets of every composition, built from a *second world*
(another seed: other images, other clips, same categories, looks and kinds of sound) with
``--compose single=0.25,multi=0.25,offscreen=0.25,partial=0.25``, so nothing of the test set
was seen in training. Reports mIoU (J), F and the mean predicted area per composition, and the
build time of the composed vs the single build.

Examples::

    .venv/bin/python bench/compose_evidence.py --out /tmp/compose_ev --seeds 0,1,2 \
        --compose single=0.8,multi=0.1,offscreen=0.05,partial=0.05   # the docs' table
    .venv/bin/python bench/compose_evidence.py --out /tmp/ev --train 400 --epochs 6 \\
        --compose single=0.6,multi=0.25,offscreen=0.1,partial=0.05
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

COMPOSE = "single=0.5,multi=0.3,offscreen=0.1,partial=0.1"
# Share of the worlds' images holding one object (the rest hold 2-3): in most real photos of
# a mapped category it is the only mapped object in view.
ONE_OBJECT_FRACTION = 0.5
EVAL_COMPOSE = "single=0.25,multi=0.25,offscreen=0.25,partial=0.25"


def run(
    out: str | os.PathLike[str],
    *,
    n_images: int = 300,
    train: int = 600,
    val: int = 60,
    test: int = 200,
    epochs: int = 12,
    compose: str = COMPOSE,
    seed: int = 0,
    device: str | None = None,
    progress: bool = False,
    image_size: int | None = None,
    image_side: int = 128,
    one_object_fraction: float = ONE_OBJECT_FRACTION,
    test_images: int | None = None,
) -> dict[str, Any]:
    """Build, train both models, evaluate per composition; returns the numbers.

    ``image_size`` overrides the tiny model's input size (default 128; the slow test uses 64
    to stay fast); ``image_side`` is the generated images' side in pixels;
    ``one_object_fraction`` the share of the worlds' images holding a single object;
    ``test_images`` the test world's LVIS and Open Images images each (default ``n_images``;
    a larger test world allows larger, less noisy test sets: its folders then carry the
    number, so the default test world is kept).
    """
    import avsynth
    from avsmodel.evaluation import evaluate
    from avsmodel.training import train as train_model
    from avsynth.testing.world import make_world

    out = Path(out)
    kw = {"n_lvis_images": n_images, "n_openimages_images": n_images, "image_labels": True,
          "full_vocabulary": False, "clip_seconds": 4.0, "image_size": image_side,
          "one_object_fraction": one_object_fraction}  # fmt: skip
    wa = make_world(out / "world_train", seed=seed, **kw)
    tag = "" if test_images in (None, n_images) else f"_{test_images}"
    kw_test = kw | ({"n_lvis_images": test_images, "n_openimages_images": test_images}
                    if tag else {})  # fmt: skip
    wb = make_world(out / f"world_test{tag}", seed=seed + 1000, **kw_test)
    cmap = wa.write_category_map(out / "map.yaml")

    def build(w, name: str, comp: str, sizes: tuple[int, int, int]) -> tuple[Path, float]:
        t = time.perf_counter()
        r = avsynth.build(cmap, out=out / name, vggsound=w.vggsound_root, lvis=w.lvis_root,
                          openimages=w.openimages_root, split_sizes=sizes, seed=seed,
                          clip_seconds=4.0, compose=comp, progress=progress)  # fmt: skip
        return r.manifest, time.perf_counter() - t

    import shutil

    times: dict[str, float] = {}
    for name in ("build_single", "build_composed"):  # time fresh builds, not resumed ones
        shutil.rmtree(out / name, ignore_errors=True)
    m_single, times["build_single_s"] = build(wa, "build_single", "single=1", (train, val, 0))
    m_comp, times["build_composed_s"] = build(wa, "build_composed", compose, (train, val, 0))
    m_test, _ = build(wb, f"build_test{tag}", EVAL_COMPOSE, (0, 0, test))
    results: dict[str, Any] = {
        "config": {
            "n_images": n_images,
            "train": train,
            "val": val,
            "test": test,
            "epochs": epochs,
            "compose": compose,
            "seed": seed,
            "one_object_fraction": one_object_fraction,
            "test_images": test_images or n_images,
        },  # fmt: skip
        "seconds": times,
    }
    config = None
    if image_size is not None:
        config = {"model": {"attention": "sdpa", "image_size": image_size}}
    for name, manifest in (("single", m_single), ("composed", m_comp)):
        t = time.perf_counter()
        res = train_model(manifest, model="sama_avs_tiny", out=out / f"run_{name}",
                          epochs=epochs, seed=seed, resume=True, progress=progress,
                          device=device, config=config)  # fmt: skip
        times[f"train_{name}_s"] = time.perf_counter() - t
        ev = evaluate(res.last_path, manifest=m_test, split="test", progress=progress)
        results[name] = {"overall": {k: ev[k] for k in ("miou", "fscore", "n")},
                         "per_composition": ev["per_composition"]}  # fmt: skip
    return results


COMPS = ("single", "multi", "offscreen", "partial")


def _mean(vals: list[float | None]) -> float | None:
    """Mean of the values (None where a composition has none, e.g. an F of empty targets)."""
    vals = [v for v in vals if v is not None]
    return sum(vals) / len(vals) if vals else None


def run_seeds(out: str | os.PathLike[str], seeds: list[int], **kw: Any) -> dict[str, Any]:
    """:func:`run` once per seed (worlds, builds and training all follow the seed) under
    ``out/seed{N}``, and the mean per model and composition over the seeds."""
    runs = {s: run(Path(out) / f"seed{s}", seed=s, **kw) for s in seeds}
    mean: dict[str, Any] = {}
    for name in ("single", "composed"):
        mean[name] = {
            c: {k: _mean([r[name]["per_composition"][c].get(k) for r in runs.values()])
                for k in ("miou", "fscore", "pred_area")}
            for c in COMPS
        }  # fmt: skip
    return {"seeds": runs, "mean": mean}


def table(r: dict[str, Any]) -> str:
    """Markdown table: mIoU (and offscreen predicted area) per composition for both models;
    with several seeds, the mean and each seed's value."""
    runs = r["seeds"] if "seeds" in r else {r["config"]["seed"]: r}
    lines = [
        "| trained on | " + " | ".join(f"{c} mIoU" for c in COMPS) + " | offscreen area |",
        "|---|" + "---:|" * (len(COMPS) + 1),
    ]

    def cell(name: str, c: str, k: str) -> str:
        vals = [x[name]["per_composition"][c][k] for x in runs.values()]
        mean = sum(vals) / len(vals)
        return f"{mean:.3f}" + (
            f" ({', '.join(f'{v:.2f}' for v in vals)})" if len(vals) > 1 else ""
        )

    for name in ("single", "composed"):
        cells = [cell(name, c, "miou") for c in COMPS]
        lines.append(
            f"| {name} | " + " | ".join(cells) + f" | {cell(name, 'offscreen', 'pred_area')} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="work folder (worlds, builds, runs)")
    ap.add_argument("--n-images", type=int, default=300, help="LVIS and Open Images images each")
    ap.add_argument("--train", type=int, default=600, help="train triplets of each model")
    ap.add_argument("--val", type=int, default=60)
    ap.add_argument("--test", type=int, default=800, help="test triplets (a quarter each)")
    ap.add_argument("--epochs", type=int, default=24)
    ap.add_argument("--compose", default=COMPOSE, help="the composed model's mix")
    ap.add_argument("--seeds", default="0", help="comma-separated seeds (mean reported)")
    ap.add_argument("--one-object-fraction", type=float, default=ONE_OBJECT_FRACTION,
                    help="share of the worlds' images holding one object")  # fmt: skip
    ap.add_argument(
        "--test-images",
        type=int,
        default=1200,
        help="test world's images per source (enough for --test)",
    )
    ap.add_argument("--device", default=None, help="cpu or cuda (default: cuda if available)")
    ap.add_argument("--json", action="store_true", help="print the numbers as JSON")
    a = ap.parse_args()
    seeds = [int(x) for x in a.seeds.split(",")]
    r = run_seeds(a.out, seeds, n_images=a.n_images, train=a.train, val=a.val, test=a.test,
                  epochs=a.epochs, compose=a.compose, device=a.device, progress=not a.json,
                  one_object_fraction=a.one_object_fraction,
                  test_images=a.test_images)  # fmt: skip
    secs = {s: x["seconds"] for s, x in r["seeds"].items()}
    print(json.dumps(r, indent=2) if a.json else table(r) + "\n" + json.dumps(secs))


if __name__ == "__main__":
    main()
