"""paper.yaml is the authors' code, point for point; recommended.yaml is the project's.

Each point is checked against a port of the authors' code (``tests/_authors_reference.py``):
their loss at the input size with an unsmoothed soft IoU, their per-epoch cosine, their kept
last batch, their random positional encoding and no-mask embedding, their squash resize and
mask binarisation, their few-shot slicing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from _authors_reference import (
    authors_batch_sizes,
    authors_few_shot,
    authors_image,
    authors_loss,
    authors_lrs,
    authors_mask,
    authors_prompt_tensors,
)
from _train_helpers import make_manifest
from PIL import Image

from avsmodel.errors import ConfigError, DataError
from avsmodel.recipe import AUTHORS_KEYS, authors_choices, load_config, read_yaml

CONFIGS = Path(__file__).resolve().parents[1] / "avsmodel" / "configs"


# ----------------------------------------------------------------------------- the recipes


def test_paper_yaml_holds_the_authors_keys_exactly() -> None:
    import yaml

    text = (CONFIGS / "paper.yaml").read_text()
    lines = {ln.split("#", 1)[0].strip() for ln in text.splitlines()}
    for line in (
        "resize: squash",
        "loss_size: input",
        "score_size: input",
        "prompt_init: authors",
        "iou_eps: 0",
        "schedule_step: epoch",
        "drop_last: false",
    ):
        assert line in lines, line
    raw = yaml.safe_load(text)
    cfg = load_config("sama_avs_vit_h")  # the base of every SAM model
    want = {"resize": "squash", "loss_size": "input", "score_size": "input",
            "prompt_init": "authors", "iou_eps": 0.0, "schedule_step": "epoch",
            "drop_last": False}  # fmt: skip
    assert {k: raw[k] for k in want} == want
    assert {k: getattr(cfg, k) for k in want} == want
    assert authors_choices() == want and set(AUTHORS_KEYS) == set(want)


def test_recommended_is_paper_with_the_project_choices() -> None:
    paper, rec = read_yaml(None, name="paper"), read_yaml(None, name="recommended")
    assert set(paper) == set(rec)
    differ = {k for k in paper if paper[k] != rec[k]}
    assert differ == set(AUTHORS_KEYS)
    cfg = load_config("sama_avs_vit_h", "recommended")
    assert (cfg.resize, cfg.loss_size, cfg.score_size, cfg.prompt_init) == (
        "pad", "mask", "ground_truth", "sam")  # fmt: skip
    assert (cfg.iou_eps, cfg.schedule_step, cfg.drop_last) == (1.0, "step", True)


def test_a_file_named_like_a_bundled_recipe_wins(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("recommended").write_text("epochs: 3\n")
    assert load_config("sama_avs_vit_h", "recommended").resize == "squash"  # the file's
    assert load_config("sama_avs_vit_h", "recommended").epochs == 3


def test_tiny_recipe_keeps_the_project_choices() -> None:
    cfg = load_config("sama_avs_tiny")
    assert (cfg.resize, cfg.loss_size, cfg.score_size, cfg.prompt_init) == (
        "pad", "mask", "ground_truth", "sam")  # fmt: skip
    assert (cfg.iou_eps, cfg.schedule_step, cfg.drop_last) == (1.0, "step", True)


@pytest.mark.parametrize(
    ("key", "bad"),
    [("score_size", "full"), ("prompt_init", "zeros"), ("iou_eps", -1.0),
     ("schedule_step", "batch"), ("drop_last", "yes")],
)  # fmt: skip
def test_new_keys_are_validated(key: str, bad: object) -> None:
    with pytest.raises(ConfigError, match=key):
        load_config("sama_avs_tiny", {key: bad})


# ----------------------------------------------------------------------------- the loss


class _Fixed(torch.nn.Module):
    """A "model" whose logits are a given tensor (so the loss is all that is compared)."""

    def __init__(self, logits: torch.Tensor) -> None:
        super().__init__()
        self.logits = torch.nn.Parameter(logits.clone())

    def forward(self, images, audio):
        return self.logits


def test_loss_at_input_size_without_eps_is_the_authors() -> None:
    from avsmodel.task import SegmentationTask

    g = torch.Generator().manual_seed(0)
    low = torch.randn(3, 1, 16, 16, generator=g) * 3
    gt = (torch.rand(3, 1, 64, 64, generator=g) > 0.6).float()
    gt[2] = 0  # an empty ground truth: no IoU gradient under the authors' loss
    ours_model = _Fixed(low)
    task = SegmentationTask(ours_model, loss_size="input", iou_eps=0.0)
    batch = {"image": torch.zeros(3, 3, 64, 64), "audio": torch.zeros(3, 1, 1, 96, 64),
             "mask": torch.zeros(3, 16, 16), "mask_input": gt[:, 0] > 0.5}  # fmt: skip
    loss, _ = task(batch)
    loss.backward()
    theirs_in = low.clone().requires_grad_(True)
    ref = authors_loss(theirs_in, gt, 64)
    ref.backward()
    assert float(loss.detach()) == pytest.approx(float(ref.detach()), rel=1e-6, abs=1e-7)
    assert torch.allclose(ours_model.logits.grad, theirs_in.grad, rtol=1e-5, atol=1e-9)
    # The smoothed loss differs exactly where the ground truth is empty.
    smooth = SegmentationTask(_Fixed(low), loss_size="input", iou_eps=1.0)
    assert abs(float(smooth(batch)[0].detach()) - float(ref.detach())) > 1e-4


# ----------------------------------------------------------------------------- prompt init


def test_prompt_init_draws_the_authors_random_pe_and_no_mask_embed() -> None:
    from avsmodel.modeling.sam_parts import authors_prompt_init, build_prompt_encoder
    from avsmodel.pretrained.registry import get_config

    cfg = get_config("sama_avs_vit_b")
    pe_mod = build_prompt_encoder(cfg)
    authors_prompt_init(pe_mod, seed=7)
    pe, emb = authors_prompt_tensors(cfg.prompt_embed_dim, seed=7)
    assert torch.equal(pe_mod.pe_layer.positional_encoding_gaussian_matrix, pe)
    assert torch.equal(pe_mod.no_mask_embed.weight.detach(), emb)
    assert pe.shape == (2, 128) and emb.shape == (1, 256)


# ----------------------------------------------------------------------------- a paper run


@pytest.fixture(scope="module")
def paper_run(tmp_path_factory):
    """A tiny model trained with the authors' choices: 13 train triplets, batch 4."""
    from avsmodel.training import train

    root = tmp_path_factory.mktemp("paper_run")
    manifest = make_manifest(root / "data", n={"train": 13, "val": 4, "test": 4})
    cfg = authors_choices() | {"epochs": 3, "batch_size": 4, "lr": 1e-3, "min_lr": 1e-5,
                               "workers": 0}  # fmt: skip
    res = train(manifest, model="sama_avs_tiny", out=root / "run", config=cfg, progress=False)
    return res, manifest


def test_paper_run_steps_the_cosine_per_epoch_and_keeps_the_last_batch(paper_run) -> None:
    res, _ = paper_run
    steps = [r["steps"] for r in res.history]
    assert steps == [len(authors_batch_sizes(13, 4))] * 3 == [4, 4, 4]
    their = authors_lrs(1e-3, 1e-5, 3)  # the lr of each epoch; ours logs the next one's
    logged = [r["lr"] for r in res.history]
    assert logged[:2] == pytest.approx(their[1:], rel=1e-9)


def test_paper_run_records_the_random_pe_and_eval_rebuilds_it(paper_run) -> None:
    from avsmodel.checkpoint import read_checkpoint
    from avsmodel.modeling.sam_parts import PE_KEY
    from avsmodel.pretrained.build import build_from_checkpoint

    res, _ = paper_run
    pe, _ = authors_prompt_tensors(64, seed=0)
    ck = read_checkpoint(res.last_path)
    assert torch.equal(ck.frozen_state[PE_KEY], pe)
    net, _ = build_from_checkpoint(res.last_path)
    assert torch.equal(net.state_dict()[PE_KEY], pe)


def test_eval_follows_the_run_recipe_and_flags_override(paper_run) -> None:
    from avsmodel.checkpoint import read_checkpoint, save_checkpoint
    from avsmodel.evaluation import evaluate
    from avsmodel.pretrained.build import build_from_checkpoint

    res, manifest = paper_run
    # Weights that segment something (3 epochs on 13 images predict background only).
    ck = read_checkpoint(res.last_path)
    g = torch.Generator().manual_seed(3)
    noisy = {k: v + 0.3 * torch.randn(v.shape, generator=g) for k, v in ck.state_dict.items()}
    path = res.out.parent / "noisy.pt"
    save_checkpoint(path, ck.replace(state_dict=noisy))
    r = evaluate(path, manifest=manifest, split="test", progress=False)
    assert (r["resize"], r["score_size"]) == ("squash", "input")
    assert 0.02 < r["miou"] < 0.98  # neither empty nor everything
    # Reference: the authors' scoring, each frame squashed to S and scored at S.
    net, _ = build_from_checkpoint(path)
    from avsmodel.data import ManifestDataset

    ds = ManifestDataset(manifest, "test", image_size=128, audio_examples=1, resize="squash")
    ious = []
    for i, t in enumerate(ds.records):
        root = manifest.parent
        x = authors_image(root / t.image.path, 128)
        gt = authors_mask(root / t.mask.path, 128) > 0.5
        with torch.no_grad():
            low = net(x[None], ds[i]["audio"][None])
        pred = torch.nn.functional.interpolate(low, (128, 128), mode="bilinear",
                                               align_corners=False)[0, 0] > 0  # fmt: skip
        ious.append(float((pred & gt).sum()) / float((pred | gt).sum()))
    assert r["miou"] == pytest.approx(float(np.mean(ious)), abs=1e-6)
    o = evaluate(path, manifest=manifest, split="test", progress=False, resize="pad",
                 score_size="ground_truth")  # fmt: skip
    assert (o["resize"], o["score_size"]) == ("pad", "ground_truth")
    assert o["miou"] != r["miou"]


def test_squash_input_equals_the_authors_transform(tmp_path: Path) -> None:
    from avsmodel.transforms import SamTransform

    manifest = make_manifest(tmp_path / "d", n={"train": 2}, size=(48, 80))
    img_path = next(iter(sorted((tmp_path / "d" / "images").iterdir())))
    mask_path = tmp_path / "d" / "masks" / img_path.name
    tf = SamTransform(128, "squash")
    x, hw = tf.image(np.asarray(Image.open(img_path).convert("RGB")))
    assert hw == (128, 128)
    assert torch.allclose(x, authors_image(img_path, 128), atol=1e-5)
    m = tf.mask(np.asarray(Image.open(mask_path)) >= 128)
    assert torch.equal(m, authors_mask(mask_path, 128))
    assert manifest.is_file()


def test_predict_on_the_input_grid_and_resize_override(paper_run, tmp_path: Path) -> None:
    from avsmodel.inference import predict

    res, manifest = paper_run
    img = next(iter(sorted((manifest.parent / "images").iterdir())))
    wav = manifest.parent / "audio" / f"{img.stem}.wav"
    r = predict(res.last_path, img, wav, tmp_path / "a.png", score_size="input")
    assert (r["resize"], r["score_size"]) == ("squash", "input")
    with Image.open(tmp_path / "a.png") as im:
        assert im.size == (128, 128)  # the squashed input grid, as their infer returns
    r = predict(res.last_path, img, wav, tmp_path / "b.png", resize="pad")
    with Image.open(tmp_path / "b.png") as im, Image.open(img) as src:
        assert im.size == src.size and r["resize"] == "pad"


# ----------------------------------------------------------------------------- few-shot lists


def test_train_list_keeps_the_first_int_n_r_in_list_order(tmp_path: Path) -> None:
    from avsmodel.data import train_val_datasets

    manifest = make_manifest(tmp_path / "d", n={"train": 10, "val": 2})
    ids = [f"t{k:04d}" for k in (7, 2, 9, 0, 4, 1, 8, 3, 6, 5)]  # a "shuffled CSV"
    lst = tmp_path / "ids.txt"
    lst.write_text("# shuffled\n" + "\n".join(ids) + "\n\n")
    for ratio in (0.1, 0.25, 0.5, 1.0):
        train, _, data = train_val_datasets(manifest, image_size=128, audio_examples=1,
                                            train_fraction=ratio, train_list=lst)  # fmt: skip
        want = authors_few_shot(ids, ratio)
        assert sorted(train.ids()) == sorted(want) and len(want) == int(10 * ratio)
        assert data["train_items"] == len(want) and data["train_list"] == str(lst.resolve())


def test_train_list_errors_name_the_line(tmp_path: Path) -> None:
    from avsmodel.data import train_val_datasets

    manifest = make_manifest(tmp_path / "d", n={"train": 4, "val": 2})
    lst = tmp_path / "ids.txt"
    lst.write_text("t0000\nt0001\nnope\n")
    with pytest.raises(DataError, match=r"ids\.txt:3: id 'nope' is not in the train split"):
        train_val_datasets(manifest, image_size=128, audio_examples=1, train_list=lst)
    lst.write_text("t0000\nt0001\nt0000\n")
    with pytest.raises(ConfigError, match=r"ids\.txt:3: id 't0000' repeats line 1"):
        train_val_datasets(manifest, image_size=128, audio_examples=1, train_list=lst)
    lst.write_text("t0000\nt0001\n")
    with pytest.raises(ConfigError, match="keeps none"):
        train_val_datasets(manifest, image_size=128, audio_examples=1, train_list=lst,
                           train_fraction=0.3)  # fmt: skip


def test_train_cli_takes_a_train_list(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from avsmodel.cli import app

    manifest = make_manifest(tmp_path / "d", n={"train": 6, "val": 2})
    lst = tmp_path / "ids.txt"
    lst.write_text("t0005\nt0003\nt0001\nt0000\n")
    args = ["train", str(manifest), "--model", "sama_avs_tiny", "--out", str(tmp_path / "run"),
            "--epochs", "1", "--train-list", str(lst), "--train-fraction", "0.5",
            "--workers", "0"]  # fmt: skip
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    kept = (tmp_path / "run" / "train_subset.txt").read_text().split()
    assert sorted(kept) == sorted(authors_few_shot(["t0005", "t0003", "t0001", "t0000"], 0.5))


def test_warm_start_keeps_the_encoding_of_the_run_it_starts_from(paper_run, tmp_path) -> None:
    from avsmodel.checkpoint import read_checkpoint
    from avsmodel.modeling.sam_parts import PE_KEY
    from avsmodel.training.run_setup import setup_model

    res, _ = paper_run
    cfg = load_config("sama_avs_tiny", authors_choices() | {"seed": 5})
    pe0, _ = authors_prompt_tensors(64, seed=0)  # the paper run's (seed 0)
    pe5, emb5 = authors_prompt_tensors(64, seed=5)
    fresh, _, _ = setup_model("sama_avs_tiny", cfg, None, None, None, None, out=tmp_path)
    assert torch.equal(fresh.state_dict()[PE_KEY], pe5)
    assert torch.equal(fresh.prompt_encoder.no_mask_embed.weight.detach(), emb5)
    warm, _, frozen = setup_model("sama_avs_tiny", cfg, None, None, None, res.last_path,
                                  out=tmp_path)  # fmt: skip
    ck = read_checkpoint(res.last_path)
    assert torch.equal(warm.state_dict()[PE_KEY], pe0) and torch.equal(frozen[PE_KEY], pe0)
    nme = "prompt_encoder.no_mask_embed.weight"
    assert torch.equal(warm.prompt_encoder.no_mask_embed.weight.detach(), ck.state_dict[nme])
    assert not torch.equal(pe0, pe5)
