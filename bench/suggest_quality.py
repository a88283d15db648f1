"""How well ``avsynth suggest-map`` recovers the curated joins of ``46.yaml``, and how long it
takes: recall@1, recall@3 and precision@1 (:func:`avsynth.catmap.suggest_eval.measure`) with
lexical evidence only and with sentence embeddings (first with an empty embedding cache, then
with the vectors it cached), each timed in a fresh process (imports and model loading
included). ``docs/categories.md`` reports the result
(``scripts/make_categories_doc.py`` reads ``bench/suggest_quality.json``).

Usage::

    .venv/bin/python bench/suggest_quality.py [--json bench/suggest_quality.json]
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


def run_one(embeddings: bool) -> dict:
    """Suggest for all 309 labels and measure against 46.yaml, in this process (the
    embedding cache is wherever ``$AVSYNTH_CACHE`` points)."""
    t0 = time.perf_counter()
    load = os.getloadavg()[0]
    from avsynth.catmap.suggest import suggest_map
    from avsynth.catmap.suggest_eval import measure

    result = suggest_map(top=3, embeddings=embeddings)
    seconds = time.perf_counter() - t0
    return {
        "evidence": "lexical + embeddings" if result.embeddings else "lexical only",
        "model": result.embeddings,
        "seconds": round(seconds, 1),
        "load_avg_1min_before": round(load, 1),
        "metrics": measure(result, "46"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", type=Path, default=HERE / "suggest_quality.json")
    ap.add_argument("--one", choices=["lexical", "embeddings"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one == "embeddings")))
        return
    runs = []
    with tempfile.TemporaryDirectory() as cache:  # cold, then warm embedding cache
        env = dict(os.environ, AVSYNTH_CACHE=cache)
        for mode, note in (("lexical", ""), ("embeddings", ""), ("embeddings", " (cached)")):
            cmd = [sys.executable, __file__, "--one", mode]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
            res = json.loads(proc.stdout.strip().splitlines()[-1])
            res["evidence"] += note
            runs.append(res)
    for res in runs:
        m = res["metrics"]
        print(
            f"{res['evidence']}: recall@1 {m['recall@1']:.3f}, recall@3 {m['recall@3']:.3f}, "
            f"precision@1 {m['precision@1']:.3f}; {res['seconds']} s "
            f"(load {res['load_avg_1min_before']})"
        )
    from avsynth.storage.atomic import atomic_write_text

    machine = f"{os.cpu_count()} CPU cores, shared"
    doc = {"machine": machine, "runs": runs}
    atomic_write_text(args.json, json.dumps(doc, indent=1) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
