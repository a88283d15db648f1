"""Typed manifest decoding: every reader (verify, stats, export, read/iter) refuses a record
whose field has the wrong type, is missing, holds an unknown choice or an absurd number, with
one line naming file:line and the field; verify's unusable data and line numbers."""

from __future__ import annotations

import gzip
import json
import math
import shutil

import pytest
from inspect_fixtures import make_build, run_cli
from PIL import Image

from avsynth.errors import ManifestError, ManifestRecordError
from avsynth.inspection import verify, verify_report
from avsynth.manifest import iter_manifest, read_manifest


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    return make_build(tmp_path_factory.mktemp("typed") / "b")


def _with_line(tmp_path, manifest, line_no: int, edit) -> tuple:
    """A copy of ``manifest``'s build with record ``line_no`` (1-based) edited by
    ``edit(dict)``; returns (path, line number)."""
    out = tmp_path / "m"
    shutil.copytree(manifest.parent, out)
    lines = manifest.read_text().splitlines()
    d = json.loads(lines[line_no - 1])
    edit(d)
    lines[line_no - 1] = json.dumps(d)  # json writes NaN / Infinity as the attacker's file
    path = out / "manifest.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path, line_no


def _set(keys: str, value):
    def edit(d):
        *head, last = keys.split(".")
        for k in head:
            d = d[k] if not k.isdigit() else d[int(k)]
        if last.isdigit():
            d[int(last)] = value
        else:
            d[last] = value

    return edit


def _drop(keys: str):
    def edit(d):
        *head, last = keys.split(".")
        for k in head:
            d = d[k]
        del d[last]

    return edit


# (edit, field the message must name, a word the message must hold)
BAD = [
    (_set("audio.duration", "long"), "audio.duration", "str"),
    (_set("audio.duration", [10.0]), "audio.duration", "array"),
    (_set("audio.duration", {"s": 10}), "audio.duration", "object"),
    (_set("audio.duration", math.inf), "audio.duration", "Infinity"),
    (_set("audio.duration", 1e20), "audio.duration", "<="),
    (_set("audio.duration", 1e999), "audio.duration", "Infinity"),
    (_set("mask.area_fraction", math.nan), "mask.area_fraction", "NaN"),
    (_set("mask.area_fraction", 1e6), "mask.area_fraction", "<="),
    (_set("mask.area_fraction", -0.5), "mask.area_fraction", ">="),
    (_set("mask.bbox", [0.1, 0.2, "x", 0.3]), "mask.bbox[2]", "str"),
    (_set("mask.bbox", [0.1, 0.2]), "mask.bbox", "length 4"),
    (_set("image.width", "64"), "image.width", "str"),
    (_set("image.width", 64.5), "image.width", "float"),
    (_set("image.height", -3), "image.height", ">="),
    (_set("audio.sample_rate", True), "audio.sample_rate", "bool"),
    (_set("audio.start_seconds", "30"), "audio.start_seconds", "str"),
    (_set("split", "dev"), "split", "train, val, test"),
    (_set("image.root", "elsewhere"), "image.root", "manifest, lvis"),
    (_set("id", 17), "id", "str"),
    (_drop("audio.duration"), "audio.duration", "missing"),
    (_drop("category"), "category", "missing"),
    (_set("audio.path", None), "audio.path", "null"),
    (_set("mask.path", None), "mask.path", "null"),
]


@pytest.mark.parametrize("edit,field,word", BAD, ids=[f"{f}-{w}" for _, f, w in BAD])
def test_readers_name_file_line_and_field(build, tmp_path, edit, field, word):
    path, line = _with_line(tmp_path, build, 5, edit)
    with pytest.raises(ManifestRecordError) as e:
        read_manifest(path)
    msg = str(e.value)
    assert "\n" not in msg
    assert msg.startswith(f"{path}:{line}: {field}:"), msg
    assert word in msg, msg
    assert e.value.field == field
    # verify lists it as an unusable record of that line and exits 1 (not a traceback)
    problems = verify(path, progress=False)
    hits = [p for p in problems if p.startswith(f"manifest.jsonl:{line}: unusable record")]
    assert len(hits) == 1 and field in hits[0], problems


@pytest.mark.parametrize("edit,field,word", BAD[:8], ids=[f"{f}-{w}" for _, f, w in BAD[:8]])
def test_cli_readers_print_one_line(build, tmp_path, monkeypatch, capsys, edit, field, word):
    path, line = _with_line(tmp_path, build, 3, edit)
    for args in (
        ("stats", path, "--out", tmp_path / "st", "--quiet"),
        ("export-avsbench", path, "--out", tmp_path / "ex", "--quiet"),
    ):
        code, _, err = run_cli(monkeypatch, capsys, *args)
        assert code == 1, (args, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and f":{line}: {field}:" in lines[0], err
    assert not (tmp_path / "st" / "stats.json").exists()
    assert not (tmp_path / "ex" / "export_info.json").exists()
    from avsynth.inspection.fiftyone_app import load_fiftyone  # inspect reads before FiftyOne

    with pytest.raises(ManifestRecordError) as e:
        load_fiftyone(path, name="typed-test", progress=False)
    assert str(e.value).startswith(f"{path}:{line}: {field}:")


def _v2(d):
    """Make a schema 2 ``single`` record of a schema 1 one (as a composed build writes it)."""
    d["schema_version"] = 2
    d["composition"] = "single"
    d["instances"] = [dict(d["mask"])]
    d["components"] = [
        {"category": d["category"], "visible": True, "gain_db": 0.0, "audio": dict(d["audio"])}
    ]


V2_BAD = [
    (_set("components.0.gain_db", "loud"), "components[0].gain_db", "str"),
    (_set("components.0.gain_db", math.inf), "components[0].gain_db", "Infinity"),
    (_set("components.0.visible", "yes"), "components[0].visible", "str"),
    (_set("components.0.audio.duration", [1]), "components[0].audio.duration", "array"),
    (_set("components.0.audio.path", None), "components[0].audio.path", "null"),
    (_set("instances.0.area_fraction", "big"), "instances[0].area_fraction", "str"),
    (_set("composition", "chorus"), "composition", "single, multi"),
    (_set("components", []), "components", "empty"),
    (_drop("components"), "components", "empty"),
]


@pytest.mark.parametrize("edit,field,word", V2_BAD, ids=[f for _, f, _ in V2_BAD])
def test_schema2_component_fields_are_typed(build, tmp_path, edit, field, word):
    good, _ = _with_line(tmp_path, build, 4, _v2)
    assert read_manifest(good)[3].components[0].gain_db == 0.0  # the edit alone is the fault
    path = tmp_path / "bad.jsonl"
    lines = good.read_text().splitlines()
    d = json.loads(lines[3])
    edit(d)
    lines[3] = json.dumps(d)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ManifestRecordError) as e:
        read_manifest(path)
    assert str(e.value).startswith(f"{path}:4: {field}:"), str(e.value)
    assert word in str(e.value)


@pytest.mark.parametrize(
    "text,word",
    [
        (b"", "holds no records"),
        (b"\n\n  \n", "holds no records"),
    ],
)
def test_empty_manifest_is_unusable(tmp_path, text, word):
    path = tmp_path / "manifest.jsonl"
    path.write_bytes(text)
    with pytest.raises(ManifestError, match=word):
        verify_report(path, progress=False)
    with pytest.raises(ManifestError, match=word):
        list(iter_manifest(path))


@pytest.mark.parametrize(
    "how,at", [("cut", 10), ("cut", 30), ("flip", -8), ("flip", 100), ("flip", 200)]
)
def test_corrupt_gz_is_one_line(build, tmp_path, how, at):
    data = gzip.compress(build.read_bytes(), mtime=0)
    assert len(data) > 300
    if how == "cut":
        bad = bytearray(data[:at]) + b"\x00" * 4  # truncated
    else:
        bad = bytearray(data)
        bad[at] ^= 0xFF  # a damaged deflate stream (zlib.error) or trailer (CRC)
    path = tmp_path / "manifest.jsonl.gz"
    path.write_bytes(bytes(bad))
    with pytest.raises(ManifestError) as e:
        read_manifest(path)
    # the file (and, where a damaged stream still inflates, the line): one line
    assert str(e.value).startswith(f"{path}:") and "\n" not in str(e.value)


@pytest.mark.parametrize("blanks", [1, 3])
def test_verify_line_numbers_count_blank_lines(build, tmp_path, blanks):
    out = tmp_path / "m"
    shutil.copytree(build.parent, out)
    orig = build.read_text().splitlines()
    lines = [orig[0]] + [""] * blanks + orig[1:] + [orig[1]]  # duplicate id at the end
    path = out / "manifest.jsonl"
    path.write_text("\n".join(lines) + "\n")
    problems = verify(path, progress=False)
    last, first = len(lines), 2 + blanks  # 1-based numbers of the file's lines
    assert problems == [
        f"manifest.jsonl:{last}: duplicate triplet id {json.loads(orig[1])['id']!r} "
        f"(first on line {first})"
    ]


@pytest.mark.parametrize("n", [201, 300])
def test_overlong_id_is_refused_on_read(build, tmp_path, n):
    path, line = _with_line(tmp_path, build, 2, _set("id", "x" * n))
    with pytest.raises(ManifestError) as e:
        read_manifest(path)
    assert f"{path}:{line}: id" in str(e.value) and "200" in str(e.value)


def _rgba_alpha_shape(path):
    """White RGB everywhere, the shape only in alpha."""
    grey = Image.open(path).convert("L")
    rgba = Image.new("RGBA", grey.size, (255, 255, 255, 255))
    rgba.putalpha(grey)
    rgba.save(path)


def _la_alpha_shape(path):
    grey = Image.open(path).convert("L")
    la = Image.merge("LA", (Image.new("L", grey.size, 0), grey))
    la.save(path)


def _palette_transparent(path):
    grey = Image.open(path).convert("L")
    p = Image.new("P", grey.size, 1)
    p.putpalette([255, 255, 255, 255, 255, 255] + [0] * 762)
    p.paste(0, mask=grey)
    p.info["transparency"] = 1
    p.save(path, transparency=1)


@pytest.mark.parametrize("write", [_rgba_alpha_shape, _la_alpha_shape, _palette_transparent])
def test_mask_with_shape_in_alpha_is_refused(tmp_path, write):
    m = make_build(tmp_path / "b")
    name = json.loads(m.read_text().splitlines()[0])["mask"]["path"]
    write(m.parent / name)
    problems = verify(m, progress=False)
    hits = [p.split(name, 1)[1] for p in problems if name in p]  # the text after the path
    assert len(hits) == 1 and "alpha channel that differs" in hits[0], problems


def _bomb_png(path, side=30000):
    """A valid PNG header claiming side x side pixels, with one tiny IDAT."""
    import struct
    import zlib

    def chunk(kind, data):
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
    png += chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
    path.write_bytes(png)


@pytest.mark.parametrize("kind", ["image", "mask"])
@pytest.mark.parametrize("side", [30000, 60000])
def test_decompression_bomb_is_one_problem(tmp_path, kind, side):
    m = make_build(tmp_path / "b")
    rec = json.loads(m.read_text().splitlines()[0])
    name = rec[kind]["path"]
    _bomb_png(m.parent / name, side)
    problems = verify(m, progress=False)
    hits = [p.split(name, 1)[1] for p in problems if name in p]  # the text after the path
    assert len(hits) == 1 and "does not decode" in hits[0], problems


@pytest.mark.parametrize("edit,field,word", BAD[:6], ids=[f"{f}-{w}" for _, f, w in BAD[:6]])
def test_training_dataset_gets_the_same_line(build, tmp_path, edit, field, word):
    from avsmodel.data.dataset import ManifestDataset

    path, line = _with_line(tmp_path, build, 1, edit)  # line 1 is a train record
    with pytest.raises(ManifestRecordError) as e:
        ManifestDataset(path, "train", image_size=64, audio_examples=1)
    assert str(e.value).startswith(f"{path}:{line}: {field}:") and word in str(e.value)


@pytest.mark.parametrize(
    "line,word",
    [
        (b"not json at all", "invalid JSON"),
        (b'{"id": "x", \xff\xfe}', "invalid JSON"),
        (b"[1, 2, 3]", "record: expected object, got array"),
        (b'"just a string"', "record: expected object, got str"),
        (b'{"schema_version": 9, "id": 3}', "unknown schema_version 9"),
    ],
)
def test_malformed_lines_name_file_and_line(build, tmp_path, line, word):
    path = tmp_path / "manifest.jsonl"
    lines = build.read_bytes().splitlines()
    path.write_bytes(b"\n".join([*lines[:2], line, *lines[2:]]) + b"\n")
    with pytest.raises(ManifestError) as e:
        read_manifest(path)
    assert str(e.value).startswith(f"{path}:3: ") and word in str(e.value), str(e.value)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("kind", ["image", "mask"])
def test_export_refuses_a_decompression_bomb_in_one_line(tmp_path, monkeypatch, capsys, kind):
    m = make_build(tmp_path / "b")
    name = json.loads(m.read_text().splitlines()[0])[kind]["path"]
    _bomb_png(m.parent / name, 30000)
    code, _, err = run_cli(monkeypatch, capsys, "export-avsbench", m, "--out", tmp_path / "ex",
                           "--quiet")  # fmt: skip
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1, err
    assert name in lines[0] and "does not decode" in lines[0].split(name, 1)[1], err
