"""A small materialised build in the real on-disk formats, for the inspect/stats/verify tests.

Writes ``manifest.jsonl`` + ``build_info.json`` with JPEG images, binary PNG masks (0/255) and
16 kHz mono 16-bit WAV clips below one folder, like ``avsynth build`` does. Categories have their
own colour/shape and their own tone so plots and the App screenshot show distinct content.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PIL import Image, ImageDraw

from avsynth.cli import main as cli_main
from avsynth.manifest import AudioRef, ImageRef, ManifestWriter, MaskRef, Triplet

RATE = 16000
CATEGORIES = {
    # name: (VGGSound label, colour, tone Hz, shape)
    "dog": ("dog barking", (200, 120, 40), 440.0, "ellipse"),
    "guitar": ("playing acoustic guitar", (60, 160, 60), 1200.0, "rectangle"),
    "bus": ("driving buses", (230, 200, 30), 2600.0, "polygon"),
}
SPLITS = ("train", "train", "val", "test")  # per category: 2 train, 1 val, 1 test


def _draw(shape: str, box: tuple[int, int, int, int], draw: ImageDraw.ImageDraw, fill) -> None:
    x0, y0, x1, y1 = box
    if shape == "ellipse":
        draw.ellipse(box, fill=fill)
    elif shape == "rectangle":
        draw.rectangle(box, fill=fill)
    else:
        draw.polygon([(x0, y1), ((x0 + x1) // 2, y0), (x1, y1)], fill=fill)


def write_clip(path: Path, tone: float, seconds: float, seed: int) -> None:
    """A 16 kHz mono PCM_16 WAV: a tone with a 4 Hz envelope plus a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(seconds * RATE))) / RATE
    env = 0.5 + 0.5 * np.sin(2 * np.pi * 4 * t) ** 2
    y = 0.4 * env * np.sin(2 * np.pi * tone * t) + 0.02 * rng.standard_normal(t.size)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), y.astype(np.float32), RATE, subtype="PCM_16")


def make_build(
    root: Path, *, width: int = 128, height: int = 96, seconds: float = 10.0, seed: int = 0
) -> Path:
    """Write a materialised build below ``root`` and return its ``manifest.jsonl``.

    12 triplets: 3 categories x (2 train, 1 val, 1 test); sources alternate LVIS / Open Images;
    the two train triplets of a category share one clip (clip reuse).
    """
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    triplets = []
    for ci, (cat, (label, colour, tone, shape)) in enumerate(CATEGORIES.items()):
        for k, split in enumerate(SPLITS):
            tid = f"{cat}-{k:02d}"
            src = "lvis" if k % 2 == 0 else "openimages"
            bg = rng.integers(20, 90, size=3)
            img = Image.new("RGB", (width, height), tuple(int(v) for v in bg))
            mask = Image.new("L", (width, height), 0)
            x0 = int(rng.integers(4, width // 2))
            y0 = int(rng.integers(4, height // 2))
            box = (x0, y0, x0 + width // 3, y0 + height // 3)
            _draw(shape, box, ImageDraw.Draw(img), colour)
            _draw(shape, box, ImageDraw.Draw(mask), 255)
            (root / "images").mkdir(exist_ok=True)
            (root / "masks").mkdir(exist_ok=True)
            img.save(root / "images" / f"{tid}.jpg", quality=92)
            mask.save(root / "masks" / f"{tid}.png")
            m = np.asarray(mask) > 0
            ys, xs = np.nonzero(m)
            bbox = (
                xs.min() / width,
                ys.min() / height,
                (xs.max() + 1 - xs.min()) / width,
                (ys.max() + 1 - ys.min()) / height,
            )
            clip_k = 0 if split == "train" else k
            ytid = f"yt{ci}{clip_k}{cat[:3]}"
            start = 10 * clip_k
            audio_rel = f"audio/{ytid}_{start:06d}.wav"
            if not (root / audio_rel).exists():
                write_clip(root / audio_rel, tone, seconds, seed=seed * 100 + ci * 10 + clip_k)
            triplets.append(
                Triplet(
                    id=tid,
                    split=split,
                    category=cat,
                    image=ImageRef(
                        path=f"images/{tid}.jpg",
                        root="manifest",
                        source=src,
                        source_id=str(1000 + ci * 10 + k),
                        subset="train" if src == "lvis" else "validation",
                        width=width,
                        height=height,
                        license="https://creativecommons.org/licenses/by/2.0/",
                    ),
                    mask=MaskRef(
                        path=f"masks/{tid}.png",
                        root="manifest",
                        source=src,
                        source_id=str(5000 + ci * 10 + k),
                        source_label=cat if src == "lvis" else "/m/0bt9lr",
                        bbox=tuple(float(v) for v in bbox),
                        area_fraction=float(m.mean()),
                    ),
                    audio=AudioRef(
                        path=audio_rel,
                        root="manifest",
                        source="vggsound",
                        youtube_id=ytid,
                        start_seconds=start,
                        label=label,
                        subset="train" if split == "train" else "test",
                        sample_rate=RATE,
                        duration=seconds,
                        license="CC BY 4.0",
                    ),
                )
            )
    manifest = root / "manifest.jsonl"
    with ManifestWriter(manifest) as w:
        w.write_all(triplets)
    info = {"roots": {}, "seed": seed, "counts": {"triplets": len(triplets)}}
    (root / "build_info.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
    return manifest


def run_cli(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    """Run the ``avsynth`` console entry in-process; return (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["avsynth", *map(str, args)])
    with pytest.raises(SystemExit) as e:
        cli_main()
    out = capsys.readouterr()
    return e.value.code or 0, out.out, out.err
