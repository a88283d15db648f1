"""Which of the authors' training choices matter? Flip each alone on the tiny SAMA-AVS.

On a generated world of non-square images (so that ``resize`` matters) in which some
triplets hear a category that is not in view (an empty ground truth, so that ``iou_eps``
matters), and whose train split does not divide into full batches (so that ``drop_last``
matters), train ``sama_avs_tiny`` with the tiny recipe under:

* ``recommended``: the project's choices (``avsmodel/configs/recommended.yaml``'s values of the
  keys where the authors differ; these are the tiny recipe's own values);
* ``paper``: all the authors' values (``avsmodel/configs/paper.yaml``);
* one run per key, the recommended recipe with that key alone set to the authors' value.

Every run is scored on the test split under both ``score_size`` values (the ``score_size``
row needs no training of its own: it is the recommended run scored on the input grid).
Reports J (mIoU) and F (``dataset`` protocol) per run and the change in J from recommended.

Examples::

    .venv/bin/python bench/recipe_ablation.py --out /tmp/recipe_ablation --seeds 0,1,2 \
        --train 203 --epochs 8   # docs/reproduce.md's table
    .venv/bin/python bench/recipe_ablation.py --out /tmp/ra --train 200 --epochs 8 --seeds 0,1
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

#: The keys where the authors' code and the project's recommendation differ (training only;
#: ``score_size`` is an evaluation key and is measured by scoring, not by training).
TRAIN_KEYS = ("resize", "loss_size", "prompt_init", "iou_eps", "schedule_step", "drop_last")
ALL_KEYS = (*TRAIN_KEYS, "score_size")
# category -> (RGB colour, tone Hz)
LOOKS = {
    "dog": ((220, 40, 40), 440.0),
    "cat": ((40, 60, 220), 1500.0),
    "piano": ((40, 200, 60), 3200.0),
    "bell": ((230, 200, 40), 5200.0),
}
SHAPES = ((96, 176), (176, 96), (112, 144))  # (height, width): none square


def recipe_values(name: str) -> dict[str, Any]:
    """The bundled recipe ``name``'s values of :data:`ALL_KEYS`."""
    from avsmodel.recipe import read_yaml

    d = read_yaml(None, name=name)
    return {k: d[k] for k in ALL_KEYS}


def make_data(root: Path, *, train: int, val: int, test: int, seed: int, empty: float) -> Path:
    """A materialised manifest: two shapes of different categories per image, the clip of one
    of them (or, for a share ``empty`` of the triplets, of a category not in view)."""
    import numpy as np
    import soundfile as sf
    from PIL import Image

    from avsynth.manifest import AudioRef, ImageRef, ManifestWriter, MaskRef, Triplet

    rng = np.random.default_rng(seed)
    cats = list(LOOKS)
    for sub in ("images", "masks", "audio"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    records, k = [], 0
    for split, count in (("train", train), ("val", val), ("test", test)):
        for _ in range(count):
            h, w = SHAPES[int(rng.integers(len(SHAPES)))]
            a, b, c = rng.choice(len(cats), size=3, replace=False)
            img = (rng.integers(100, 140, size=(h, w, 3))).astype(np.uint8)
            yy, xx = np.mgrid[:h, :w]
            masks = []
            for j, ci in enumerate((a, b)):
                r = int(min(h, w) * 0.2)
                cy = int(rng.integers(r, h - r))
                cx = int(rng.integers(r, max(r + 1, w // 2 - r)) + j * (w // 2))
                m = (yy - cy) ** 2 + ((xx - cx) * (1.3 if j else 1.0)) ** 2 <= r * r
                img[m] = LOOKS[cats[ci]][0]
                masks.append(m)
            offscreen = rng.random() < empty
            cat = cats[c] if offscreen else cats[a]
            mask = np.zeros((h, w), bool) if offscreen else masks[0]
            name = f"t{k:05d}"
            Image.fromarray(img).save(root / "images" / f"{name}.png")
            Image.fromarray(mask.astype(np.uint8) * 255).save(root / "masks" / f"{name}.png")
            t = np.arange(32000) / 16000.0
            wave = 0.3 * np.sin(2 * np.pi * LOOKS[cat][1] * t) + 0.02 * rng.standard_normal(t.size)
            sf.write(root / "audio" / f"{name}.wav", wave, 16000, subtype="PCM_16")
            ys, xs = np.nonzero(mask)
            bbox = (0.0, 0.0, 0.0, 0.0)
            if ys.size:
                bbox = (xs.min() / w, ys.min() / h, (np.ptp(xs) + 1) / w, (np.ptp(ys) + 1) / h)
            records.append(
                Triplet(
                    id=name,
                    split=split,
                    category=cat,
                    image=ImageRef(
                        f"images/{name}.png", "manifest", "lvis", str(k), "train", w, h, "CC BY 4.0"
                    ),
                    mask=MaskRef(
                        f"masks/{name}.png",
                        "manifest",
                        "lvis",
                        str(10**6 + k),
                        cat,
                        tuple(float(v) for v in bbox),
                        float(mask.mean()),
                    ),
                    audio=AudioRef(
                        f"audio/{name}.wav",
                        "manifest",
                        "vggsound",
                        f"yt{k:06d}",
                        0,
                        cat,
                        "train",
                        16000,
                        2.0,
                        "CC BY 4.0",
                    ),
                )  # fmt: skip
            )
            k += 1
    path = root / "manifest.jsonl"
    with ManifestWriter(path) as wr:
        wr.write_all(records)
    return path


def runs() -> dict[str, dict[str, Any]]:
    """Run name -> the recipe keys it sets (over the tiny recipe)."""
    rec, paper = recipe_values("recommended"), recipe_values("paper")
    train_rec = {k: rec[k] for k in TRAIN_KEYS}
    out = {"recommended": train_rec, "paper": {k: paper[k] for k in TRAIN_KEYS}}
    for k in TRAIN_KEYS:
        out[f"flip {k}"] = train_rec | {k: paper[k]}
    return out


def run(out: Path, *, seed: int, train: int, val: int, test: int, epochs: int,
        empty: float, only: list[str] | None = None) -> dict[str, Any]:  # fmt: skip
    """Train and score every run of :func:`runs` for one seed; results are kept per run in
    ``out/seed{seed}/results.json`` (a rerun skips the runs already there)."""
    from avsmodel.evaluation import evaluate
    from avsmodel.training import train as train_model

    base = out / f"seed{seed}"
    data = base / "data"
    manifest = data / "manifest.jsonl"
    if not manifest.is_file():
        make_data(data, train=train, val=val, test=test, seed=seed, empty=empty)
    res_path = base / "results.json"
    results = json.loads(res_path.read_text()) if res_path.is_file() else {}
    for name, keys in runs().items():
        if name in results or (only and name not in only):
            continue
        t0 = time.perf_counter()
        folder = base / ("run_" + name.replace(" ", "_"))
        r = train_model(manifest, model="sama_avs_tiny", out=folder, config=dict(keys),
                        epochs=epochs, seed=seed, progress=False, overwrite=True)  # fmt: skip
        row: dict[str, Any] = {"keys": keys, "train_s": round(time.perf_counter() - t0, 1)}
        for size in ("ground_truth", "input"):
            ev = evaluate(r.last_path, manifest=manifest, split="test", score_size=size,
                          progress=False)  # fmt: skip
            row[size] = {"miou": ev["miou"], "f": ev["fscore"]["dataset"], "n": ev["n"]}
        results[name] = row
        res_path.write_text(json.dumps(results, indent=1) + "\n")
        j, j_in = row["ground_truth"]["miou"], row["input"]["miou"]
        print(f"seed {seed} {name}: J {j:.4f} (input grid {j_in:.4f}) in {row['train_s']} s")
    return results


def gradient_cosines(ckpt: Path, manifest: Path, *, batches: int = 4) -> dict[str, float]:
    """Cosine between the trainable-parameter gradients of two losses, on the first train
    batches of ``manifest`` with the weights of ``ckpt``: ``loss_size`` mask vs input, and
    ``iou_eps`` 1 vs 0 (the authors' loss is the second of each pair)."""
    import torch
    from torch.utils.data import DataLoader

    from avsmodel.data import ManifestDataset, collate
    from avsmodel.pretrained.build import build_from_checkpoint
    from avsmodel.task import SegmentationTask

    net, _ = build_from_checkpoint(ckpt)
    net.train()
    ds = ManifestDataset(manifest, "train", image_size=net.image_size, audio_examples=1,
                         input_masks=True)  # fmt: skip
    params = [p for p in net.parameters() if p.requires_grad]

    def grad(**kw: Any) -> torch.Tensor:
        out = []
        for i, b in enumerate(DataLoader(ds, batch_size=16, collate_fn=collate)):
            if i == batches:
                break
            net.zero_grad()
            SegmentationTask(net, **kw)(b)[0].backward()
            out.append(torch.cat([p.grad.flatten() for p in params]))
        return torch.cat(out).double()

    def cos(a: torch.Tensor, b: torch.Tensor) -> float:
        return float(a @ b / (a.norm() * b.norm()))

    return {
        "loss_size mask vs input": cos(grad(loss_size="mask"), grad(loss_size="input")),
        "iou_eps 1 vs 0": cos(grad(iou_eps=1.0), grad(iou_eps=0.0)),
    }


def table(per_seed: dict[int, dict[str, Any]]) -> str:
    """Markdown table: J and F per run (mean over seeds), and the change in J."""
    import statistics

    def mean(name: str, size: str, key: str) -> float:
        return statistics.fmean(r[name][size][key] for r in per_seed.values())

    ref = mean("recommended", "ground_truth", "miou")
    lines = [
        "| run | J | ΔJ vs recommended | F | J on the input grid |",
        "|---|---|---|---|---|",
    ]
    names = list(next(iter(per_seed.values())))
    for name in names:
        j = mean(name, "ground_truth", "miou")
        lines.append(
            f"| {name} | {j:.4f} | {j - ref:+.4f} | {mean(name, 'ground_truth', 'f'):.4f} | "
            f"{mean(name, 'input', 'miou'):.4f} |"
        )
    j_in = mean("recommended", "input", "miou")
    f_in = mean("recommended", "input", "f")
    name = "flip score_size (recommended run, scored on the input grid)"
    lines.append(f"| {name} | {j_in:.4f} | {j_in - ref:+.4f} | {f_in:.4f} | {j_in:.4f} |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--seeds", default="0")
    p.add_argument("--train", type=int, default=203, help="train triplets (not a multiple of 16)")
    p.add_argument("--val", type=int, default=32)
    p.add_argument("--test", type=int, default=96)
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--empty", type=float, default=0.2, help="share of empty-mask triplets")
    p.add_argument("--only", default="", help="comma-separated run names (default: all)")
    a = p.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    per_seed = {}
    for s in (int(v) for v in a.seeds.split(",")):
        only = [v for v in a.only.split(",") if v] or None
        per_seed[s] = run(a.out, seed=s, train=a.train, val=a.val, test=a.test, epochs=a.epochs,
                          empty=a.empty, only=only)  # fmt: skip
    if all(len(r) == len(runs()) for r in per_seed.values()):
        print(table(per_seed))
    s = next(iter(per_seed))
    base = a.out / f"seed{s}"
    if (base / "run_recommended" / "last.pt").is_file():
        cos = gradient_cosines(
            base / "run_recommended" / "last.pt", base / "data" / "manifest.jsonl"
        )
        print("gradient cosines (recommended run's weights):", json.dumps(cos))


if __name__ == "__main__":
    main()
