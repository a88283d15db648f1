"""Time ``avsynth build --plan-only`` on full-scale metadata against a bare parse of it.

Runs :func:`avsynth.build` with ``plan_only=True`` on ``bench/_data`` (see
``bench/make_full_metadata.py``) and the shipped category map, and, in the same run, the
**bare parse**: ``json.load`` of ``lvis_v1_train.json`` and ``lvis_v1_val.json`` plus
``pandas.read_csv`` of the three Open Images segmentation CSVs, nothing else. Each measurement
runs in a fresh process (so peak RSS is its own); rounds alternate bare / build. The result
is the **ratio** of the build's wall time to the bare parse's (median over rounds), which holds
on a shared machine where absolute times do not, also as the ratio of the fastest rounds and
of CPU time, with the build's stages, peak RSS (build and its worker) and the load average.
The memory of both processes at once is sampled by a separate process in one more build,
after the timed rounds: the sampling slows the build it watches (~35 %), so no timed round is
sampled. ``--hash`` also times hashing the metadata files alone.

Usage::

    .venv/bin/python bench/make_full_metadata.py          # once, ~2 GB under bench/_data
    .venv/bin/python bench/plan_speed.py [--json] [--hash] [--rounds 2] [--out /tmp/plan46]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
STAGES = ("map", "vggsound", "map_check", "lvis", "openimages", "openimages_parse", "plan",
          "fingerprint_wait", "write")  # fmt: skip


class _MemSampler:
    """Samples, every 20 ms from a separate process, the summed RSS and PSS of a process
    and its children (the planning worker). A thread of the build itself could not: the
    LVIS decode holds the GIL for seconds, exactly when memory peaks. PSS counts pages
    shared with the (forked) worker once in all, so its peak is the memory the build held
    at once."""

    def __init__(self, pid: int) -> None:
        self._p = subprocess.Popen(
            [sys.executable, __file__, "--sample-mem", str(pid)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def stop(self) -> tuple[float, float]:
        out, _ = self._p.communicate("")  # closing stdin ends the sampling
        peak_rss, peak_pss = (int(x) for x in out.split())
        return round(peak_rss / 1024, 1), round(peak_pss / 1024, 1)


def _kb(pid: int) -> tuple[int, int]:
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def sample_mem(pid: int) -> None:
    """The sampler process: poll ``pid`` and its children until stdin closes, then print
    the peak summed RSS and PSS (KiB)."""
    import threading

    done = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    peak_rss = peak_pss = 0
    while not done.wait(0.02):
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as f:
                kids = [int(x) for x in f.read().split()]
        except OSError:
            kids = []
        tot = [_kb(p) for p in (pid, *kids)]
        peak_rss = max(peak_rss, sum(r for r, _ in tot))
        peak_pss = max(peak_pss, sum(p for _, p in tot))
    print(peak_rss, peak_pss)


def run(data: Path, out: Path, categories: Path, *, hash_files: bool, sample: bool) -> dict:
    import avsynth
    from avsynth.planning.fingerprint import file_fingerprint, metadata_files

    load_before = os.getloadavg()
    has_smaps = Path("/proc/self/smaps_rollup").exists()
    sampler = _MemSampler(os.getpid()) if sample and has_smaps else None
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
    sampled_rss, sampled_pss = sampler.stop() if sampler is not None else (None, None)
    result = {
        "stages_s": {k: round(report.timings.get(k, 0.0), 2) for k in STAGES},
        "total_s": round(total, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        # the planning worker process (Open Images parse, then hashing) runs alongside: the
        # sum of both peaks bounds what the build held at once
        "worker_peak_rss_mb": round(
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1
        ),
        # sampled every 20 ms by another process: the build and its worker summed, RSS and
        # PSS (shared pages once)
        "sampled_peak_rss_sum_mb": sampled_rss,
        "sampled_peak_pss_sum_mb": sampled_pss,
        "cpu_s": _cpu_s(),
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


def _cpu_s() -> float:
    """CPU seconds (user + system) of this process and its waited-for children."""
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return round(a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime, 2)


def bare_parse(data: Path) -> dict:
    """``json.load`` of the LVIS JSONs plus ``pandas.read_csv`` of the Open Images CSVs."""
    import pandas as pd

    t0 = time.perf_counter()
    n = 0
    for name in ("lvis_v1_train.json", "lvis_v1_val.json"):
        with open(data / "lvis" / name, "rb") as f:
            n += len(json.load(f)["annotations"])
    for subset in ("train", "validation", "test"):
        n += len(pd.read_csv(data / "openimages" / f"{subset}-annotations-object-segmentation.csv"))
    return {
        "total_s": round(time.perf_counter() - t0, 2),
        "records": n,
        "cpu_s": _cpu_s(),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def _in_child(what: str, args: argparse.Namespace, out: Path) -> dict:
    cmd = [sys.executable, __file__, "--child", what, "--data", str(args.data), "--out", str(out),
           "--categories", str(args.categories)] + (["--hash"] if args.hash and what != "build-mem"
                                                    else [])  # fmt: skip
    r = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        sys.exit(f"{what} failed:\n{r.stderr}")
    return json.loads(r.stdout)


def compare(args: argparse.Namespace, out: Path) -> dict:
    """Rounds of bare parse then build, each in its own process; ratio of the medians."""
    load_before = os.getloadavg()[0]
    bare, build = [], []
    for r in range(args.rounds):
        pair = [("bare", bare), ("build", build)]
        for what, acc in pair if r % 2 == 0 else pair[::-1]:
            acc.append(_in_child(what, args, out))
    # Memory in one more build, sampled from another process: reading a 1.7 GB process's
    # smaps_rollup every 20 ms slows it (~2.8 s of ~8 s measured, most in the LVIS decode),
    # so the timed rounds above run without the sampler.
    mem = _in_child("build-mem", args, out)
    bare_s = statistics.median(x["total_s"] for x in bare)
    build_s = statistics.median(x["total_s"] for x in build)
    res = dict(build[-1])
    res.update(
        ratio_to_bare_parse=round(build_s / bare_s, 3),
        # the least disturbed round of each (what the code costs when the machine lets it)
        ratio_of_minima=round(
            min(x["total_s"] for x in build) / min(x["total_s"] for x in bare), 3
        ),
        # CPU time (user + system, build with its worker) is less disturbed by other load
        cpu_ratio_of_medians=round(
            statistics.median(x["cpu_s"] for x in build)
            / statistics.median(x["cpu_s"] for x in bare),
            3,
        ),
        build_total_s=[x["total_s"] for x in build],
        bare_parse_total_s=[x["total_s"] for x in bare],
        bare_parse_peak_rss_mb=max(x["peak_rss_mb"] for x in bare),
        peak_rss_mb=max(x["peak_rss_mb"] for x in build),
        worker_peak_rss_mb=max(x["worker_peak_rss_mb"] for x in build),
        peak_rss_sum_mb=max(x["peak_rss_mb"] + x["worker_peak_rss_mb"] for x in build),
        sampled_peak_pss_sum_mb=mem["sampled_peak_pss_sum_mb"],
        sampled_peak_rss_sum_mb=mem["sampled_peak_rss_sum_mb"],
        sampled_build_total_s=mem["total_s"],  # slowed by the sampler: not in the ratio
        load_avg_1m_before_after=[round(load_before, 2), round(os.getloadavg()[0], 2)],
    )
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description="Time avsynth build --plan-only at full scale.")
    ap.add_argument("--data", type=Path, default=HERE / "_data")
    ap.add_argument("--categories", type=Path, default=HERE.parent / "category_maps" / "46.yaml")
    ap.add_argument("--out", type=Path, default=None, help="output folder (default: a temp dir)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ap.add_argument("--hash", action="store_true", help="also time hashing the inputs alone")
    ap.add_argument("--rounds", type=int, default=2, help="bare/build pairs (median taken)")
    ap.add_argument("--child", choices=("bare", "build", "build-mem"), help=argparse.SUPPRESS)
    ap.add_argument("--sample-mem", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.sample_mem is not None:
        sample_mem(args.sample_mem)
        return
    if not (args.data / "lvis" / "lvis_v1_train.json").is_file():
        sys.exit(f"no metadata under {args.data}: run bench/make_full_metadata.py first")
    if args.child == "bare":
        print(json.dumps(bare_parse(args.data)))
        return
    if args.child in ("build", "build-mem"):
        sample = args.child == "build-mem"
        print(json.dumps(run(args.data, args.out, args.categories, hash_files=args.hash,
                             sample=sample)))  # fmt: skip
        return
    with tempfile.TemporaryDirectory() as tmp:
        res = compare(args, args.out or Path(tmp) / "plan")
    if args.json:
        print(json.dumps(res, indent=2))
        return
    print(f"{'stage':<18}{'wall s':>8}")
    for k, v in res["stages_s"].items():
        print(f"{k:<18}{v:>8.2f}")
    print(f"{'total':<18}{res['total_s']:>8.2f}")
    print(
        f"ratio to bare parse {res['ratio_to_bare_parse']} (build {res['build_total_s']} s, "
        f"bare parse {res['bare_parse_total_s']} s, its peak RSS "
        f"{res['bare_parse_peak_rss_mb']:.0f} MB)"
    )
    print(
        f"both processes at once (sampled, one more build): "
        f"{res['sampled_peak_pss_sum_mb']} MiB PSS, {res['sampled_peak_rss_sum_mb']} MiB RSS"
    )
    print(
        f"peak RSS {res['peak_rss_mb']:.0f} MB (+ worker {res['worker_peak_rss_mb']:.0f} MB); "
        f"{res['triplets']} triplets over "
        f"{res['categories']} categories; load avg (1 min) before/after "
        f"{res['load_avg_1m_before_after']} on {res['cpus']} CPUs"
    )
    if res["left_out"]:
        print("left out:", res["left_out"])
    for name, h in res.get("hash_alone", {}).items():
        print(f"hash alone: {name} {h['mb']} MB in {h['s']} s")


if __name__ == "__main__":
    main()
