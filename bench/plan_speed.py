"""Time ``avsynth build --plan-only`` on full-scale metadata (see bench/make_full_metadata.py).

Runs :func:`avsynth.build` with ``plan_only=True`` on ``bench/_data`` and the shipped category
map, and reports wall time per stage (map, LVIS parse, Open Images parse, VGGSound parse,
plan, write, waiting for the input fingerprints), the total, the peak RSS of the process and
the load average (the CPU may be shared). ``--hash`` also times hashing the metadata files
alone (sequentially, in the foreground) to show what fingerprinting costs.

Usage::

    .venv/bin/python bench/make_full_metadata.py          # once, ~2 GB under bench/_data
    .venv/bin/python bench/plan_speed.py [--json] [--hash] [--out /tmp/plan46]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
STAGES = (
    "map",
    "vggsound",
    "map_check",
    "lvis",
    "openimages",
    "plan",
    "fingerprint_wait",
    "write",
)


def run(data: Path, out: Path, categories: Path, *, hash_files: bool) -> dict:
    import avsynth
    from avsynth.planning.fingerprint import file_fingerprint, metadata_files

    load_before = os.getloadavg()
    t0 = time.perf_counter()
    report = avsynth.build(
        categories,
        out=out,
        vggsound=data / "vggsound",
        lvis=data / "lvis",
        openimages=data / "openimages",
        plan_only=True,
        progress=False,
    )
    total = time.perf_counter() - t0
    result = {
        "stages_s": {k: round(report.timings.get(k, 0.0), 2) for k in STAGES},
        "total_s": round(total, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "triplets": sum(report.written.values()),
        "categories": len(report.plan.counts),
        "left_out": report.plan.left_out,
        "masks_considered": sum(report.plan.available.values()) + sum(report.plan.skips.values()),
        "load_avg_1m_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
    }
    if hash_files:
        roots = {k: str(data / k) for k in ("lvis", "openimages", "vggsound")}
        hashed = {}
        for files in metadata_files(roots).values():
            for p in files:
                t = time.perf_counter()
                fp = file_fingerprint(p)
                hashed[p.name] = {
                    "mb": round(fp["bytes"] / 1e6, 1),
                    "s": round(time.perf_counter() - t, 2),
                }
        result["hash_alone"] = hashed
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description="Time avsynth build --plan-only at full scale.")
    ap.add_argument("--data", type=Path, default=HERE / "_data")
    ap.add_argument("--categories", type=Path, default=HERE.parent / "category_maps" / "46.yaml")
    ap.add_argument("--out", type=Path, default=None, help="output folder (default: a temp dir)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ap.add_argument("--hash", action="store_true", help="also time hashing the inputs alone")
    args = ap.parse_args()
    if not (args.data / "lvis" / "lvis_v1_train.json").is_file():
        sys.exit(f"no metadata under {args.data}: run bench/make_full_metadata.py first")
    with tempfile.TemporaryDirectory() as tmp:
        res = run(args.data, args.out or Path(tmp) / "plan", args.categories, hash_files=args.hash)
    if args.json:
        print(json.dumps(res, indent=2))
        return
    print(f"{'stage':<18}{'wall s':>8}")
    for k, v in res["stages_s"].items():
        print(f"{k:<18}{v:>8.2f}")
    print(f"{'total':<18}{res['total_s']:>8.2f}")
    print(
        f"peak RSS {res['peak_rss_mb']:.0f} MB; {res['triplets']} triplets over "
        f"{res['categories']} categories; load avg (1 min) before/after "
        f"{res['load_avg_1m_before_after']} on {res['cpus']} CPUs"
    )
    if res["left_out"]:
        print("left out:", res["left_out"])
    for name, h in res.get("hash_alone", {}).items():
        print(f"hash alone: {name} {h['mb']} MB in {h['s']} s")


if __name__ == "__main__":
    main()
