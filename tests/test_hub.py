"""avsmodel download / name resolution against a local HTTP server (no internet).

The server (``http.server`` in a thread on 127.0.0.1) serves in-memory files with HTTP Range
support and can drop the connection midway through the first response.
"""

from __future__ import annotations

import hashlib
import http.server
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from avsmodel.errors import CheckpointError, ConfigError, DownloadError
from avsmodel.pretrained import download as hub
from avsynth.errors import OutputError


class _Server:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: list[tuple[str, str | None]] = []
        self.drop_first: set[str] = set()
        self.ignore_range = False
        self.slow: set[str] = set()  # names sent in small, slow pieces
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                name = self.path.rsplit("/", 1)[-1]
                rng = self.headers.get("Range")
                server.requests.append((name, rng))
                data = server.files.get(name)
                if data is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                start = 0
                if rng and not server.ignore_range:
                    start = int(rng.removeprefix("bytes=").split("-")[0])
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if name in server.drop_first:
                    server.drop_first.discard(name)
                    self.wfile.write(body[: len(body) // 3])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if name in server.slow:
                    for i in range(0, len(body), 16384):
                        self.wfile.write(body[i : i + 16384])
                        self.wfile.flush()
                        time.sleep(0.02)
                    return
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/weights"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = _Server()
    yield s
    s.close()


@pytest.fixture
def fake_vggish(monkeypatch):
    """The asset table's VGGish entry pointing at 300 kB of known bytes."""
    data = os.urandom(300_000)
    asset = hub.Asset("vggish", "vggish", "vggish-10086976.pth", "unused", "0" * 64)
    asset = hub.Asset(
        asset.name, asset.kind, asset.filename, asset.base_url, hashlib.sha256(data).hexdigest()
    )
    monkeypatch.setitem(hub.ASSETS, "vggish", asset)
    monkeypatch.setitem(hub._BY_NAME, "vggish", asset)
    return data


def test_good_file_downloads_and_verifies(server, fake_vggish, tmp_path):
    server.files["vggish-10086976.pth"] = fake_vggish
    (path,) = hub.download(["vggish"], dir=tmp_path, mirror=server.url, progress=False)
    assert path == tmp_path / "vggish-10086976.pth"
    assert path.read_bytes() == fake_vggish
    assert not (tmp_path / "vggish-10086976.pth.part").exists()
    # A second call finds the verified file and does not fetch again.
    n = len(server.requests)
    hub.download(["vggish"], dir=tmp_path, mirror=server.url, progress=False)
    assert len(server.requests) == n


def test_wrong_hash_removes_file_with_one_line_error(server, fake_vggish, tmp_path):
    server.files["vggish-10086976.pth"] = fake_vggish[:-1] + b"\x00"
    with pytest.raises(DownloadError) as e:
        hub.download(["vggish"], dir=tmp_path, mirror=server.url, progress=False)
    assert "SHA-256" in str(e.value) and "\n" not in str(e.value)
    assert list(tmp_path.iterdir()) == []  # neither the final name nor the .part


def test_interrupted_transfer_resumes_with_range(server, fake_vggish, tmp_path):
    server.files["vggish-10086976.pth"] = fake_vggish
    server.drop_first.add("vggish-10086976.pth")
    (path,) = hub.download(["vggish"], dir=tmp_path, mirror=server.url, progress=False)
    assert path.read_bytes() == fake_vggish
    assert server.requests[0] == ("vggish-10086976.pth", None)
    # The second request asked only for the bytes after those already on disk (the server
    # sent a third before dropping; the read in flight when it dropped is lost).
    assert len(server.requests) == 2
    name, rng = server.requests[1]
    start = int(rng.removeprefix("bytes=").removesuffix("-"))
    assert 0 < start <= len(fake_vggish) // 3


def test_part_left_by_an_earlier_run_is_resumed(server, fake_vggish, tmp_path):
    server.files["vggish-10086976.pth"] = fake_vggish
    (tmp_path / "vggish-10086976.pth.part").write_bytes(fake_vggish[:1000])
    hub.download(["vggish"], dir=tmp_path, mirror=server.url, progress=False)
    assert (tmp_path / "vggish-10086976.pth").read_bytes() == fake_vggish
    assert server.requests == [("vggish-10086976.pth", "bytes=1000-")]


def test_missing_on_server_and_mirror_env(server, fake_vggish, tmp_path, monkeypatch):
    monkeypatch.setenv("AVSMODEL_MIRROR", server.url)
    monkeypatch.setenv("AVSMODEL_HOME", str(tmp_path / "cache"))
    with pytest.raises(DownloadError, match="404"):
        hub.download(["vggish"], progress=False)
    server.files["vggish-10086976.pth"] = fake_vggish
    (path,) = hub.download(["vggish"], progress=False)
    assert path == tmp_path / "cache" / "vggish-10086976.pth"


def test_wrong_file_under_final_name_is_not_overwritten(server, fake_vggish, tmp_path):
    server.files["vggish-10086976.pth"] = fake_vggish
    (tmp_path / "vggish-10086976.pth").write_bytes(b"something else")
    with pytest.raises(DownloadError, match="--force"):
        hub.download(["vggish"], dir=tmp_path, mirror=server.url, progress=False)
    assert (tmp_path / "vggish-10086976.pth").read_bytes() == b"something else"
    hub.download(["vggish"], dir=tmp_path, mirror=server.url, progress=False, force=True)
    assert (tmp_path / "vggish-10086976.pth").read_bytes() == fake_vggish


def test_names_resolve_through_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("AVSMODEL_HOME", str(tmp_path))
    with pytest.raises(CheckpointError, match="avsmodel download sam_vit_h"):
        hub.resolve_weights("vit_h", "sam")
    (tmp_path / "sam_vit_h_4b8939.pth").write_bytes(b"x")
    assert hub.resolve_weights("vit_h", "sam") == tmp_path / "sam_vit_h_4b8939.pth"
    assert hub.resolve_weights("sam_vit_h", "sam") == tmp_path / "sam_vit_h_4b8939.pth"
    with pytest.raises(ConfigError, match="vggish weights"):
        hub.resolve_weights("vggish", "sam")
    # Paths pass through untouched (the loader reports a missing one).
    assert hub.resolve_weights(tmp_path / "mine.pth", "sam") == tmp_path / "mine.pth"
    assert hub.resolve_weights(None, "sam") is None


def test_build_model_takes_a_name(tmp_path, monkeypatch):
    from avsmodel import build_model

    monkeypatch.setenv("AVSMODEL_HOME", str(tmp_path))
    with pytest.raises(CheckpointError, match="avsmodel download vggish"):
        build_model("sama_avs_tiny", vggish_checkpoint="vggish", audio_encoder="vggish")


def test_asset_table_hash_conventions():
    # VGGish follows torch hub's convention: the name's digits start the SHA-256.
    v = hub.ASSETS["vggish"]
    assert v.sha256.startswith(v.filename.removeprefix("vggish-").removesuffix(".pth"))
    # SAM's digits are an MD5 prefix, not a SHA-256 prefix (the table keeps full SHA-256).
    for name in ("sam_vit_b", "sam_vit_l", "sam_vit_h"):
        a = hub.ASSETS[name]
        digits = a.filename.removesuffix(".pth").rsplit("_", 1)[1]
        assert len(a.sha256) == 64 and not a.sha256.startswith(digits)


def test_cli_download_error_is_one_line(server, tmp_path):
    env = {**os.environ, "AVSMODEL_MIRROR": server.url, "PYTHONPATH": os.getcwd()}
    r = subprocess.run(
        [sys.executable, "-c", "from avsmodel.cli import main; main()", "download", "vggish"]
        + ["--out", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert r.returncode == 1
    assert r.stderr.strip().count("\n") == 0 and "404" in r.stderr
    assert list(Path(tmp_path).iterdir()) == []


def test_server_ignoring_range_restarts_the_part(server, fake_vggish, tmp_path):
    server.files["vggish-10086976.pth"] = fake_vggish
    server.ignore_range = True
    (tmp_path / "vggish-10086976.pth.part").write_bytes(b"stale bytes from elsewhere")
    hub.download(["vggish"], dir=tmp_path, mirror=server.url, progress=False)
    assert (tmp_path / "vggish-10086976.pth").read_bytes() == fake_vggish


def test_unwritable_target_is_one_line(server, fake_vggish, tmp_path):
    server.files["vggish-10086976.pth"] = fake_vggish
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="file is a file, not a folder"):
        hub.download(["vggish"], dir=tmp_path / "file" / "sub", mirror=server.url, progress=False)
    assert server.requests == []  # checked before any transfer


def test_complete_part_is_verified_and_renamed(server, fake_vggish, tmp_path):
    """A run killed between the last byte and the rename: the next one asks for nothing more."""
    server.files["vggish-10086976.pth"] = fake_vggish
    (tmp_path / "vggish-10086976.pth.part").write_bytes(fake_vggish)
    hub.download(["vggish"], dir=tmp_path, mirror=server.url, progress=False)
    assert (tmp_path / "vggish-10086976.pth").read_bytes() == fake_vggish
    assert server.requests == [("vggish-10086976.pth", f"bytes={len(fake_vggish)}-")]


def test_cli_help_has_examples():
    from typer.testing import CliRunner

    from avsmodel.cli import app

    examples = {
        "download": "avsmodel download sam_vit_h vggish",
        "import-checkpoint": "avsmodel import-checkpoint s4_best.pth",
    }
    for cmd, example in examples.items():
        res = CliRunner().invoke(app, [cmd, "--help"])
        assert res.exit_code == 0 and example in res.output, cmd


def test_killed_download_resumes_in_the_next_run(server, tmp_path):
    """SIGKILL mid-transfer leaves only NAME.part; the next run asks for the rest and verifies."""
    import signal

    data = os.urandom(2_000_000)
    name = "vggish-10086976.pth"
    server.files[name] = data
    server.slow.add(name)
    code = (
        "import sys, hashlib; from avsmodel.pretrained import download as hub\n"
        f"a = hub.Asset('vggish', 'vggish', {name!r}, 'x', {hashlib.sha256(data).hexdigest()!r})\n"
        "hub.ASSETS['vggish'] = hub._BY_NAME['vggish'] = a\n"
        "hub.download(['vggish'], dir=sys.argv[1], mirror=sys.argv[2], progress=False)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    args = [sys.executable, "-c", code, str(tmp_path), server.url]
    proc = subprocess.Popen(args, env=env)
    part = tmp_path / f"{name}.part"
    deadline = time.monotonic() + 60
    while not (part.is_file() and part.stat().st_size > 200_000) and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    have = part.stat().st_size
    assert 0 < have < len(data) and not (tmp_path / name).exists()
    server.slow.clear()
    subprocess.run(args, env=env, check=True, timeout=120)
    assert (tmp_path / name).read_bytes() == data and not part.exists()
    assert server.requests[-1] == (name, f"bytes={have}-")


def test_cli_download_json_and_the_old_dir_spelling(server, fake_vggish, tmp_path):
    import json

    from typer.testing import CliRunner

    from avsmodel.cli import app

    server.files["vggish-10086976.pth"] = fake_vggish
    args = ["download", "vggish", "--mirror", server.url, "--json"]
    r = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "a")])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == {"vggish": str(tmp_path / "a" / "vggish-10086976.pth")}
    assert (tmp_path / "a" / "vggish-10086976.pth").read_bytes() == fake_vggish
    old = CliRunner().invoke(app, [*args, "--dir", str(tmp_path / "b")])
    assert old.exit_code == 0, old.output
    assert old.stderr.strip() == "note: --dir is deprecated; use --out"
    assert (tmp_path / "b" / "vggish-10086976.pth").read_bytes() == fake_vggish


def test_cli_download_names_are_the_hub_names():
    from avsmodel.cli.download import WeightsName

    assert sorted(n.value for n in WeightsName) == hub.names()


def test_retries_back_off_exponentially(fake_vggish, tmp_path, monkeypatch):
    """A server that refuses every connection: 5 attempts, 1, 2, 4 and 8 s apart."""
    import socket

    with socket.socket() as s:  # a local port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    waits: list[float] = []
    monkeypatch.setattr(hub.time, "sleep", waits.append)
    with pytest.raises(DownloadError, match="transfer failed 5 times"):
        hub.download(["vggish"], dir=tmp_path, mirror=f"http://127.0.0.1:{port}", progress=False)
    assert waits == [1.0, 2.0, 4.0, 8.0]
    assert [hub.backoff_delay(n) for n in (1, 5, 6, 20)] == [1.0, 16.0, 30.0, 30.0]


def test_cache_follows_xdg_cache_home(tmp_path, monkeypatch):
    monkeypatch.delenv(hub.HOME_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert hub.home() == tmp_path / "xdg" / "avsmodel"
    monkeypatch.setenv(hub.HOME_ENV, str(tmp_path / "mine"))
    assert hub.home() == tmp_path / "mine"


def test_download_progress_is_plain_lines_off_a_terminal(server, fake_vggish, tmp_path, capsys):
    server.files["vggish-10086976.pth"] = fake_vggish
    hub.download(["vggish"], dir=tmp_path, mirror=server.url, progress=True)
    err = capsys.readouterr().err
    assert "\r" not in err and "\x1b" not in err  # no tqdm redraws in a log
    size = f"{len(fake_vggish) / 1024:.1f} KiB"  # 300,000 bytes
    assert f"vggish-10086976.pth: 100% ({size}/{size}) in " in err.splitlines()[-1]
