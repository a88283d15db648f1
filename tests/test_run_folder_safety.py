"""``train --overwrite`` keeps the old run until the new one has started; one training per
run folder at a time (a second one, or a second ``--resume``, fails with one line)."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

import pytest
from _train_helpers import make_manifest

from avsmodel.errors import AvsmodelError, ConfigError
from avsmodel.training import train
from avsmodel.training.run_lock import LOCK_FILE, RunLock

MODEL = "sama_avs_tiny"
FAST = dict(batch_size=4, val_batch_size=8, workers=0)
OLD = {"last.pt": b"old last", "best.pt": b"old best", "metrics.jsonl": b'{"epoch": 1}\n',
       "config.yaml": b"epochs: 9\n", "curves.png": b"old png"}  # fmt: skip


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_manifest(tmp_path_factory.mktemp("m"), n={"train": 8, "val": 3, "test": 3})


@pytest.fixture(scope="module")
def no_val(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_manifest(tmp_path_factory.mktemp("nv"), n={"train": 8, "test": 3})


def _old_run(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, data in OLD.items():
        (out / name).write_bytes(data)


def _assert_old_run(out: Path) -> None:
    assert {n: (out / n).read_bytes() for n in OLD} == OLD
    assert sorted(p.name for p in out.iterdir()) == sorted(OLD)  # no lock, no aside folder


@pytest.mark.parametrize(
    "bad",
    ["model", "no_val_split", "config_key", "config_yaml", "init_missing", "init_foreign"],
)
def test_overwrite_that_cannot_start_leaves_the_old_run(manifest, no_val, tmp_path, bad):
    out = tmp_path / "run"
    _old_run(out)
    kw: dict = dict(model=MODEL, out=out, overwrite=True, epochs=1, progress=False, **FAST)
    data = manifest
    if bad == "model":
        kw["model"] = "sama_avs_nonexistent"
    elif bad == "no_val_split":
        data = no_val
    elif bad == "config_key":
        kw["config"] = {"no_such_key": 1}
    elif bad == "config_yaml":
        (tmp_path / "bad.yaml").write_text("epochs: [1\n")
        kw["config"] = tmp_path / "bad.yaml"
    elif bad == "init_missing":
        kw["init"] = tmp_path / "missing.pt"
    else:
        (tmp_path / "foreign.pt").write_bytes(b"not a checkpoint")
        kw["init"] = tmp_path / "foreign.pt"
    with pytest.raises(AvsmodelError):
        train(data, **kw)
    _assert_old_run(out)


@pytest.mark.parametrize("name", ["best.pt", "last.pt"])
def test_overwrite_refuses_an_init_inside_the_run_it_replaces(manifest, tmp_path, name):
    out = tmp_path / "run"
    _old_run(out)
    with pytest.raises(ConfigError, match=rf"--init .*{name} is a file of the run --overwrite"):
        train(manifest, model=MODEL, out=out, overwrite=True, init=out / name, epochs=1,
              progress=False, **FAST)  # fmt: skip
    _assert_old_run(out)


def test_overwrite_replaces_the_run_once_it_trains(manifest, tmp_path):
    out = tmp_path / "run"
    _old_run(out)
    (out / "notes.txt").write_text("mine")
    r = train(manifest, model=MODEL, out=out, overwrite=True, epochs=1, progress=False, **FAST)
    assert r.completed_epochs == 1
    for name in ("last.pt", "best.pt", "metrics.jsonl", "curves.png", "config.yaml"):
        assert (out / name).read_bytes() != OLD[name], name
    assert sorted(p.name for p in out.iterdir()) == sorted([*OLD, "notes.txt"])


def _hold_lock(out: str, ready, release) -> None:
    with RunLock(out):
        ready.set()
        release.wait(60)


@pytest.mark.parametrize("mode", ["new", "resume", "overwrite"])
def test_second_training_into_a_locked_folder_fails_with_one_line(manifest, tmp_path, mode, capsys):
    from test_train_guards import run_cli

    out = tmp_path / "run"
    if mode != "new":
        _old_run(out)
    ctx = mp.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(str(out), ready, release))
    holder.start()
    try:
        assert ready.wait(120)
        flag = {"new": [], "resume": ["--resume"], "overwrite": ["--overwrite"]}[mode]
        args = ["train", str(manifest), "--model", MODEL, "--out", str(out), "--epochs", "1"]
        code, err = run_cli([*args, *flag], capsys)
        assert code == 1, err
        assert err.count("\n") == 1
        assert f"is in use by another training (pid {holder.pid})" in err
        if mode != "new":
            _assert_old_run_with_lock(out)
    finally:
        release.set()
        holder.join(60)
    assert not (out / LOCK_FILE).exists()  # the holder removed it on release


def _assert_old_run_with_lock(out: Path) -> None:
    assert {n: (out / n).read_bytes() for n in OLD} == OLD
    assert sorted(p.name for p in out.iterdir()) == sorted([*OLD, LOCK_FILE])


def test_lock_is_released_after_a_run_and_a_failed_run(manifest, tmp_path):
    out = tmp_path / "run"
    train(manifest, model=MODEL, out=out, epochs=1, progress=False, **FAST)
    assert not (out / LOCK_FILE).exists()
    with pytest.raises(AvsmodelError):
        train(manifest, model="nope", out=tmp_path / "new", epochs=1, progress=False, **FAST)
    assert not (tmp_path / "new").exists()  # the failed run created it and leaves nothing
