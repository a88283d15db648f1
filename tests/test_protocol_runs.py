"""Protocol runs: the SAM oracle without a run checkpoint, few-shot, per-access audio draws."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from _train_helpers import make_manifest

from avsmodel import build_model
from avsmodel.errors import ConfigError
from avsmodel.evaluation import evaluate
from avsmodel.modeling.oracle import best_proposal
from avsmodel.training import train


def _iou(a: torch.Tensor, b: torch.Tensor) -> float:
    inter = (a & b).sum().item()
    union = (a | b).sum().item()
    return inter / union if union else 1.0


def test_best_proposal_picks_highest_iou() -> None:
    gt = torch.zeros(16, 16)
    gt[4:10, 4:10] = 1
    props = torch.zeros(4, 16, 16, dtype=torch.bool)
    props[0, 0:3, 0:3] = True  # elsewhere
    props[1, 4:10, 4:8] = True  # IoU 24/36
    props[2, 3:11, 3:11] = True  # IoU 36/64
    props[3, 4:10, 5:11] = True  # IoU 30/42
    want = max(range(4), key=lambda k: _iou(props[k], gt > 0.5))
    assert want == 3 and best_proposal(props, gt) == 3
    assert best_proposal(props[[0, 1, 2]], gt) == 1  # 24/36 beats 36/64
    assert best_proposal(torch.zeros(0, 16, 16, dtype=torch.bool), gt) is None


def test_everything_oracle_without_proposals_predicts_empty() -> None:
    torch.manual_seed(0)
    net = build_model("sam_oracle_tiny").eval()
    net.oracle_mode = "everything"
    images = torch.randn(1, 3, 128, 128)
    images[:, :, 96:] = 0  # padding below a 96x128 image
    gen = net.mask_generator(images.device)
    from avsmodel.modeling.sam_parts import PIXEL_MEAN, PIXEL_STD

    rgb = images[0, :, :96] * torch.tensor(PIXEL_STD).view(3, 1, 1)
    rgb = (rgb + torch.tensor(PIXEL_MEAN).view(3, 1, 1)).round().clamp(0, 255)
    assert gen.generate(rgb.byte().permute(1, 2, 0).numpy()) == []  # random SAM: nothing
    gt = torch.zeros(1, 32, 32)
    gt[0, 4:12, 4:12] = 1
    with torch.no_grad():
        out = net(images, None, gt=gt)
    assert out.shape == (1, 1, 128, 128) and bool((out < 0).all())  # full resolution
    assert not any(k.startswith("_generator") for k in net.state_dict())


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_manifest(tmp_path_factory.mktemp("m"), n={"train": 10, "val": 2, "test": 2})


def test_oracle_evaluates_without_a_run(manifest: Path, capsys) -> None:
    from typer.testing import CliRunner

    from avsmodel.cli import app

    multi = evaluate(model="sam_oracle_tiny", oracle="multimask", manifest=manifest, progress=False)
    assert multi["oracle"] == "multimask" and multi["checkpoint"] is None and multi["n"] == 2
    r = CliRunner().invoke(
        app, ["eval", "--model", "sam_oracle_tiny", "--manifest", str(manifest), "--json"]
    )
    assert r.exit_code == 0, r.output
    every = json.loads(r.output)
    # Random tiny SAM proposes nothing: empty predictions, IoU 0 on non-empty ground truths.
    assert every["oracle"] == "everything" and every["miou"] == 0.0
    with pytest.raises(ConfigError, match="only sam_oracle_"):
        evaluate(model="sama_avs_tiny", manifest=manifest, progress=False)
    with pytest.raises(ConfigError, match="needs --sam-checkpoint"):
        evaluate(model="sam_oracle_vit_b", manifest=manifest, progress=False)


def test_train_fraction_writes_nested_subset(manifest: Path, tmp_path: Path) -> None:
    kw = dict(
        model="sama_avs_tiny", epochs=1, batch_size=4, val_batch_size=4, workers=0, progress=False
    )
    a = train(manifest, out=tmp_path / "a", train_fraction=0.3, **kw)
    b = train(manifest, out=tmp_path / "b", train_fraction=0.6, **kw)
    ids_a = (a.out / "train_subset.txt").read_text().splitlines()
    ids_b = (b.out / "train_subset.txt").read_text().splitlines()
    assert len(ids_a) == 3 and len(ids_b) == 6 and set(ids_a) < set(ids_b)
    assert a.history[0]["steps"] == 1


def test_per_access_draw_is_fresh_per_epoch_and_resumes_bit_identical(
    manifest: Path, tmp_path: Path
) -> None:
    from avsmodel.data import ManifestDataset
    from avsmodel.training import load_checkpoint

    ds = ManifestDataset(manifest, "train", image_size=128, audio_examples=1, resample_audio_p=1.0)
    draws = []
    for epoch in range(6):
        ds.set_epoch(epoch)
        draws.append([ds.audio_index(i) for i in range(len(ds))])
    for row in draws:  # each draw is a train clip of the image's own category
        assert all(
            ds.records[j].category == t.category for j, t in zip(row, ds.records, strict=True)
        )
    assert len({tuple(r) for r in draws}) > 1  # a fresh draw per epoch

    kw = dict(
        model="sama_avs_tiny",
        epochs=2,
        batch_size=4,
        val_batch_size=4,
        workers=0,
        resample_audio_p=1.0,
        progress=False,
    )
    whole = train(manifest, out=tmp_path / "whole", **kw)
    train(manifest, out=tmp_path / "cut", stop_after=1, **kw)
    resumed = train(
        manifest, model="sama_avs_tiny", out=tmp_path / "cut", resume=True, progress=False
    )
    a = load_checkpoint(whole.last_path)["state_dict"]
    b = load_checkpoint(resumed.last_path)["state_dict"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_squash_resize_and_scoring_on_the_input_grid(manifest: Path, tmp_path: Path) -> None:
    import numpy as np
    import torch.nn.functional as F
    from PIL import Image

    from avsmodel.data import ManifestDataset, collate
    from avsmodel.data.dataset import read_mask
    from avsmodel.evaluation.metrics import mask_iou
    from avsmodel.training import build_from_checkpoint

    ds = ManifestDataset(
        manifest, "test", image_size=128, audio_examples=1, resize="squash", input_masks=True
    )
    it = ds[0]
    assert it["resized"] == (128, 128)
    assert bool((it["image"].abs().sum(0) != 0).all())  # no padding: the 48x64 image fills SxS
    m = read_mask(ds.path(ds.records[0].mask))
    want = np.asarray(Image.fromarray(m.astype(np.uint8) * 255).resize((128, 128), 0)) > 127
    assert torch.equal(it["mask_input"], torch.from_numpy(want))

    run = train(
        manifest,
        model="sama_avs_tiny",
        out=tmp_path / "sq",
        epochs=1,
        batch_size=4,
        workers=0,
        resize="squash",
        progress=False,
    )
    r = evaluate(run.best_path, manifest=manifest, score_size="input", progress=False)
    assert r["resize"] == "squash" and r["score_size"] == "input"
    net, _ = build_from_checkpoint(run.best_path)
    batch = collate([ds[i] for i in range(len(ds))])
    with torch.no_grad():
        logits = net.eval()(batch["image"], batch["audio"])
    big = F.interpolate(logits, (128, 128), mode="bilinear", align_corners=False)[:, 0]
    assert r["miou"] == pytest.approx(mask_iou(big, batch["mask_input"]), abs=1e-6)


def test_loss_on_the_input_grid(manifest: Path, tmp_path: Path) -> None:
    import torch.nn.functional as F

    from avsmodel.data import ManifestDataset, collate
    from avsmodel.task import SegmentationTask

    torch.manual_seed(0)
    net = build_model("sama_avs_tiny")
    ds = ManifestDataset(manifest, "train", image_size=128, audio_examples=1, input_masks=True)
    batch = collate([ds[i] for i in range(3)])
    loss, _ = SegmentationTask(net, loss_size="input")(batch)
    with torch.no_grad():
        up = F.interpolate(net(batch["image"], batch["audio"]), (128, 128), mode="bilinear")
    up, g = up[:, 0], batch["mask_input"].float()
    p = torch.sigmoid(up)
    soft = [
        1 - ((p[i] * g[i]).sum() + 1) / ((p[i] + g[i] - p[i] * g[i]).sum() + 1) for i in range(3)
    ]
    want = F.binary_cross_entropy_with_logits(up, g) + torch.stack(soft).mean()
    assert float(loss.detach()) == pytest.approx(float(want), rel=1e-5)
    run = train(
        manifest,
        model="sama_avs_tiny",
        out=tmp_path / "li",
        epochs=1,
        batch_size=4,
        workers=0,
        loss_size="input",
        progress=False,
    )
    assert run.history[0]["train_loss"] > 0
