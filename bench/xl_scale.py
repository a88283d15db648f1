"""What a category map yields at full metadata scale: triplets per category, the split sizes it
supports, and the plan time (``avsynth build --plan-only``).

Runs :func:`avsynth.build` with ``plan_only=True`` on ``bench/_data`` (metadata of the real
sizes, see ``bench/make_full_metadata.py``; its Open Images rows must include the map's MIDs:
``--only openimages --map category_maps/xl.yaml``) for each map given, each in a fresh process,
at the paper's split sizes (52,609 / 5,000 / 5,000). For each category it reports the usable
instances (after selection: single instance, area, exhaustive labels, predicted IoU) and the
triplets the plan gives it per split. The largest total the map supports is the sum of usable
instances (the planner allocates at most one triplet per instance).

The LVIS counts are the real per-category train counts; the Open Images rows are synthetic
(Zipf-like frequencies over 350 classes), so the Open Images share of each category is a
stand-in, not a measurement of the real masks.

Usage::

    .venv/bin/python bench/xl_scale.py [--maps xl 46] [--json bench/xl_scale.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # this checkout's avsynth, as scripts/ do
SPLITS = ("train", "val", "test")


def run_one(map_name: str, data: Path, out: Path) -> dict:
    """Plan one map in this process; the numbers for the report."""
    import avsynth

    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    report = avsynth.build(
        map_name,
        out=out,
        vggsound=data / "vggsound",
        lvis=data / "lvis",
        openimages=data / "openimages",
        plan_only=True,
        progress=False,
        force=True,
    )
    wall = time.perf_counter() - t0
    plan = report.plan
    return {
        "map": map_name,
        "plan_s": round(wall, 1),
        "load_avg_1min_before": round(load, 1),
        "split_sizes": [report.written.get(s, 0) for s in SPLITS],
        "categories_in_map": len(plan.available) + len(plan.left_out),
        "categories_planned": len(plan.counts),
        "available": dict(sorted(plan.available.items())),
        "counts": {c: [v.get(s, 0) for s in SPLITS] for c, v in sorted(plan.counts.items())},
        "left_out": dict(sorted(plan.left_out.items())),
        "max_total": sum(plan.available.values()),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--maps", nargs="+", default=["xl", "46"])
    ap.add_argument("--data", type=Path, default=HERE / "_data")
    ap.add_argument("--json", type=Path, default=HERE / "xl_scale.json")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(run_one(args.one, args.data, Path(tmp) / "plan")))
        return
    results = []
    for name in args.maps:
        cmd = [sys.executable, __file__, "--one", name, "--data", str(args.data)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        results.append(res)
        print(
            f"== {name}: {res['categories_planned']}/{res['categories_in_map']} categories, "
            f"split sizes {res['split_sizes']}, plan {res['plan_s']} s "
            f"(load {res['load_avg_1min_before']}), at most {res['max_total']:,} triplets"
        )
        for c, n in res["available"].items():
            print(f"  {c:20s} usable {n:7,d}  planned {res['counts'].get(c, [0, 0, 0])}")
        for c, why in res["left_out"].items():
            print(f"  {c:20s} left out: {why}")
    from avsynth.storage.atomic import atomic_write_text

    atomic_write_text(args.json, json.dumps({"results": results}, indent=1) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
