"""The training loop on a tiny manifest: run files, checkpoints, resume, warm start."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from _train_helpers import make_manifest

from avsmodel.data import ManifestDataset, collate
from avsmodel.errors import ConfigError
from avsmodel.training import build_from_checkpoint, load_checkpoint, save_checkpoint, train

pytestmark = pytest.mark.slow  # trains models (~1 min in all on 2 CPU threads)

MODEL = "sama_avs_tiny"
FAST = dict(batch_size=4, val_batch_size=8, workers=0)


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_manifest(tmp_path_factory.mktemp("m"), n={"train": 8, "val": 3, "test": 3})


@pytest.fixture(scope="module")
def run(manifest: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("run")
    return train(manifest, model=MODEL, out=out, epochs=2, progress=False, **FAST)


def _state(path: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(path)["state_dict"]


def test_run_folder_files(run) -> None:
    out = run.out
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2]
    for r in rows:
        assert {"train_loss", "val_miou", "val_fscore", "lr", "epoch_seconds"} <= set(r)
        assert 0.0 <= r["val_miou"] <= 1.0 and r["train_loss"] > 0
    assert rows[1]["lr"] == pytest.approx(1e-6)  # cosine reached tiny.yaml's min_lr
    assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "batch_size: 4" in (out / "config.yaml").read_text()
    assert run.completed_epochs == 2 and run.best_epoch in (1, 2)


def test_checkpoints_hold_trainable_weights_and_provenance(run, manifest: Path) -> None:
    best, last = load_checkpoint(run.best_path), load_checkpoint(run.last_path)
    # Every RNG is re-seeded from (seed, epoch) at each epoch start: no RNG state is stored.
    assert "resume" not in best and set(last["resume"]) == {"optimizer", "scheduler"}
    assert last["run_options"] == {
        "attention": "sdpa",
        "grad_checkpointing": False,
        "autocast": "none",
        "embedding_cache": 0,
    }
    assert "attention" not in last["model_config"] and last["model_overrides"] == {}
    assert set(last["state_dict"]) == set(run.model.trainable_state_dict())
    assert last["model"] == MODEL and last["epoch"] == 2
    assert last["train_config"]["batch_size"] == 4
    import hashlib

    assert last["data"]["sha256"] == hashlib.sha256(manifest.read_bytes()).hexdigest()
    # No temporary files left behind by the atomic writes.
    assert not list(run.out.glob("*.tmp*"))


def test_checkpoints_keep_their_key_layout(run) -> None:
    # The keys (in order) train wrote before the checkpoint was typed, written down by hand:
    # a random-init run has no frozen_state; only last.pt has resume.
    import torch

    raw_best = torch.load(run.best_path, map_location="cpu", weights_only=True)
    raw_last = torch.load(run.last_path, map_location="cpu", weights_only=True)
    best_keys = [
        "format",
        "version",
        "model",
        "model_overrides",
        "run_options",
        "model_config",
        "train_config",
        "data",
        "sam_checkpoint",
        "vggish_checkpoint",
        "init",
        "world_size",
        "epoch",
        "best_miou",
        "best_epoch",
        "metrics",
        "state_dict",
    ]
    assert list(raw_best) == best_keys
    assert list(raw_last) == [*best_keys, "resume"]
    assert list(raw_last["resume"]) == ["optimizer", "scheduler"]
    assert raw_last["world_size"] == 1 and raw_last["init"] is None
    assert isinstance(raw_last["best_miou"], float) and raw_last["best_epoch"] == run.best_epoch


def test_checkpoint_round_trip_gives_same_predictions(run, manifest: Path) -> None:
    model, ck = build_from_checkpoint(run.last_path)
    ds = ManifestDataset(
        manifest, "test", image_size=model.image_size, audio_examples=model.audio_examples
    )
    b = collate([ds[0], ds[1]])
    trained = run.model.eval()
    with torch.no_grad():
        assert torch.equal(model(b["image"], b["audio"]), trained(b["image"], b["audio"]))
    for k, v in model.state_dict().items():
        assert torch.equal(v, trained.state_dict()[k]), k


def test_checkpoint_of_an_older_version_still_loads(run, manifest: Path, tmp_path: Path) -> None:
    # Older checkpoints: run options mixed into the architecture, an unused RNG state, and
    # SAM's IoU head among the trainable weights.
    ck = load_checkpoint(run.last_path)
    head = {
        n: torch.full_like(p, 0.25)
        for n, p in run.model.named_parameters()
        if n.startswith("mask_decoder.iou_prediction_head.")
    }
    assert head
    old = dict(ck, state_dict={**ck["state_dict"], **head})
    old["model_overrides"] = dict(ck.pop("run_options"))
    old["model_config"] = {**ck["model_config"], **old["model_overrides"]}
    old["resume"] = dict(ck["resume"], rng={"torch": torch.get_rng_state()})
    del old["run_options"]
    save_checkpoint(tmp_path / "old.pt", old)
    model, _ = build_from_checkpoint(tmp_path / "old.pt")
    assert model.run.attention == "sdpa" and model.config == run.model.config
    params = dict(model.named_parameters())
    for n in head:
        assert torch.equal(params[n], head[n]), n
    for n, v in ck["state_dict"].items():
        assert torch.equal(params[n], v), n


def test_overwrite_starts_over_and_keeps_other_files(run, manifest: Path, tmp_path: Path) -> None:
    import shutil

    out = tmp_path / "run"
    shutil.copytree(run.out, out)
    (out / "notes.txt").write_text("mine")
    res = train(manifest, model=MODEL, out=out, epochs=1, overwrite=True, progress=False, **FAST)
    assert res.completed_epochs == 1
    assert [json.loads(x)["epoch"] for x in (out / "metrics.jsonl").read_text().splitlines()] == [1]
    assert load_checkpoint(out / "last.pt")["epoch"] == 1
    assert load_checkpoint(out / "best.pt")["epoch"] == 1
    assert (out / "notes.txt").read_text() == "mine"


def test_resume_equals_uninterrupted(run, manifest: Path, tmp_path: Path) -> None:
    first = train(
        manifest, model=MODEL, out=tmp_path, epochs=2, stop_after=1, progress=False, **FAST
    )
    assert first.completed_epochs == 1 and load_checkpoint(tmp_path / "last.pt")["epoch"] == 1
    again = train(manifest, model=MODEL, out=tmp_path, resume=True, progress=False)
    assert again.completed_epochs == 2
    a, b = _state(run.last_path), _state(tmp_path / "last.pt")
    assert set(a) == set(b)
    for k in a:
        assert torch.equal(a[k], b[k]), k
    strip = lambda p: [  # noqa: E731
        {k: v for k, v in json.loads(x).items() if k != "epoch_seconds"}
        for x in p.read_text().splitlines()
    ]
    assert strip(run.out / "metrics.jsonl") == strip(tmp_path / "metrics.jsonl")
    # A finished run resumes to a no-op.
    done = train(manifest, model=MODEL, out=tmp_path, resume=True, progress=False)
    assert done.completed_epochs == 2


def test_resume_refuses_a_changed_recipe(run, manifest: Path) -> None:
    with pytest.raises(ConfigError, match=r"--resume keeps the run's config; lr=0.5"):
        train(manifest, model=MODEL, out=run.out, resume=True, lr=0.5, progress=False)


def test_init_warm_starts_from_another_run(run, manifest: Path, tmp_path: Path) -> None:
    res = train(
        manifest,
        model=MODEL,
        out=tmp_path,
        epochs=1,
        lr=1e-12,
        min_lr=0.0,
        init=run.best_path,
        progress=False,
        **FAST,
    )
    assert load_checkpoint(tmp_path / "last.pt")["init"] == str(run.best_path)
    src = _state(run.best_path)
    for k, v in res.model.trainable_state_dict().items():
        assert torch.allclose(v, src[k], atol=1e-6), k


def test_seeded_runs_are_identical_and_seed_matters(manifest: Path, tmp_path: Path) -> None:
    a = train(manifest, model=MODEL, out=tmp_path / "a", epochs=1, progress=False, **FAST)
    b = train(manifest, model=MODEL, out=tmp_path / "b", epochs=1, progress=False, **FAST)
    c = train(manifest, model=MODEL, out=tmp_path / "c", epochs=1, seed=1, progress=False, **FAST)
    sa, sb, sc = (_state(r.last_path) for r in (a, b, c))
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)


def test_audio_resampling_changes_training_deterministically(
    run, manifest: Path, tmp_path: Path
) -> None:
    kw = dict(model=MODEL, epochs=1, resample_audio_p=1.0, progress=False, **FAST)
    a = train(manifest, out=tmp_path / "a", **kw)
    b = train(manifest, out=tmp_path / "b", **kw)
    assert load_checkpoint(a.last_path)["train_config"]["resample_audio_p"] == 1.0
    sa, sb = _state(a.last_path), _state(b.last_path)
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    plain = train(manifest, out=tmp_path / "c", model=MODEL, epochs=1, progress=False, **FAST)
    sc = _state(plain.last_path)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)


def test_public_api_names(run, manifest: Path, tmp_path: Path) -> None:
    import avsmodel
    import avsmodel.evaluation
    import avsmodel.training

    assert avsmodel.ManifestDataset is ManifestDataset
    assert isinstance(run, avsmodel.TrainResult)
    assert avsmodel.evaluate is avsmodel.evaluation.evaluate
    assert avsmodel.train is avsmodel.training.train
    r = avsmodel.evaluate(run.best_path, manifest=manifest, split="test", progress=False)
    assert r["n"] == 3
    res = avsmodel.train(manifest, model=MODEL, out=run.out, resume=True, progress=False)
    assert res.completed_epochs == 2
