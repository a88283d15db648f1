"""The one-pass plan encoder writes exactly what to_triplet + encode_record write."""

from __future__ import annotations

import dataclasses
import math

import msgspec
import pytest
from build_fixtures import records, tiny_map

import avsynth.manifest.encode as encoder
import avsynth.planning.encode as encode
from avsynth.errors import ManifestError
from avsynth.manifest.encode import encode_record
from avsynth.manifest.io import ManifestWriter
from avsynth.manifest.schema import AudioRef, ImageRef, MaskRef, Triplet
from avsynth.planning.encode import manifest_lines
from avsynth.planning.keys import image_key
from avsynth.planning.manifest_records import to_triplet
from avsynth.planning.plan import PlannedTriplet
from avsynth.planning.planner import make_plan
from avsynth.sources.records import SourceClip, SourceImage, SourceMask


def _reference(triplets, *, clip_seconds, frames=None, sizes=None, materialised):
    frames, sizes = frames or {}, sizes or {}
    out = []
    for t in triplets:
        n = frames.get(t.clip.clip_id)
        secs = n / 16000 if n is not None else clip_seconds
        rec = to_triplet(t, clip_seconds=secs, image_size=sizes.get(image_key(t.mask)),
                         materialised=materialised)  # fmt: skip
        out.append(encode_record(rec) + b"\n")
    return b"".join(out)


def _encoded(triplets, **kw):
    parts = list(manifest_lines(triplets, **kw))
    assert sum(n for _, n in parts) == len(triplets)
    return b"".join(data for data, _ in parts)


def _odd_triplets() -> list[PlannedTriplet]:
    """Records the fast path must hand to the reference, or spell like it: tiny and huge
    floats, non-ASCII labels and licences, Open Images without sizes, LVIS with them."""
    lv = SourceImage("lvis", "391895", "train2017/000000391895.jpg", 640, 480, "ü-licence", "train")
    oi = SourceImage("openimages", "0001eeaf4aed83f9", "train/0001eeaf4aed83f9.jpg", None, None,
                     "CC BY 2.0", "train")  # fmt: skip
    clip = SourceClip("-x_y-Zz", 30, "dog barking", "train", "clips/-x_y-Zz_000030.mp4")
    clip2 = SourceClip("abc", 0, "chien qui aboie é", "test", None)
    masks = [
        SourceMask("lvis", "1", lv, "dog", (0.1, 0.2, 0.3, 0.4), 0.123456789, False, True),
        SourceMask("lvis", "2", lv, "dog", (0.00001, 0.2, 0.3, 0.4), 0.2, False, True),
        SourceMask("lvis", "3", lv, "dog", (0.0, 1.0, 0.5, 0.25), 1e-7, False, True),
        SourceMask(
            "openimages",
            "0001eeaf4aed83f9_m0bt9lr_1",
            oi,
            "/m/0bt9lr",
            (0.1234567891, 0.2, 0.3, 0.4),
            0.5,
            False,
            True,
            mask_file="0001eeaf4aed83f9_m0bt9lr_1.png",
            predicted_iou=0.9,
        ),  # fmt: skip
        SourceMask(
            "openimages",
            "0001eeaf4aed83f9_m0bt9lr_2",
            oi,
            "/m/0bt9lr",
            (0.99999999, 0.00004999, 0.3, 0.4),
            0.5,
            False,
            True,
            mask_file="0001eeaf4aed83f9_m0bt9lr_2.png",
        ),  # fmt: skip
    ]
    out = []
    for i, m in enumerate(masks):
        c = clip if i % 2 else clip2
        out.append(PlannedTriplet.single(f"{i:016x}", ("train", "val", "test")[i % 3], "dog", m, c))
    return out


@pytest.mark.parametrize("materialised", [False, True])
def test_encoded_lines_equal_the_reference_records_byte_for_byte(materialised):
    masks, clips = records(n_images=200)
    plan = make_plan(masks, clips, tiny_map(), split_sizes=(40, 10, 10), seed=3)
    triplets = plan.triplets + _odd_triplets()
    kw = {"clip_seconds": 10.0, "materialised": materialised}
    if materialised:  # sizes read from the files, frames of each clip's WAV
        kw["sizes"] = {image_key(t.mask): (64 + i, 48) for i, t in enumerate(triplets[::2])}
        kw["frames"] = {t.clip.clip_id: 16000 * 3 + i for i, t in enumerate(triplets[::3])}
    got = _encoded(triplets, **kw)
    assert got == _reference(triplets, **kw)
    assert got.count(b"\n") == len(triplets)
    assert "é".encode() in got and b"\\u" not in got  # UTF-8 as itself, as json.dumps writes


def test_encoded_lines_cross_chunk_boundaries_and_fallbacks_in_order(monkeypatch):
    monkeypatch.setattr(encode, "_CHUNK", 2)
    triplets = _odd_triplets() * 3
    parts = list(manifest_lines(triplets, clip_seconds=4.5, materialised=False))
    assert [n for _, n in parts] == [2] * 7 + [1]
    got = b"".join(d for d, _ in parts)
    assert got == _reference(triplets, clip_seconds=4.5, materialised=False)


def test_encoded_lines_reject_what_the_reference_rejects():
    bad = msgspec.structs.replace(_odd_triplets()[0].mask.image, path="../outside.jpg")
    t = _odd_triplets()[0]
    t = PlannedTriplet.single(t.id, t.split, t.category,
                              msgspec.structs.replace(t.mask, image=bad), t.clip)  # fmt: skip
    with pytest.raises(ManifestError) as ref:
        _reference([t], clip_seconds=10.0, materialised=False)
    with pytest.raises(ManifestError) as got:
        _encoded([t], clip_seconds=10.0, materialised=False)
    assert str(got.value) == str(ref.value) and "../outside.jpg" in str(got.value)
    for bad_seconds in (math.nan, math.inf):
        with pytest.raises(ValueError):
            _encoded(_odd_triplets()[:1], clip_seconds=bad_seconds, materialised=False)


def test_encoder_structs_have_the_record_fields_in_order():
    """A field added to the record classes must be added to the encoder's structs."""
    pairs = [(encoder.ImageStruct, ImageRef), (encoder.MaskStruct, MaskRef),
             (encoder.AudioStruct, AudioRef)]  # fmt: skip
    for struct, ref in pairs:
        assert struct.__struct_fields__ == tuple(f.name for f in dataclasses.fields(ref))
    v1 = [f.name for f in dataclasses.fields(Triplet)][:6]
    assert encoder.RecordStruct.__struct_fields__ == ("schema_version", *v1)


def test_manifest_writer_mixes_encoded_chunks_and_records(tmp_path):
    t = _odd_triplets()
    rec = to_triplet(t[0], clip_seconds=10.0, materialised=False)
    for name in ("m.jsonl", "m.jsonl.gz"):
        with ManifestWriter(tmp_path / name) as w:
            w.write(rec)
            for data, n in manifest_lines(t[1:], clip_seconds=10.0, materialised=False):
                w.write_encoded(data, n)
            w.write(rec)
        assert w.count == len(t) + 1
        from avsynth.manifest.io import read_manifest

        back = read_manifest(tmp_path / name)
        assert [x.id for x in back] == [x.id for x in [rec, *t[1:]]] + [rec.id]
        assert back[0] == rec and back[-1] == rec


def test_manifest_writer_gzips_a_manifest_named_jsonl_gz(tmp_path):
    """The temporary file ends in .tmp, yet a .jsonl.gz manifest must be gzip (it was once
    written as plain text under the .gz name, which no reader could open)."""
    import gzip

    rec = to_triplet(_odd_triplets()[0], clip_seconds=10.0, materialised=False)
    with ManifestWriter(tmp_path / "m.jsonl.gz") as w:
        w.write(rec)
    raw = (tmp_path / "m.jsonl.gz").read_bytes()
    assert raw[:2] == b"\x1f\x8b"
    assert gzip.decompress(raw) == encode_record(rec) + b"\n"
    assert not (tmp_path / "m.jsonl.gz.tmp").exists()
