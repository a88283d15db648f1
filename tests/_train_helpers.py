"""Small real-format inputs for the training/evaluation tests (no network, tiny sizes).

``make_manifest`` writes PNG images (two coloured shapes of different categories each), binary
mask PNGs of the sounding object and 16 kHz 16-bit WAVs (a tone per category), and a manifest
through ``avsynth.manifest.ManifestWriter``: exactly what a materialised avsynth build holds.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import soundfile as sf
from PIL import Image

from avsynth.manifest import AudioRef, ImageRef, ManifestWriter, MaskRef, Triplet

# category -> (RGB colour, tone Hz)
CATS = {
    "dog": ((220, 40, 40), 440.0),
    "cat": ((40, 60, 220), 1500.0),
    "piano": ((40, 200, 60), 3200.0),
}


def _shape_mask(h: int, w: int, cy: int, cx: int, r: int, kind: int) -> np.ndarray:
    yy, xx = np.mgrid[:h, :w]
    if kind == 0:
        return (np.abs(yy - cy) <= r) & (np.abs(xx - cx) <= r)
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r


def make_manifest(
    root: Path,
    *,
    n: dict[str, int] | None = None,
    size: tuple[int, int] = (48, 64),
    seconds: float = 2.0,
    seed: int = 0,
    cats: tuple[str, ...] = ("dog", "cat", "piano"),
) -> Path:
    """Write a tiny materialised build below ``root``; returns ``root/manifest.jsonl``.

    Args:
        root: Output folder.
        n: Triplets per split (default train 12, val 6, test 6).
        size: Image ``(height, width)``.
        seconds: Clip length.
        seed: Seed of the layouts.
        cats: Categories to draw from (need two or more).
    """
    n = n or {"train": 12, "val": 6, "test": 6}
    rng = np.random.default_rng(seed)
    root = Path(root)
    for sub in ("images", "masks", "audio"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    h, w = size
    records = []
    k = 0
    for split, count in n.items():
        for _ in range(count):
            a, b = rng.choice(len(cats), size=2, replace=False)
            img = np.full((h, w, 3), 128, np.uint8)
            img += rng.integers(0, 20, size=img.shape, dtype=np.uint8)
            masks = []
            for j, ci in enumerate((a, b)):
                r = int(min(h, w) * 0.18)
                cy = int(rng.integers(r, h - r))
                cx = int(rng.integers(r, w // 2 - r) + j * (w // 2))
                m = _shape_mask(h, w, cy, cx, r, j)
                img[m] = CATS[cats[ci]][0]
                masks.append(m)
            cat = cats[a]
            name = f"t{k:04d}"
            Image.fromarray(img).save(root / "images" / f"{name}.png")
            Image.fromarray(masks[0].astype(np.uint8) * 255).save(root / "masks" / f"{name}.png")
            t = np.arange(int(seconds * 16000)) / 16000.0
            wave = 0.3 * np.sin(2 * np.pi * CATS[cat][1] * t) + 0.01 * rng.standard_normal(t.size)
            sf.write(root / "audio" / f"{name}.wav", wave, 16000, subtype="PCM_16")
            ys, xs = np.nonzero(masks[0])
            bbox = (xs.min() / w, ys.min() / h, (np.ptp(xs) + 1) / w, (np.ptp(ys) + 1) / h)
            records.append(
                Triplet(
                    id=name,
                    split=split,
                    category=cat,
                    image=ImageRef(
                        f"images/{name}.png", "manifest", "lvis", str(k), "train", w, h, "CC BY 4.0"
                    ),
                    mask=MaskRef(
                        f"masks/{name}.png",
                        "manifest",
                        "lvis",
                        str(1000 + k),
                        cat,
                        tuple(float(v) for v in bbox),
                        float(masks[0].mean()),
                    ),
                    audio=AudioRef(
                        f"audio/{name}.wav",
                        "manifest",
                        "vggsound",
                        f"yt{k:05d}",
                        0,
                        cat,
                        "train",
                        16000,
                        seconds,
                        "CC BY 4.0",
                    ),
                )
            )
            k += 1
    path = root / "manifest.jsonl"
    with ManifestWriter(path) as wr:
        wr.write_all(records)
    return path


def write_avsbench(root: Path, *, seed: int = 0) -> Path:
    """A tiny AVSBench tree in the official layout (``avsbench_data/``)."""
    from avsmodel.audio import vggish_examples

    rng = np.random.default_rng(seed)
    base = root / "avsbench_data"
    s4, ms3 = base / "Single-source", base / "Multi-sources"
    rows4 = ["name,start,category,split"]
    rows3 = ["video_id,split"]

    def frame_and_mask(colour: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
        img = rng.integers(90, 140, size=(224, 224, 3), dtype=np.uint8)
        y, x = rng.integers(40, 150, size=2)
        m = np.zeros((224, 224), bool)
        m[y : y + 50, x : x + 50] = True
        img[m] = colour
        return img, m

    def audio(folder: Path, name: str, hz: float, with_pkl: bool) -> None:
        t = np.arange(5 * 16000) / 16000
        wave = (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)
        (folder / "audio_wav").mkdir(parents=True, exist_ok=True)
        sf.write(folder / "audio_wav" / f"{name}.wav", wave, 16000, subtype="PCM_16")
        if with_pkl:
            (folder / "audio_log_mel").mkdir(parents=True, exist_ok=True)
            with open(folder / "audio_log_mel" / f"{name}.pkl", "wb") as f:
                pickle.dump(vggish_examples(wave, 16000), f)

    k = 0
    for split in ("train", "val", "test"):
        for cat, colour, hz in (
            ("dog_barking", (200, 30, 30), 400.0),
            ("playing_piano", (30, 30, 200), 2000.0),
        ):
            name = f"vid{k:03d}"
            rows4.append(f"{name},0,{cat},{split}")
            d = s4 / "s4_data"
            for kk in range(1, 6):
                img, m = frame_and_mask(colour)
                fd = d / "visual_frames" / split / cat / name
                md = d / "gt_masks" / split / cat / name
                fd.mkdir(parents=True, exist_ok=True)
                md.mkdir(parents=True, exist_ok=True)
                Image.fromarray(img).save(fd / f"{name}_{kk}.png")
                if split != "train" or kk == 1:
                    Image.fromarray(m.astype(np.uint8) * 255).save(md / f"{name}_{kk}.png")
            audio_dir = d / "_tmp"
            audio(audio_dir, name, hz, with_pkl=(k % 2 == 0))
            for kind in ("audio_wav", "audio_log_mel"):
                src = audio_dir / kind
                if src.is_dir():
                    dst = d / kind / split / cat
                    dst.mkdir(parents=True, exist_ok=True)
                    for f in src.iterdir():
                        f.rename(dst / f.name)
            # MS3: same frames/masks under the MS3 layout (palette masks).
            vid = f"ms{k:03d}"
            rows3.append(f"{vid},{split}")
            d3 = ms3 / "ms3_data"
            (d3 / "visual_frames" / vid).mkdir(parents=True, exist_ok=True)
            (d3 / "gt_masks" / split / vid).mkdir(parents=True, exist_ok=True)
            for kk in range(1, 6):
                img, m = frame_and_mask(colour)
                Image.fromarray(img).save(d3 / "visual_frames" / vid / f"{vid}.mp4_{kk}.png")
                pm = Image.fromarray(m.astype(np.uint8), mode="P")
                pm.putpalette([0, 0, 0, 255, 255, 255] + [0] * 762)
                pm.save(d3 / "gt_masks" / split / vid / f"{vid}_{kk}.png")
            audio(d3 / "_tmp", vid, hz, with_pkl=True)
            for kind in ("audio_wav", "audio_log_mel"):
                dst = d3 / kind / split
                dst.mkdir(parents=True, exist_ok=True)
                for f in (d3 / "_tmp" / kind).iterdir():
                    f.rename(dst / f.name)
            k += 1
    (s4 / "s4_meta_data.csv").write_text("\n".join(rows4) + "\n")
    (ms3 / "ms3_meta_data.csv").write_text("\n".join(rows3) + "\n")
    return base


def seeded_checkpoint(path: Path, model: str = "sama_avs_tiny", *, seed: int = 0) -> Path:
    """An avsmodel checkpoint of an untrained, seeded ``model`` (one recipe thread)."""
    import torch

    import avsmodel
    from avsmodel.checkpoint import Checkpoint, save_checkpoint

    torch.manual_seed(seed)
    state = avsmodel.build_model(model).trainable_state_dict()
    cfg = {"seed": seed, "threads": 1, "val_batch_size": 4}
    save_checkpoint(path, Checkpoint(model=model, train_config=cfg, state_dict=state))
    return path


def torchrun_eval(ckpt: Path, args: list[str], *, nproc: int, cwd: Path) -> dict:
    """``torchrun --nproc_per_node NPROC avsmodel eval CKPT ARGS --json`` from this source
    tree; the JSON object rank 0 prints (asserting that only one rank prints)."""
    import json
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    driver = Path(cwd) / "avsmodel_cli.py"
    driver.write_text(
        f"import sys\nsys.path.insert(0, {str(root)!r})\n"
        "from avsmodel.cli import main\nsys.argv[0] = 'avsmodel'\nmain()\n"
    )
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    cmd += ["--nproc_per_node", str(nproc), str(driver), "eval", str(ckpt), *args, "--json"]
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    env["OMP_NUM_THREADS"] = "1"
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    lines = [x for x in r.stdout.splitlines() if x.startswith("{")]
    assert len(lines) == 1, r.stdout  # rank 0 prints, the others do not
    return json.loads(lines[0])


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (for a process group or a server)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
