"""Every command chain of docs/reproduce.md, end to end, with the tiny models.

The ``bash`` blocks under "## Rows" run verbatim through the real ``avsmodel`` entry point
except for these substitutions: ``*_vit_h`` models become ``*_tiny``, the SAM/VGGish weight
options are dropped (tiny models have none), ``$AVSBENCH``/``$MANIFEST`` point at generated
AVSBench-format and synthetic data, run folders live in a temporary directory, and every
``train`` gets ``--epochs 1 --batch-size 4 --workers 0`` to stay fast.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
from pathlib import Path

import pytest
from _train_helpers import make_manifest, write_avsbench

DOC = Path(__file__).resolve().parents[1] / "docs" / "reproduce.md"


def doc_commands() -> list[list[str]]:
    """The commands of the Rows section, continuation lines joined, in order."""
    text = DOC.read_text(encoding="utf-8")
    rows = text.split("## Rows", 1)[1].split("\n## ", 1)[0]
    cmds = []
    for block in re.findall(r"```bash\n(.*?)```", rows, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            if line.strip():
                cmds.append(shlex.split(line))
    return cmds


def tiny(cmd: list[str], env: dict[str, str]) -> list[str]:
    out, skip = [], False
    for a in cmd:
        if skip:
            skip = False
            continue
        if a in ("--sam-checkpoint", "--vggish-checkpoint"):
            skip = True
            continue
        a = a.replace("_vit_h", "_tiny")
        for k, v in env.items():
            a = a.replace(f"${k}", v)
        if a.startswith("runs/"):
            a = f"{env['RUNS']}/{a[len('runs/') :]}"
        out.append(a)
    assert out[0] == "avsmodel", out
    if out[1] == "train":
        out += ["--epochs", "1", "--batch-size", "4", "--loader-workers", "0"]
    return out[1:]


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    from avsmodel.cli import main

    old = sys.argv
    sys.argv = ["avsmodel", *args]
    code = 0
    try:
        main()
    except SystemExit as e:
        code = int(e.code or 0)
    finally:
        sys.argv = old
    out, err = capsys.readouterr()
    return code, out + err


def test_doc_lists_every_paper_row() -> None:
    cmds = doc_commands()
    joined = [" ".join(c) for c in cmds]
    assert sum(c[1] == "train" for c in cmds) == 10 and sum(c[1] == "eval" for c in cmds) == 16
    for need in (
        "--init runs/synth/best.pt",
        "--init runs/s4_syn/best.pt",
        "ap_sam_vit_h",
        "--model sam_oracle_vit_h",
        "--oracle multimask",
        "--train-fraction 0.1",
        "--train-fraction 0.3",
        "--manifest $MANIFEST --split test",
    ):
        assert any(need in j for j in joined), need


@pytest.mark.slow
def test_every_row_runs_end_to_end(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", "1"))
    env = {
        "AVSBENCH": str(write_avsbench(tmp_path / "avsb")),
        "MANIFEST": str(make_manifest(tmp_path / "synth", n={"train": 8, "val": 2, "test": 2})),
        "RUNS": str(tmp_path / "runs"),
    }
    evals = 0
    for cmd in doc_commands():
        args = tiny(cmd, env)
        code, out = run_cli(args, capsys)
        assert code == 0, f"{' '.join(args)}\n{out}"
        if args[0] == "eval":
            r = json.loads(out.strip().splitlines()[-1])
            assert set(r["fscore"]) == {"avsbench", "authors", "dataset"}
            assert r["n"] > 0 and 0.0 <= r["miou"] <= 1.0
            evals += 1
        else:
            run = Path(args[args.index("--out") + 1])
            assert (run / "best.pt").is_file() and (run / "last.pt").is_file()
    assert evals == 16
    kept = (tmp_path / "runs" / "s4_10" / "train_subset.txt").read_text().split()
    assert len(kept) == 1  # 10% of the 2 generated S4 training videos, at least one
    assert set(kept) <= set((tmp_path / "runs" / "s4_30" / "train_subset.txt").read_text().split())
