"""``avsynth inspect``: a real FiftyOne dataset in a real (bundled) mongod, and a real App.

FiftyOne reads its configuration when imported, so every FiftyOne step runs in a subprocess
with its own environment: ``FIFTYONE_DO_NOT_TRACK=true`` and a temporary
``FIFTYONE_DATABASE_DIR`` (FiftyOne starts its bundled ``mongod`` there). This module never
imports fiftyone itself. One dataset load (+ re-load) and one App launch keep it lean.
"""

from __future__ import annotations

import os

os.environ["FIFTYONE_DO_NOT_TRACK"] = "true"  # before anything could import fiftyone

import contextlib  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import textwrap  # noqa: E402
import time  # noqa: E402
import urllib.error  # noqa: E402
import urllib.parse  # noqa: E402
import urllib.request  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import psutil  # noqa: E402
import pytest  # noqa: E402
from _train_helpers import free_port  # noqa: E402
from inspect_fixtures import CATEGORIES, make_build  # noqa: E402
from PIL import Image  # noqa: E402

from avsynth.manifest import ManifestWriter, read_manifest  # noqa: E402

NAME = "avsynth-test-inspect"
HTTP_WAIT_S = 90


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    db = tmp_path_factory.mktemp("fiftyone-db")
    e = dict(os.environ)
    e.pop("FIFTYONE_DATABASE_URI", None)  # the bundled mongod, in a folder of our own
    e.update(
        FIFTYONE_DO_NOT_TRACK="true",
        FIFTYONE_DATABASE_DIR=str(db),
        FIFTYONE_DATABASE_VALIDATION="false",
        PYTHONUNBUFFERED="1",
    )
    yield e
    _stop_our_mongod(db)


def _stop_our_mongod(db: Path) -> None:
    """Stop the mongod (and its FiftyOne watcher) that serve our temporary database folder."""
    ours = []
    for p in psutil.process_iter(["pid", "cmdline"]):
        cmd = p.info["cmdline"] or []
        if any(str(db) in a for a in cmd):
            ours.append(p)
    for p in ours:
        p.terminate()
    _, alive = psutil.wait_procs(ours, timeout=20)
    for p in alive:
        p.kill()


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    return make_build(tmp_path_factory.mktemp("inspect"))


LOAD_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import fiftyone as fo
    from avsynth.inspection import load_fiftyone

    out = {}
    PLAN = sys.argv[1]
    for run, manifest in enumerate(sys.argv[2:]):
        ds = load_fiftyone(manifest, name=NAME, progress=False)
        s = ds.match({"triplet_id": "dog-00"}).first()
        out[run] = {
            "n": len(ds),
            "ids": sorted(ds.values("triplet_id")),
            "persistent": ds.persistent,
            "tags": ds.count_sample_tags(),
            "types": {k: type(s[k]).__name__ for k in ("category", "ground_truth", "box")},
            "sample": {k: s[k] for k in (
                "filepath", "triplet_id", "split", "audio_path", "vggsound_label", "youtube_id",
                "start_seconds", "image_source", "mask_source", "mask_source_label",
                "spectrogram_path", "preview_path", "area_fraction")},
            "tags0": s.tags,
            "category": s.category.label,
            "mask_path": s.ground_truth.mask_path,
            "media_fields": list(ds.app_config.media_fields),
            "active": list(ds.app_config.active_fields.paths),
            "sample_ids": dict(zip(ds.values("triplet_id"), ds.values("id"))),
        }
    # A plan-only build: masks decoded from LVIS polygons / Open Images zips into PNGs.
    plan = load_fiftyone(PLAN, name=NAME + "-plan", progress=False)
    out["plan"] = dict(zip(plan.values("triplet_id"), plan.values("ground_truth.mask_path")))
    print("RESULT " + json.dumps(out))
    """
).replace("NAME", repr(NAME))


def _run_py(script: str, args: list[str], env: dict, timeout: float = 300) -> str:
    r = subprocess.run(
        [sys.executable, "-c", script, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout


@pytest.fixture(scope="module")
def world_builds(tmp_path_factory):
    """A materialised and a plan-only build of a small demo world."""
    import avsynth
    from avsynth.testing.world import make_world

    root = tmp_path_factory.mktemp("world")
    w = make_world(root / "w", n_lvis_images=10, n_openimages_images=10, clips_per_label=10)
    cmap = w.write_category_map(root / "map.yaml")
    kw = dict(vggsound=w.vggsound_root, lvis=w.lvis_root, openimages=w.openimages_root)
    kw.update(split_sizes=(8, 2, 2), clip_seconds=2.0, progress=False)
    mat = avsynth.build(cmap, out=root / "mat", **kw)
    plan = avsynth.build(cmap, out=root / "plan", plan_only=True, **kw)
    return mat.manifest, plan.manifest


@pytest.fixture(scope="module")
def loaded(build, env, world_builds):
    """Load the manifest, then re-load an edited copy (2 triplets gone, 1 label changed)."""
    edited = build.parent / "edited.jsonl"
    triplets = [t for t in read_manifest(build) if t.id not in ("bus-02", "bus-03")]
    import dataclasses

    triplets[0] = dataclasses.replace(
        triplets[0], audio=dataclasses.replace(triplets[0].audio, label="dog howling")
    )
    with ManifestWriter(edited) as w:
        w.write_all(triplets)
    out = _run_py(LOAD_SCRIPT, [str(world_builds[1]), str(build), str(edited)], env)
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :])


def test_plan_only_masks(world_builds, loaded):
    """The App's masks of a plan-only build equal the materialised build's mask PNGs."""
    mat, plan = world_builds
    by_id = {t.id: t for t in read_manifest(mat)}
    assert set(loaded["plan"]) == set(by_id) and len(by_id) == 12
    for tid, path in loaded["plan"].items():
        p = Path(path)
        assert p.parent == plan.parent / "inspect" / "masks"
        got = np.asarray(Image.open(p))
        want = np.asarray(Image.open(mat.parent / by_id[tid].mask.path))
        assert got.dtype == np.uint8 and (got == want).all(), tid


def test_load_and_update(build, loaded):
    first, second = loaded["0"], loaded["1"]
    assert first["n"] == 12 and len(set(first["ids"])) == 12 and first["persistent"]
    assert first["tags"] == {"train": 6, "val": 3, "test": 3}
    assert first["types"] == {
        "category": "Classification",
        "ground_truth": "Segmentation",
        "box": "Detections",
    }
    s = first["sample"]
    root = build.parent
    assert s["filepath"] == str(root / "images" / "dog-00.jpg")
    assert first["mask_path"] == str(root / "masks" / "dog-00.png")
    assert s["audio_path"] == str(root / "audio" / "yt00dog_000000.wav")
    assert (s["vggsound_label"], s["split"], first["tags0"]) == ("dog barking", "train", ["train"])
    assert (s["image_source"], s["mask_source"], s["mask_source_label"]) == ("lvis",) * 2 + ("dog",)
    assert first["category"] == "dog"
    assert first["media_fields"] == ["filepath", "preview_path", "spectrogram_path"]
    assert first["active"] == ["category", "ground_truth"]
    for key, fmt in (("spectrogram_path", "PNG"), ("preview_path", "JPEG")):
        p = Path(s[key])
        assert p.is_file() and p.parent.parent == root / "inspect"
        with Image.open(p) as im:
            assert im.format == fmt and np.asarray(im.convert("L")).std() > 5
    # Re-loading updates in place: same sample ids, stale triplets removed, no duplicates.
    assert second["n"] == 10 and sorted(second["ids"]) == sorted(
        i for i in first["ids"] if i not in ("bus-02", "bus-03")
    )
    assert second["sample"]["vggsound_label"] == "dog howling"
    assert all(second["sample_ids"][k] == first["sample_ids"][k] for k in second["sample_ids"])


def _get(url: str, timeout: float = 5) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, b""


@contextlib.contextmanager
def _launched_app(build: Path, env: dict, log: Path):
    """``avsynth inspect --launch`` in a subprocess; yields (url, process, log path) and stops
    the process and the App server it started on exit, whatever state they are in."""
    port = free_port()
    cmd = [sys.executable, "-c", "from avsynth.cli import main; main()", "inspect", str(build)]
    cmd += ["--name", NAME, "--launch", "--port", str(port), "--quiet"]
    with open(log, "w") as f:
        proc = subprocess.Popen(cmd, env=env, stdout=f, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    children: list[psutil.Process] = []
    deadline = time.monotonic() + HTTP_WAIT_S
    try:
        while True:
            assert proc.poll() is None, log.read_text()[-3000:]
            try:
                if _get(url + "/", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "App did not answer within 90 s\n" + log.read_text()
            time.sleep(1)
        children = psutil.Process(proc.pid).children(recursive=True)
        yield url, proc, log
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
        for c in children:  # the App server FiftyOne started for this process
            if c.is_running():
                c.kill()


class _AppKeeper:
    """One running App at a time for this module: a test that stops it (Ctrl-C) does not
    break the tests after it, which get a fresh one, whatever order the tests run in."""

    def __init__(self, build: Path, env: dict, folder: Path) -> None:
        self.build, self.env, self.folder = build, env, folder
        self.stack = contextlib.ExitStack()
        self.current: tuple | None = None
        self.launches = 0

    def get(self) -> tuple:
        if self.current is None or self.current[1].poll() is not None:
            self.stack.close()  # stop what is left of the previous App
            self.launches += 1
            log = self.folder / f"app{self.launches}.log"
            self.current = self.stack.enter_context(_launched_app(self.build, self.env, log))
        return self.current


@pytest.fixture(scope="module")
def app_keeper(build, env, loaded, tmp_path_factory):
    keeper = _AppKeeper(build, env, tmp_path_factory.mktemp("app"))
    with keeper.stack:
        yield keeper


@pytest.fixture
def app(app_keeper):
    """A running App: (url, process, log path)."""
    return app_keeper.get()


@pytest.mark.slow
def test_app_serves_the_dataset(app, build, loaded):
    url, proc, log = app
    status, page = _get(url + "/")
    assert status == 200 and b"<html" in page.lower()
    # The server can answer a moment before the CLI prints its URL line: wait for it.
    deadline = time.monotonic() + 30
    while f"FiftyOne App: {url}/" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert f"FiftyOne App: {url}/" in log.read_text()
    # The App serves the samples' media (what the browser loads to draw image and mask).
    for rel in ("images/dog-00.jpg", "masks/dog-00.png"):
        q = urllib.parse.urlencode({"filepath": str(build.parent / rel)})
        status, body = _get(f"{url}/media?{q}")
        assert status == 200 and body == (build.parent / rel).read_bytes()
    # The CLI re-load restored the full manifest (no duplicates): 12 samples.
    assert "12 samples" in log.read_text()
    # A second App on the same port: one clear line, exit status 1, before any loading.
    port = url.rsplit(":", 1)[1]
    cmd = [sys.executable, "-c", "from avsynth.cli import main; main()", "inspect", str(build)]
    r = subprocess.run(
        [*cmd, "--launch", "--port", port], capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.strip() == (
        f"error: cannot serve the FiftyOne App on 127.0.0.1:{port} (Address already in use); "
        "choose another --port"
    )


NO_MASK_SCRIPT = textwrap.dedent(
    """
    import sys
    import fiftyone as fo

    src, dst, tid = sys.argv[1:]
    if fo.dataset_exists(dst):
        fo.delete_dataset(dst)
    # The same samples and App settings, without the mask field: the App has no mask to draw.
    ds = fo.load_dataset(src).clone(dst, persistent=True)
    ds.delete_sample_field("ground_truth")
    print("RESULT " + ds.match({"triplet_id": tid}).first().id)
    """
)
CHROMIUM = [
    "chromium",
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--hide-scrollbars",
    "--window-size=1400,900",
    "--virtual-time-budget=20000",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _open_sample(page: str, tid: str, shot: Path, bg: np.ndarray) -> tuple[str, np.ndarray]:
    """Headless Chromium on ``page``: its DOM once it names ``tid``, and its screenshot (RGB)
    once the image (its background colour ``bg``) is drawn."""
    for _ in range(4):  # the first page load of a fresh server can outlast the time budget
        dom = subprocess.run(
            [*CHROMIUM, "--dump-dom", page], capture_output=True, text=True, timeout=120
        ).stdout
        if tid in dom:
            break
    assert tid in dom, f"the App did not open {tid} at {page}:\n{dom[-2000:]}"
    for _ in range(3):  # the screenshot is another page load
        subprocess.run([*CHROMIUM, f"--screenshot={shot}", page], capture_output=True, timeout=120)
        with Image.open(shot) as im:
            assert im.size == (1400, 900)
            px = np.asarray(im.convert("RGB")).astype(np.float64)
        if (np.abs(px - bg).max(axis=2) <= 12).sum() > 10_000:
            return dom, px
    pytest.fail(f"the App did not draw the image of {tid}: {shot}")


def _image_grid(bare: np.ndarray, obj: np.ndarray, colour: np.ndarray) -> tuple[np.ndarray, ...]:
    """Screen rows and columns of the centres of the image's pixels in a screenshot.

    The App scales the image uniformly; the object (``colour``, where ``obj`` is true in the
    image) is found in the screenshot by its colour, and its box maps image to screen.
    """
    ys, xs = np.nonzero(np.abs(bare - colour).max(axis=2) <= 30)
    assert ys.size > 1000, "the App did not draw the sample's image"
    oy, ox = np.nonzero(obj)
    sy = (ys.max() + 1 - ys.min()) / (oy.max() + 1 - oy.min())
    sx = (xs.max() + 1 - xs.min()) / (ox.max() + 1 - ox.min())
    assert abs(sy / sx - 1) < 0.03, (sy, sx)  # one scale: this is the object, nothing else
    scale = (sx + sy) / 2
    rows = ys.min() - oy.min() * scale + (np.arange(obj.shape[0]) + 0.5) * scale
    cols = xs.min() - ox.min() * scale + (np.arange(obj.shape[1]) + 0.5) * scale
    return np.round(rows).astype(int), np.round(cols).astype(int)


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("chromium") is None,
    reason="chromium is not installed: the App screenshot test needs it "
    "(`make browser`, as root, installs Debian's chromium)",
)
def test_app_shows_sample_with_mask_in_chromium(app, build, env, loaded, tmp_path):
    """Headless Chromium opens the App on one sample and draws its mask over the image: in
    orange (the colour avsynth configures, at opacity 0.55), on the mask's pixels only.

    The reference is the same sample in a clone of the dataset without the mask field,
    screenshot the same way: at the centre of every image pixel the two screenshots differ
    exactly where the mask PNG is set, and there by an orange blend of the bare pixel.
    """
    url, _, _ = app
    tid = "guitar-00"  # a green rectangle on a dark background: the orange shows well on it
    colour = np.array(CATEGORIES["guitar"][1], dtype=np.float64)
    mask = np.asarray(Image.open(build.parent / "masks" / f"{tid}.png")) > 0
    with Image.open(build.parent / "images" / f"{tid}.jpg") as im:
        bg = np.median(np.asarray(im.convert("RGB"))[~mask], axis=0)
    sid = loaded["1"]["sample_ids"][tid]
    page = f"{url}/datasets/{NAME}?id={sid}"
    dom, shown = _open_sample(page, tid, tmp_path / "shown.png", bg)
    assert "ground_truth" in dom  # the mask field is on the page (in the sidebar)
    out = _run_py(NO_MASK_SCRIPT, [NAME, NAME + "-nomask", tid], env)
    bare_sid = next(x for x in out.splitlines() if x.startswith("RESULT "))[len("RESULT ") :]
    page = f"{url}/datasets/{NAME}-nomask?id={bare_sid}"
    dom, bare = _open_sample(page, tid, tmp_path / "bare.png", bg)
    assert "ground_truth" not in dom
    rows, cols = _image_grid(bare, mask, colour)  # the object was drawn with the mask's shape
    b, s = bare[rows][:, cols], shown[rows][:, cols]
    changed = np.abs(s - b).max(axis=2) > 40
    iou = (changed & mask).sum() / (changed | mask).sum()
    # Measured: IoU 0.98-1.0 and 0-0.2 % of the other pixels (antialiased edges, the App's
    # own hover chrome); without the mask drawn the IoU is 0.
    assert iou > 0.95 and (changed & ~mask).mean() < 0.01, (iou, tmp_path)
    # Where the mask is set: shown = bare + opacity * (orange - bare), the App's overlay.
    d, r = (np.array([255.0, 140.0, 0.0]) - b)[mask], (s - b)[mask]
    opacity = (d * r).sum() / (d * d).sum()
    assert 0.45 < opacity < 0.65 and np.abs(r - opacity * d).mean() < 6, (opacity, tmp_path)


@pytest.mark.slow
def test_ctrl_c_stops_the_app(app):
    # Stops the module's App; a test that runs after this one gets a fresh App (_AppKeeper).
    url, proc, log = app
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 0, log.read_text()[-3000:]
    assert "stopping the App" in log.read_text()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            _get(url + "/", timeout=2)
        except OSError:
            break  # nothing listens any more
        time.sleep(1)
    else:
        pytest.fail("the App server still answers 60 s after Ctrl-C")


@pytest.mark.slow
def test_users_own_mongodb_uri(build, tmp_path):
    """With FIFTYONE_DATABASE_URI the dataset goes to that server, not to a bundled mongod."""
    import importlib.util

    import pymongo

    pkg = importlib.util.find_spec("fiftyone").submodule_search_locations[0]  # not imported
    mongod = Path(pkg) / "db" / "bin" / "mongod"
    port = free_port()
    (tmp_path / "db").mkdir()
    server = subprocess.Popen(
        [str(mongod), "--dbpath", str(tmp_path / "db"), "--port", str(port)]
        + ["--bind_ip", "127.0.0.1", "--logpath", str(tmp_path / "mongod.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    uri = f"mongodb://127.0.0.1:{port}"
    try:
        client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=60_000)
        client.admin.command("ping")
        env = {k: v for k, v in os.environ.items() if not k.startswith("FIFTYONE_")}
        env.update(FIFTYONE_DO_NOT_TRACK="true", FIFTYONE_DATABASE_URI=uri)
        env["FIFTYONE_DATABASE_DIR"] = str(tmp_path / "unused")  # must stay unused
        cmd = [sys.executable, "-c", "from avsynth.cli import main; main()", "inspect"]
        cmd += [str(build), "--name", "uri-test", "--no-spectrograms", "--quiet"]
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr[-3000:]
        assert f"'uri-test': 12 samples (MongoDB at {uri}" in r.stdout
        db = client["fiftyone"]
        doc = db.datasets.find_one({"name": "uri-test"})
        assert doc is not None and doc["persistent"]
        assert db[doc["sample_collection_name"]].count_documents({}) == 12
        assert not (tmp_path / "unused").exists()
        client.close()
    finally:
        server.terminate()
        server.wait(30)
