"""``avsynth export``: the command line, the ``export-avsbench`` alias, the output folder
rules (all or nothing, --overwrite) and one-line errors for bad media, input and disks."""

from __future__ import annotations

import errno
import json

import pytest
from export_fixtures import tree_digests
from inspect_fixtures import make_build, run_cli

from avsynth.errors import ManifestError, MediaError, OutputError
from avsynth.exporters import export
from avsynth.manifest import ManifestWriter, read_manifest


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    return make_build(tmp_path_factory.mktemp("cli") / "build", seconds=2.0)


def leftovers(folder):
    """Names of temporary folders an export left beside its output."""
    return sorted(p.name for p in folder.iterdir() if ".tmp-" in p.name or ".old-" in p.name)


@pytest.mark.parametrize("fmt", ["hf", "webdataset"])
def test_cli_writes_the_format_and_reports(manifest, tmp_path, monkeypatch, capsys, fmt):
    code, out, err = run_cli(
        monkeypatch, capsys, "export", manifest, "--format", fmt, "--out", tmp_path / "o",
        "--shard-size", "2", "--quiet",
    )  # fmt: skip
    assert code == 0, err
    assert f"12 samples (train 6, val 3, test 3) in 7 {fmt} shards" in out  # 3 + 2 + 2
    info = json.loads((tmp_path / "o" / "export_info.json").read_text())
    assert info["format"] == fmt and info["counts"] == {"train": 6, "val": 3, "test": 3}
    assert all((tmp_path / "o" / rel).is_file() for rel in info["shards"])
    assert leftovers(tmp_path) == []


def test_avsbench_format_equals_the_export_avsbench_alias(manifest, tmp_path, monkeypatch, capsys):
    code, out_a, _ = run_cli(
        monkeypatch, capsys, "export", manifest, "--format", "avsbench", "--out", tmp_path / "a",
        "--split", "val", "--quiet",
    )  # fmt: skip
    code_b, out_b, _ = run_cli(
        monkeypatch, capsys, "export-avsbench", manifest, "--out", tmp_path / "b",
        "--split", "val", "--quiet",
    )  # fmt: skip
    assert code == code_b == 0
    assert (
        out_a.split(" -> ")[0]
        == out_b.split(" -> ")[0]
        == ("3 videos (train 0, val 3, test 0), 3 categories")
    )
    a = tree_digests(tmp_path / "a" / "Single-source")
    assert a == tree_digests(tmp_path / "b" / "Single-source") and len(a) == 1 + 3 * 12


def test_cli_refuses_unknown_format(manifest, tmp_path, monkeypatch, capsys):
    code, out, err = run_cli(
        monkeypatch, capsys, "export", manifest, "--format", "tfrecord", "--out", tmp_path / "o"
    )
    assert code == 2 and "tfrecord" in err and "webdataset" in err
    assert not (tmp_path / "o").exists()


def test_out_rules_and_overwrite(manifest, tmp_path):
    out = tmp_path / "o"
    export(manifest, out, format="webdataset", split="test", progress=False)
    before = tree_digests(out)
    with pytest.raises(OutputError, match="earlier export; pass --overwrite"):
        export(manifest, out, format="webdataset", progress=False)
    assert tree_digests(out) == before
    report = export(manifest, out, format="webdataset", overwrite=True, progress=False)
    assert report.counts == {"train": 6, "val": 3, "test": 3}
    index = json.loads((out / "index.json").read_text())
    assert {s: e["num_samples"] for s, e in index["splits"].items()} == report.counts
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    for overwrite in (False, True):
        with pytest.raises(OutputError, match="not an avsynth export"):
            export(manifest, other, format="hf", overwrite=overwrite, progress=False)
    assert (other / "notes.txt").read_text() == "keep me"
    empty = tmp_path / "empty"
    empty.mkdir()
    export(manifest, empty, format="hf", split="val", progress=False)
    assert (empty / "README.md").is_file() and leftovers(tmp_path) == []


def test_missing_image_is_one_line_and_leaves_nothing(manifest, tmp_path):
    import shutil

    build = tmp_path / "build"
    shutil.copytree(manifest.parent, build)
    victim = build / "images" / "guitar-02.jpg"  # a val image
    victim.unlink()
    for fmt in ("hf", "webdataset"):
        with pytest.raises(MediaError) as e:
            export(build / "manifest.jsonl", tmp_path / fmt, format=fmt, progress=False)
        assert str(victim) in str(e.value) and "not found" in str(e.value)
        assert "\n" not in str(e.value)
        assert not (tmp_path / fmt).exists()
    assert leftovers(tmp_path) == []


def test_unreadable_image_and_missing_audio(manifest, tmp_path, monkeypatch, capsys):
    import shutil

    build = tmp_path / "build"
    shutil.copytree(manifest.parent, build)
    bad = build / "images" / "dog-03.jpg"
    bad.write_bytes(b"not a jpeg at all")
    code, _, err = run_cli(
        monkeypatch, capsys, "export", build / "manifest.jsonl", "--format", "hf",
        "--out", tmp_path / "o", "--quiet",
    )  # fmt: skip
    assert code == 1 and str(bad) in err and "does not decode" in err
    assert err.count("\n") == 1 and not (tmp_path / "o").exists()
    shutil.copy(manifest.parent / "images" / "dog-03.jpg", bad)
    wav = next((build / "audio").glob("*.wav"))
    wav.unlink()
    with pytest.raises(MediaError, match=f"{wav}: audio not found"):
        export(build / "manifest.jsonl", tmp_path / "o", format="webdataset", progress=False)


@pytest.mark.parametrize("fmt", ["hf", "webdataset"])
def test_full_disk_names_the_shard(manifest, tmp_path, monkeypatch, capsys, fmt):
    import builtins

    real_open = builtins.open

    class FullFile:
        """A file whose writes fail as on a full disk (ENOSPC)."""

        def __init__(self, f):
            self.f = f

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    def full_open(file, mode="r", *a, **kw):
        f = real_open(file, mode, *a, **kw)
        shard = str(file).endswith((".parquet", ".tar"))
        return FullFile(f) if shard and "w" in mode else f

    monkeypatch.setattr(builtins, "open", full_open)
    code, _, err = run_cli(
        monkeypatch, capsys, "export", manifest, "--format", fmt, "--out", tmp_path / "o",
        "--quiet",
    )  # fmt: skip
    monkeypatch.setattr(builtins, "open", real_open)
    first = "data/train-00000-of-00001.parquet" if fmt == "hf" else "train-000000.tar"
    assert code == 1 and err.count("\n") == 1
    assert f"error: {tmp_path / 'o' / first}: cannot write (No space left on device)" in err
    assert not (tmp_path / "o").exists() and leftovers(tmp_path) == []


def test_bad_arguments(manifest, tmp_path):
    with pytest.raises(ManifestError, match="--shard-size 0"):
        export(manifest, tmp_path / "o", format="hf", shard_size=0, progress=False)
    with pytest.raises(ManifestError, match="unknown export format 'hff'.*did you mean 'hf'"):
        export(manifest, tmp_path / "o", format="hff", progress=False)
    with pytest.raises(ManifestError, match=r"unknown split 'dev'.*has train, val, test\)"):
        export(manifest, tmp_path / "o", format="hf", split="dev", progress=False)
    no_test = manifest.parent / "no_test.jsonl"
    with ManifestWriter(no_test) as w:
        w.write_all(t for t in read_manifest(manifest) if t.split != "test")
    with pytest.raises(ManifestError, match=r"no triplets in split 'test' .*has train, val\)"):
        export(no_test, tmp_path / "o", format="webdataset", split="test", progress=False)
    assert not (tmp_path / "o").exists()


def test_repeated_ids_are_refused(manifest, tmp_path):
    from export_fixtures import with_ids

    # "dog-00" and "dog-01" both become "dog": the samples would share a key
    dup = with_ids(manifest, manifest.parent / "dup.jsonl", lambda i: i.split("-")[0])
    with pytest.raises(ManifestError, match="triplet id 'dog' appears twice"):
        export(dup, tmp_path / "o", format="webdataset", progress=False)
    assert not (tmp_path / "o").exists()


def test_public_function_is_the_exporter():
    import avsynth
    import avsynth.exporters

    assert avsynth.export is avsynth.exporters.export and callable(avsynth.export)
