"""``avsynth inspect`` of a composed build: composition, instances and component clips as
FiftyOne fields (real bundled mongod in a temporary folder, in a subprocess)."""

from __future__ import annotations

import os

os.environ["FIFTYONE_DO_NOT_TRACK"] = "true"  # before anything could import fiftyone

import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import textwrap  # noqa: E402

import psutil  # noqa: E402
import pytest  # noqa: E402
from compose_fixtures import build_composed, compose_world  # noqa: E402

from avsynth.manifest import read_manifest  # noqa: E402

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from avsynth.inspection import load_fiftyone

    ds = load_fiftyone(sys.argv[1], name="avsynth-test-compose", spectrograms=False,
                       progress=False)
    out = {}
    for s in ds:
        out[s.triplet_id] = {
            "composition": s.composition,
            "instances": [[d.label, d.bounding_box, d.mask_source_id]
                          for d in s.instances.detections],
            "components": [[c.label, c.visible, c.gain_db, c.youtube_id]
                           for c in s.components.classifications],
            "paths": s.component_audio_paths,
            "gt": s.ground_truth.mask_path,
        }
    print("RESULT " + json.dumps(out))
    """
)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_inspect_shows_composition_components_and_instances(tmp_path):
    w, cmap = compose_world(tmp_path / "w")
    r = build_composed(w, cmap, tmp_path / "b", split_sizes=(16, 4, 4))
    db = tmp_path / "db"
    env = dict(os.environ, FIFTYONE_DO_NOT_TRACK="true", FIFTYONE_DATABASE_DIR=str(db),
               FIFTYONE_DATABASE_VALIDATION="false")  # fmt: skip
    env.pop("FIFTYONE_DATABASE_URI", None)
    try:
        p = subprocess.run([sys.executable, "-c", SCRIPT, str(r.manifest)], env=env,
                           capture_output=True, text=True, timeout=500)  # fmt: skip
    finally:
        ours = [q for q in psutil.process_iter(["cmdline"])
                if any(str(db) in a for a in (q.info["cmdline"] or []))]  # fmt: skip
        for q in ours:
            q.terminate()
        psutil.wait_procs(ours, timeout=20)
    assert p.returncode == 0, p.stderr[-3000:]
    got = json.loads(next(x for x in p.stdout.splitlines() if x.startswith("RESULT "))[7:])
    recs = read_manifest(r.manifest)
    assert set(got) == {t.id for t in recs}
    for t in recs:
        g = got[t.id]
        assert g["composition"] == t.composition
        assert [i[2] for i in g["instances"]] == [m.source_id for m in t.instances]
        assert [i[1] for i in g["instances"]] == [list(m.bbox) for m in t.instances]
        assert [c[:3] for c in g["components"]] == [
            [c.category, c.visible, c.gain_db] for c in t.components
        ]
        assert [os.path.basename(x) for x in g["paths"]] == [
            os.path.basename(c.audio.path) for c in t.components
        ]
        assert g["gt"].endswith(t.mask.path.split("/")[-1])
    assert {g["composition"] for g in got.values()} == {"single", "multi", "offscreen", "partial"}
