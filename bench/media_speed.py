"""Throughput of the media stage of ``avsynth build`` against its floor, in one run.

Generates (once, cached under ``--data``) sources of realistic sizes in the real layouts:

* LVIS: COCO-sized JPEGs (640x480, textured, ~100-200 KB at quality 92) with star-shaped
  polygons of 20-100 vertices in ``lvis_v1_train.json``;
* Open Images: full-size JPEGs (1024x768) with their mask PNGs in ``train-masks-{h}.zip``
  (half at the image's size, half at half of it, as real masks vary);
* VGGSound: 10 s mp4 clips with an H.264 video stream (320x240, 25 fps, ~500 kbit/s) and
  stereo AAC at 44.1 or 48 kHz.

It plans them with :func:`avsynth.plan` and then times, interleaved round after round:

* ``floor``: the same decode/encode work in a bare loop with the same libraries: read and
  write each image's bytes; rasterise each polygon (pycocotools) or read its PNG from the zip
  (PIL), resize to the image, encode the PNG and write it; decode each clip's audio (PyAV),
  average the channels, resample to 16 kHz (soxr), write the WAV (soundfile);
* ``workers_1`` / ``workers_2``: :func:`avsynth.materialise.run_media` into a fresh folder.

Throughput is in triplets/s (median over rounds). ``--json`` prints one object with
``ratio_to_floor`` (1 worker / floor), ``scaling_2_workers`` (2 workers / 1 worker), the
throughputs, the CPU seconds of each run (this process and its children) and their ratios,
the floor's time per step, the pipeline's CPU time per task kind, the projected time of a
full build and the load average. On a shared machine with Linux's session autogroups
(``/proc/sys/kernel/sched_autogroup_enabled``) a session's processes share one fair slice
of the CPU, so under load ``scaling_2_workers`` measures the scheduler, not the code; the
CPU-time figures do not depend on it.

Usage::

    .venv/bin/python bench/media_speed.py [--triplets 48] [--rounds 3] [--json]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
CATS = (
    ("dog", "/m/0bt9lr", "Dog", "dog barking"),
    ("cat", "/m/01yrx", "Cat", "cat meowing"),
    ("horse", "/m/03k3r", "Horse", "horse clip-clop"),
    ("piano", "/m/05r5c", "Piano", "playing piano"),
)


# ----------------------------------------------------------------------------- inputs


def _texture(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A photo-like image: smooth colour field + shapes + sensor noise (JPEG-realistic size)."""
    from PIL import Image

    small = rng.integers(0, 255, (h // 32 + 1, w // 32 + 1, 3), dtype=np.uint8)
    base = np.asarray(Image.fromarray(small).resize((w, h), Image.Resampling.BICUBIC), np.int16)
    yy, xx = np.mgrid[0:h, 0:w]
    for _ in range(6):
        cy, cx, r = rng.integers(0, h), rng.integers(0, w), rng.integers(20, h // 3)
        base[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = rng.integers(0, 255, 3)
    noise = rng.normal(0, 9, (h, w, 3))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def _star(rng: np.random.Generator, h: int, w: int) -> tuple[list[float], np.ndarray]:
    from pycocotools import mask as mask_utils

    n = int(rng.integers(20, 101))
    cy, cx = rng.uniform(0.35, 0.65) * h, rng.uniform(0.35, 0.65) * w
    r0 = rng.uniform(0.18, 0.3) * min(h, w)
    ang = np.sort(rng.uniform(0, 2 * np.pi, n))
    rad = r0 * rng.uniform(0.6, 1.0, n)
    poly = np.stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang)], 1).round(2).ravel()
    rle = mask_utils.merge(mask_utils.frPyObjects([poly.tolist()], h, w))
    return poly.tolist(), mask_utils.decode(rle).astype(bool)


def _mp4(path: Path, rng: np.random.Generator, rate: int, seconds: float = 10.0) -> None:
    import av

    t = np.arange(int(rate * seconds)) / rate
    f0 = rng.uniform(200, 800)
    wave = 0.3 * np.sin(2 * np.pi * f0 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 0.7 * t))
    wave = wave + rng.normal(0, 0.02, t.size)
    stereo = np.stack([wave, 0.8 * wave]).astype(np.float32)
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as c:
        vs = c.add_stream("libx264", rate=25, options={"preset": "ultrafast"})
        vs.width, vs.height, vs.pix_fmt, vs.bit_rate = 320, 240, "yuv420p", 500_000
        st = c.add_stream("aac", rate=rate)
        st.layout, st.bit_rate = "stereo", 128_000
        for i in range(0, stereo.shape[1], 1024):
            fr = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(stereo[:, i : i + 1024]), format="fltp", layout="stereo"
            )
            fr.sample_rate, fr.pts = rate, i
            for p in st.encode(fr):
                c.mux(p)
        for p in st.encode(None):
            c.mux(p)
        img = _texture(rng, 240, 320)
        for k in range(int(25 * seconds)):
            vf = av.VideoFrame.from_ndarray(np.roll(img, 4 * k, axis=1), format="rgb24")
            vf.pts = k
            for p in vs.encode(vf):
                c.mux(p)
        for p in vs.encode(None):
            c.mux(p)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue())


def make_inputs(root: Path, n: int, seed: int = 0) -> dict[str, Path]:
    """Write ``n`` triplets' worth of sources below ``root`` (kept when already there)."""
    from avsynth.testing.sources import write_lvis, write_openimages, write_vggsound

    marker = root / f"done-{n}-{seed}"
    roots = {k: root / k for k in ("lvis", "openimages", "vggsound")}
    if marker.is_file():
        return roots
    shutil.rmtree(root, ignore_errors=True)
    rng = np.random.default_rng(seed)
    n_lvis, n_oi = n // 2, n - n // 2
    images, anns, arrays = [], [], {}
    for i in range(n_lvis):
        h, w = (480, 640) if i % 3 else (640, 480)
        arrays[1000 + i] = _texture(rng, h, w)
        images.append({"id": 1000 + i, "width": w, "height": h})
        poly, _ = _star(rng, h, w)
        anns.append(
            {"id": i + 1, "image_id": 1000 + i, "category_id": i % len(CATS) + 1,
             "segmentation": [poly]}
        )  # fmt: skip
    cats = [{"id": k + 1, "name": c[0]} for k, c in enumerate(CATS)]
    write_lvis(roots["lvis"], "train", images, anns, cats, image_arrays=arrays)
    rows, masks, oi_arrays = [], [], {}
    for i in range(n_oi):
        iid = f"{(i * 2654435761 + 17) % (1 << 64):016x}"
        oi_arrays[iid] = _texture(rng, 768, 1024)
        mh, mw = (768, 1024) if i % 2 else (384, 512)
        masks.append(_star(rng, mh, mw)[1])
        rows.append({"ImageID": iid, "LabelName": CATS[i % len(CATS)][1]})
    write_openimages(
        roots["openimages"], "train", rows, masks, {c[1]: c[2] for c in CATS},
        image_arrays=oi_arrays,
    )  # fmt: skip
    vrows = []
    per_label = n // len(CATS) + 4
    for k, (_, _, _, label) in enumerate(CATS):
        for j in range(per_label):
            yt = f"b{k}-{j:08d}"
            vrows.append((yt, 30, label, "test" if j % 3 == 0 else "train"))
            _mp4(roots["vggsound"] / "video" / f"{yt}_000030.mp4", rng, (44100, 48000)[j % 2])
    write_vggsound(roots["vggsound"], vrows)
    marker.write_text("ok\n")
    return roots


def make_plan(roots: dict[str, Path], n: int):
    import avsynth
    from avsynth.catmap.schema import Category, CategoryMap, LvisRef, OpenImagesRef

    cmap = CategoryMap(
        1,
        "bench",
        tuple(
            Category(name, (LvisRef(name, f"{name}.n.01"),), (OpenImagesRef(mid, disp),), (lab,))
            for name, mid, disp, lab in CATS
        ),
        sha256="0" * 64,
    )
    k = max(1, n // 10)
    return avsynth.plan(
        cmap,
        vggsound=roots["vggsound"],
        lvis=roots["lvis"],
        openimages=roots["openimages"],
        split_sizes=(n - 2 * k, k, k),
        require_clips=True,
        fingerprint=False,
    )


# ----------------------------------------------------------------------------- floor


def floor(plan, out: Path, steps: dict[str, float]) -> None:
    """The media work of ``plan`` in a bare loop with the same libraries (see module doc)."""
    import av
    import soundfile as sf
    import soxr
    from PIL import Image
    from pycocotools import mask as mask_utils

    from avsynth.materialise.convert import PNG_COMPRESS_LEVEL
    from avsynth.planning.keys import image_key

    def tick(name: str, t0: float) -> float:
        t = time.perf_counter()
        steps[name] = steps.get(name, 0.0) + t - t0
        return t

    images, masks, clips = {}, {}, {}
    for t in plan.triplets:
        images[image_key(t.mask)] = t.mask.image
        masks.setdefault(image_key(t.mask), []).append(t.mask)
        clips[t.clip.clip_id] = t.clip
    for dirname in ("images", "masks", "audio"):
        (out / dirname).mkdir(parents=True, exist_ok=True)
    for g, im in images.items():
        t0 = time.perf_counter()
        data = (Path(plan.roots[im.source]) / im.path).read_bytes()
        (out / "images" / f"{im.image_id}.jpg").write_bytes(data)
        w, h = Image.open(io.BytesIO(data)).size
        t0 = tick("image read+write", t0)
        for m in masks[g]:
            if m.source == "lvis":
                polys = json.loads(m.segmentation)
                arr = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(polys, h, w)))
                pil = Image.fromarray(arr * np.uint8(255))
            else:
                import zipfile

                zpath = Path(plan.roots["openimages"]) / f"train-masks-{im.image_id[0]}.zip"
                with zipfile.ZipFile(zpath) as zf, zf.open(m.mask_file) as f:
                    pil = Image.open(f).convert("L")
                    if pil.size != (w, h):
                        pil = pil.resize((w, h), Image.Resampling.NEAREST)
            t0 = tick("mask rasterise/read", t0)
            buf = io.BytesIO()
            pil.save(buf, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
            (out / "masks" / f"{m.mask_id}.png").write_bytes(buf.getvalue())
            t0 = tick("mask PNG encode+write", t0)
    for cid, c in clips.items():
        t0 = time.perf_counter()
        with av.open(str(Path(plan.roots["vggsound"]) / c.path)) as container:
            stream = container.streams.audio[0]
            rate = stream.rate
            chunks = [f.to_ndarray() for f in container.decode(stream)]
        x = np.concatenate(chunks, axis=1).mean(axis=0, dtype=np.float32)
        t0 = tick("audio demux+decode", t0)
        y = soxr.resample(x, rate, 16000, quality="HQ")[:160000]
        t0 = tick("audio resample", t0)
        sf.write(str(out / "audio" / f"{cid}.wav"), np.clip(y, -1, 1), 16000, subtype="PCM_16")
        tick("audio WAV write", t0)


# ----------------------------------------------------------------------------- timing


def _cpu() -> float:
    import resource

    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _time(kind: str, plan, tmp: Path, steps: dict[str, float], cpu: list[float]) -> float:
    from avsynth.materialise import run_media

    out = Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=tmp))
    c0 = _cpu()
    t0 = time.perf_counter()
    if kind == "floor":
        floor(plan, out, steps)
    else:
        run_media(plan, str(out), clip_seconds=10.0, workers=int(kind[-1]), progress=False)
    dt = time.perf_counter() - t0
    cpu.append(_cpu() - c0)
    shutil.rmtree(out)
    return dt


def per_task_cpu(plan, tmp: Path) -> dict[str, float]:
    """CPU ms per media task of the pipeline, by kind (one in-process pass, fresh output)."""
    from avsynth.materialise.runner import run_task
    from avsynth.materialise.tasks import media_tasks

    out = Path(tempfile.mkdtemp(prefix="tasks-", dir=tmp))
    tasks, _ = media_tasks(plan, str(out), 10.0)
    acc: dict[str, list[float]] = {}
    for task in tasks:
        kind = task.kind if task.kind == "clip" else f"image_{task.image.source}"
        t0 = time.process_time()
        run_task(task)
        acc.setdefault(kind, []).append(time.process_time() - t0)
    shutil.rmtree(out)
    return {k: round(1000 * statistics.mean(v), 2) for k, v in sorted(acc.items())}


def project(cpu_ms: dict[str, float], efficiency: float) -> dict[str, float]:
    """Hours for the full build (see docs/performance.md) at 8 and 32 workers on free cores.

    The full plan of the shipped map holds 62,609 triplets: 59,091 Open Images masks over
    54,255 images, 3,518 LVIS masks, 43,618 distinct clips. Each mask is costed as one image
    task of its source (an image with one mask: ~8 % over for the Open Images images that
    hold two), each clip as one clip task, at the CPU times measured here. Every worker is
    assumed to have a core of its own and to lose what the 2-worker runs lost in CPU time
    (``efficiency`` = CPU seconds at 1 worker / at 2 workers); the disk is assumed to keep up.
    """
    total_s = (
        59_091 * cpu_ms.get("image_openimages", 0.0)
        + 3_518 * cpu_ms.get("image_lvis", 0.0)
        + 43_618 * cpu_ms.get("clip", 0.0)
    ) / 1000
    eff = min(1.0, efficiency)
    return {
        "cpu_hours_1_core": round(total_s / 3600, 2),
        "workers_8_hours": round(total_s / (8 * eff) / 3600, 2),
        "workers_32_hours": round(total_s / (32 * eff) / 3600, 2),
        "efficiency_assumed": round(eff, 3),
    }


def run(data: Path, n: int, rounds: int) -> dict:
    t0 = time.perf_counter()
    roots = make_inputs(data, n)
    gen_s = time.perf_counter() - t0
    plan = make_plan(roots, n)
    triplets = len(plan.triplets)
    load_before = os.getloadavg()
    kinds = ["floor", "workers_1", "workers_2"]
    times: dict[str, list[float]] = {k: [] for k in kinds}
    cpu: dict[str, list[float]] = {k: [] for k in kinds}
    steps: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        _time("workers_1", plan, Path(tmp), {}, [])  # warm the page cache and the imports
        for r in range(rounds):
            for k in kinds[r % 3 :] + kinds[: r % 3]:  # rotate the order each round
                times[k].append(_time(k, plan, Path(tmp), steps, cpu[k]))
        task_ms = per_task_cpu(plan, Path(tmp))
    thr = {k: triplets / statistics.median(v) for k, v in times.items()}
    floor_total = sum(steps.values())
    return {
        "triplets": triplets,
        "images": len({t.mask.image.image_id for t in plan.triplets}),
        "clips": len({t.clip.clip_id for t in plan.triplets}),
        "rounds": rounds,
        "throughput_triplets_per_s": {k: round(v, 2) for k, v in thr.items()},
        "seconds": {k: [round(x, 3) for x in v] for k, v in times.items()},
        "cpu_seconds": {k: [round(x, 3) for x in v] for k, v in cpu.items()},
        "ratio_to_floor_cpu": round(
            statistics.median(cpu["floor"]) / statistics.median(cpu["workers_1"]), 3
        ),
        "ratio_to_floor": round(thr["workers_1"] / thr["floor"], 3),
        "scaling_2_workers": round(thr["workers_2"] / thr["workers_1"], 3),
        "floor_breakdown_pct": {
            k: round(100 * v / floor_total, 1) for k, v in sorted(steps.items())
        },
        "floor_ms_per_triplet": round(1000 * floor_total / (rounds * triplets), 2),
        "pipeline_cpu_ms_per_task": task_ms,
        "cpu_efficiency_2_workers": round(
            statistics.median(cpu["workers_1"]) / statistics.median(cpu["workers_2"]), 3
        ),
        "projection_full_build": project(
            task_ms, statistics.median(cpu["workers_1"]) / statistics.median(cpu["workers_2"])
        ),
        "load_avg_1m_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "cpus": os.cpu_count(),
        "inputs_generated_s": round(gen_s, 1),
        "python": sys.version.split()[0],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description="Media-stage throughput vs its floor.")
    ap.add_argument("--data", type=Path, default=HERE / "_data" / "media")
    ap.add_argument("--triplets", type=int, default=48)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()
    res = run(args.data, args.triplets, args.rounds)
    if args.json:
        print(json.dumps(res, indent=2))
        return
    print(f"{res['triplets']} triplets ({res['images']} images, {res['clips']} clips), "
          f"{res['rounds']} rounds; load avg {res['load_avg_1m_before_after']}")  # fmt: skip
    for k, v in res["throughput_triplets_per_s"].items():
        print(f"{k:<10} {v:8.2f} triplets/s   wall {res['seconds'][k]} cpu {res['cpu_seconds'][k]}")
    print(f"ratio_to_floor {res['ratio_to_floor']}  scaling_2_workers {res['scaling_2_workers']}")
    print("floor:", ", ".join(f"{k} {v}%" for k, v in res["floor_breakdown_pct"].items()))
    print("pipeline CPU ms per task:", res["pipeline_cpu_ms_per_task"])
    print("full build (62,609 triplets):", res["projection_full_build"])


if __name__ == "__main__":
    main()
