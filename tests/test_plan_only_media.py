"""Plan-only manifests read through the one media API, and train end to end.

One set of tiny real-format sources (LVIS JSON + JPEGs, Open Images CSV + mask zips whose PNGs
are smaller than the images, VGGSound CSV + WAVs) is built twice with the same seed: once
plan-only, once materialised. The sources are then moved, so the plan-only manifest's recorded
roots are stale and only ``--lvis/--openimages/--vggsound`` (``roots=``) can find them.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from build_fixtures import build_tiny, write_sources

from avsmodel.data import ManifestDataset
from avsmodel.errors import DataError
from avsmodel.training import load_checkpoint, train
from avsynth.errors import AvsynthError, MediaError
from avsynth.manifest import read_manifest
from avsynth.manifest.media import ManifestMedia, read_mask

SIZES = (12, 4, 4)
MODEL = "sama_avs_tiny"
FAST = dict(batch_size=4, val_batch_size=8, workers=0)


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    base = tmp_path_factory.mktemp("po")
    roots = write_sources(base / "src", clip_seconds=1.5)
    plan = build_tiny(roots, base / "plan", plan_only=True, split_sizes=SIZES, clip_seconds=1.0)
    mat = build_tiny(roots, base / "mat", split_sizes=SIZES, clip_seconds=1.0)
    shutil.move(base / "src", base / "moved")  # the sidecar's roots now point nowhere
    moved = {k: base / "moved" / v.name for k, v in roots.items()}
    return {"plan": plan.manifest, "mat": mat.manifest, "roots": moved}


def test_both_builds_hold_the_same_triplets(builds) -> None:
    plan, mat = read_manifest(builds["plan"]), read_manifest(builds["mat"])
    assert [t.id for t in plan] == [t.id for t in mat]
    assert {t.image.source for t in plan} == {"lvis", "openimages"}
    assert all(t.mask.root != "manifest" for t in plan)
    assert all(t.mask.root == "manifest" for t in mat)


def test_plan_only_media_equal_materialised_media(builds) -> None:
    plan = ManifestMedia(builds["plan"], builds["roots"])
    mat = ManifestMedia(builds["mat"])
    by_id = {t.id: t for t in read_manifest(builds["mat"])}
    for t in read_manifest(builds["plan"]):
        m = by_id[t.id]
        assert np.array_equal(plan.image(t), mat.image(m)), t.id
        mask = plan.mask(t)
        assert mask.dtype == bool and mask.any(), t.id
        # Independent reference: the PNG the build wrote, read with PIL directly.
        from PIL import Image

        with Image.open(mat.path(m.mask)) as im:
            assert np.array_equal(mask, np.asarray(im) == 255), t.id
        a, b = plan.audio(t), mat.audio(m)
        assert a.shape == b.shape == (16000,)
        assert np.abs(a - b).max() <= 1.0 / 32767 + 1e-6  # the WAV's 16-bit quantisation


def test_plan_only_dataset_items_equal_materialised_items(builds) -> None:
    kw = dict(image_size=64, audio_examples=1, full_masks=True)
    plan = ManifestDataset(builds["plan"], "train", roots=builds["roots"], **kw)
    mat = ManifestDataset(builds["mat"], "train", **kw)
    assert [t.id for t in plan.records] == [t.id for t in mat.records]
    for i in range(len(plan)):
        a, b = plan[i], mat[i]
        assert torch.equal(a["image"], b["image"])
        assert torch.equal(a["mask"], b["mask"]) and torch.equal(a["mask_full"], b["mask_full"])
        assert a["size"] == b["size"] and a["resized"] == b["resized"]
        assert torch.allclose(a["audio"], b["audio"], atol=0.01)


def test_plan_only_without_roots_names_the_missing_file(builds) -> None:
    ds = ManifestDataset(builds["plan"], "train", image_size=64, audio_examples=1)
    with pytest.raises(DataError, match=r"(image|mask|audio|annotation|lvis_v1).* not found|no "):
        ds[0]


def test_open_images_mask_is_read_from_the_zip_not_root_maskpath(builds) -> None:
    roots = builds["roots"]
    t = next(t for t in read_manifest(builds["plan"]) if t.mask.source == "openimages")
    assert not (roots["openimages"] / t.mask.path).exists()  # Open Images never stores it there
    zips = sorted(roots["openimages"].glob("train-masks-*.zip"))
    assert zips
    assert ManifestMedia(builds["plan"], roots).mask(t).any()
    # Without the zip the mask is missing, and the error says where it was expected.
    h = t.image.source_id[0]
    hidden = roots["openimages"] / f"train-masks-{h}.zip"
    hidden.rename(hidden.with_suffix(".off"))
    try:
        with pytest.raises(MediaError, match=rf"{t.mask.path} not found.*train-masks-{h}\.zip"):
            ManifestMedia(builds["plan"], roots).mask(t)
    finally:
        hidden.with_suffix(".off").rename(hidden)


def test_mask_threshold_is_128_for_every_mode(tmp_path: Path) -> None:
    from PIL import Image

    grey = np.array([[0, 1, 127, 128, 200, 255]], np.uint8)
    Image.fromarray(grey, mode="L").save(tmp_path / "l.png")
    assert read_mask(tmp_path / "l.png").tolist() == [[False, False, False, True, True, True]]
    Image.fromarray(grey >= 128).save(tmp_path / "b.png")  # mode "1"
    assert read_mask(tmp_path / "b.png").tolist() == [[False, False, False, True, True, True]]
    pal = Image.fromarray(np.array([[0, 1, 2]], np.uint8), mode="P")
    pal.putpalette([0, 0, 0, 255, 255, 255, 40, 40, 40] + [0] * 759)  # black, white, dark grey
    pal.save(tmp_path / "p.png")
    assert read_mask(tmp_path / "p.png").tolist() == [[False, True, False]]
    with pytest.raises(AvsynthError, match=r"nope\.png: mask not found"):
        read_mask(tmp_path / "nope.png")


def _run_avsmodel(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    from avsmodel.cli import main

    old, sys.argv = sys.argv, ["avsmodel", *args]
    code = 0
    try:
        main()
    except SystemExit as e:
        code = int(e.code or 0)
    finally:
        sys.argv = old
    return code, capsys.readouterr().err


@pytest.mark.slow
def test_plan_only_trains_like_materialised(builds, tmp_path: Path, capsys) -> None:
    """Library: one epoch on each build; the losses agree (audio differs by 16-bit rounding)."""
    plan = train(
        builds["plan"],
        model=MODEL,
        out=tmp_path / "plan",
        roots=builds["roots"],
        epochs=1,
        progress=False,
        **FAST,
    )
    mat = train(builds["mat"], model=MODEL, out=tmp_path / "mat", epochs=1, progress=False, **FAST)
    rows = [json.loads((r.out / "metrics.jsonl").read_text().splitlines()[0]) for r in (plan, mat)]
    assert rows[0]["train_loss"] > 0
    assert rows[0]["train_loss"] == pytest.approx(rows[1]["train_loss"], rel=1e-3)
    assert rows[0]["val_miou"] == pytest.approx(rows[1]["val_miou"], abs=0.02)
    assert load_checkpoint(plan.last_path)["epoch"] == 1
    # Evaluation of one checkpoint on the plan-only and on the materialised test split agrees.
    from avsmodel.evaluation import evaluate

    on_plan = evaluate(
        plan.last_path, manifest=builds["plan"], roots=builds["roots"], progress=False
    )
    on_mat = evaluate(plan.last_path, manifest=builds["mat"], progress=False)
    assert on_plan["n"] == on_mat["n"] == SIZES[2]
    assert on_plan["miou"] == pytest.approx(on_mat["miou"], abs=1e-3)
    assert on_plan["per_category"].keys() == on_mat["per_category"].keys() != set()
    # CLI: the same run through `avsmodel train --lvis/--openimages/--vggsound`.
    r = builds["roots"]
    code, err = _run_avsmodel(
        [
            "train", str(builds["plan"]), "--model", MODEL, "--out", str(tmp_path / "cli"),
            "--epochs", "1", "--batch-size", "4", "--loader-workers", "0",
            "--lvis", str(r["lvis"]), "--openimages", str(r["openimages"]),
            "--vggsound", str(r["vggsound"]),
        ],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    cli_rows = (tmp_path / "cli" / "metrics.jsonl").read_text().splitlines()
    assert json.loads(cli_rows[0])["train_loss"] == pytest.approx(rows[0]["train_loss"], rel=1e-6)
    # Without the roots the CLI fails on one line naming what is missing.
    code, err = _run_avsmodel(
        ["train", str(builds["plan"]), "--model", MODEL, "--out", str(tmp_path / "x"),
         "--epochs", "1", "--loader-workers", "0"],
        capsys,
    )  # fmt: skip
    assert code == 1 and err.strip().split("\r")[-1].lstrip().startswith("error: "), err
