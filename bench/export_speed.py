"""Size and time of ``avsynth export`` for a ~1,000-triplet build, in each format.

Generates (once, cached under ``--data``) a world with :func:`avsynth.testing.world.make_world`
(square JPEG images of ``--image-size`` pixels, 16 kHz WAV clips of ``--clip-seconds``),
builds ``--triplets`` triplets from it with :func:`avsynth.build` (80/10/10 %), then exports
the build with :func:`avsynth.exporters.export` in each format (``hf``, ``webdataset``,
``avsbench``) and times it. For the shard formats it also times one pass over every sample as
its library reads it: ``webdataset.WebDataset`` (raw bytes) and ``datasets.load_dataset(...,
streaming=True)`` (images decoded by PIL, audio left as bytes). Sizes are the bytes of every
file written; the build's own media is given for comparison.

Usage::

    .venv/bin/python bench/export_speed.py [--data /tmp/avsynth-export-bench] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path


def folder_bytes(root: Path) -> tuple[int, int]:
    """``(bytes, files)`` below ``root``."""
    files = [p for p in root.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files), len(files)


def make_build(data: Path, triplets: int, image_size: int, clip_seconds: float) -> Path:
    """The manifest of a cached build of ``triplets`` triplets under ``data``."""
    import avsynth
    from avsynth.testing.world import make_world

    manifest = data / "build" / "manifest.jsonl"
    if manifest.is_file():
        return manifest
    w = make_world(data / "world", n_lvis_images=triplets // 2 + 100,
                   n_openimages_images=triplets // 2 + 100, clips_per_label=40,
                   image_size=image_size, clip_seconds=clip_seconds,
                   full_vocabulary=False)  # fmt: skip
    cmap = w.write_category_map(data / "map.yaml")
    n_val = triplets // 10
    avsynth.build(cmap, out=data / "build", vggsound=w.vggsound_root, lvis=w.lvis_root,
                  openimages=w.openimages_root, split_sizes=(triplets - 2 * n_val, n_val, n_val),
                  clip_seconds=clip_seconds, progress=False)  # fmt: skip
    return manifest


def read_wds(out: Path) -> int:
    import webdataset as wds

    index = json.loads((out / "index.json").read_text())
    urls = [str(out / s["url"]) for e in index["splits"].values() for s in e["shards"]]
    return sum(1 for _ in wds.WebDataset(urls, shardshuffle=False))


def read_hf(out: Path) -> int:
    from datasets import Audio, load_dataset

    ds = load_dataset(str(out), streaming=True).cast_column("audio", Audio(decode=False))
    n = 0
    for split in ds:
        for row in ds[split]:
            row["image"].load()
            n += 1
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("/tmp/avsynth-export-bench"))
    ap.add_argument("--triplets", type=int, default=1000)
    ap.add_argument("--image-size", type=int, default=480)
    ap.add_argument("--clip-seconds", type=float, default=10.0)
    ap.add_argument("--shard-size", type=int, default=500)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from avsynth.exporters import export

    t0 = time.perf_counter()
    manifest = make_build(args.data, args.triplets, args.image_size, args.clip_seconds)
    build_s = time.perf_counter() - t0
    media = sum(folder_bytes(manifest.parent / d)[0] for d in ("images", "masks", "audio"))
    n = sum(1 for line in manifest.read_text().splitlines() if line.strip())
    result: dict = {"triplets": n, "build_media_bytes": media, "build_seconds": build_s,
                    "image_size": args.image_size, "clip_seconds": args.clip_seconds,
                    "shard_size": args.shard_size, "formats": {}}  # fmt: skip
    readers = {"hf": read_hf, "webdataset": read_wds}
    for fmt in ("hf", "webdataset", "avsbench"):
        out = args.data / f"export-{fmt}"
        shutil.rmtree(out, ignore_errors=True)
        t0 = time.perf_counter()
        export(manifest, out, format=fmt, shard_size=args.shard_size, progress=False)
        seconds = time.perf_counter() - t0
        size, files = folder_bytes(out)
        row = {"seconds": seconds, "triplets_per_s": n / seconds, "bytes": size, "files": files}
        if fmt in readers:
            t0 = time.perf_counter()
            assert readers[fmt](out) == n
            row["read_seconds"] = time.perf_counter() - t0
        result["formats"][fmt] = row
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{n} triplets, build media {media / 1e6:.1f} MB (build {build_s:.0f} s)")
    for fmt, r in result["formats"].items():
        read = f", read {r['read_seconds']:.1f} s" if "read_seconds" in r else ""
        print(f"{fmt:>10}: {r['seconds']:6.1f} s ({r['triplets_per_s']:.0f} triplets/s), "
              f"{r['bytes'] / 1e6:7.1f} MB in {r['files']} files{read}")  # fmt: skip


if __name__ == "__main__":
    main()
