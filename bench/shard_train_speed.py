"""Training speed from a WebDataset export (streamed) against the same manifest.

Builds (once, cached under ``--data``) a small world with :func:`export_speed.make_build`,
exports it with ``avsynth export --format webdataset``, then for each source (the manifest,
the export folder):

* **loader**: one pass over the ``train`` split through a ``DataLoader`` (batch 16, the
  model's items: decoded, resized, log-mel), no model: samples/s of the data path alone;
* **train**: ``avsmodel.train`` of ``sama_avs_tiny`` with the tiny recipe for ``--epochs``
  epochs: training samples per second of the whole run (validation included).

The two sources alternate ``--repeats`` times and the medians are printed (on a shared
machine the load changes from one run to the next).

Usage::

    PYTHONPATH=. .venv/bin/python bench/shard_train_speed.py [--data DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import time
from pathlib import Path


def loader_pass(source: Path, workers: int) -> tuple[int, float]:
    """``(samples, seconds)`` of one pass over the train split's items."""
    from torch.utils.data import DataLoader

    from avsmodel.data import ManifestDataset, ShardDataset, collate

    kw = dict(image_size=128, audio_examples=1)
    if source.is_dir():
        ds = ShardDataset(source, "train", shuffle_buffer=1000, **kw)
    else:
        ds = ManifestDataset(source, "train", **kw)
    t0 = time.perf_counter()
    n = 0
    for batch in DataLoader(ds, batch_size=16, num_workers=workers, collate_fn=collate):
        n += int(batch["image"].shape[0])
    return n, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("/tmp/avsmodel-shard-bench"))
    ap.add_argument("--triplets", type=int, default=300)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from export_speed import make_build

    import avsynth
    from avsmodel.training import train

    manifest = make_build(args.data, args.triplets, 160, 2.0)
    shards = args.data / "wds"
    if not (shards / "index.json").is_file():
        avsynth.export(manifest, shards, format="webdataset", shard_size=20, progress=False)
    runs: dict[str, list[dict[str, float]]] = {"manifest": [], "webdataset": []}
    for _ in range(args.repeats):  # alternate the two, so load changes hit both alike
        for name, source in (("manifest", manifest), ("webdataset", shards)):
            n, s = loader_pass(source, args.workers)
            out = args.data / f"run_{name}"
            shutil.rmtree(out, ignore_errors=True)
            t0 = time.perf_counter()
            r = train(source, model="sama_avs_tiny", out=out, epochs=args.epochs,
                      workers=args.workers, progress=False)  # fmt: skip
            seconds = time.perf_counter() - t0
            runs[name].append(
                {
                    "loader_samples_per_s": round(n / s, 1),
                    "train_samples_per_s": round(n * args.epochs / seconds, 1),
                    "train_seconds": round(seconds, 1),
                    "best_val_miou": round(r.best_miou, 4),
                }
            )
    rows = {
        name: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for name, rs in runs.items()
    }
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    for name, row in rows.items():
        print(name, row)


if __name__ == "__main__":
    main()
