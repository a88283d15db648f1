"""``avsmodel download`` is bounded in time and size against servers that misbehave.

A local HTTP server (``http.server`` in a thread on 127.0.0.1) plays: a slow drip (one byte
at a time, never stalling), a silent server (headers, then nothing; or not even headers), an
endless body without ``Content-Length``, and an announced size beyond the cap. Each ends in
one :class:`DownloadError` line within a few seconds of the configured limits.
"""

from __future__ import annotations

import hashlib
import http.server
import os
import sys
import threading
import time

import pytest

from avsmodel.errors import ConfigError, DownloadError
from avsmodel.pretrained import download as hub

pytestmark = pytest.mark.timeout(60)
DATA = os.urandom(200_000)


class _Server:
    def __init__(self, mode: str) -> None:
        self.stop = threading.Event()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                try:
                    server.serve(self, mode)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/w"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def serve(self, h: http.server.BaseHTTPRequestHandler, mode: str) -> None:
        if mode == "no_headers":
            self.stop.wait(30)
            return
        h.send_response(200)
        if mode != "endless":
            h.send_header("Content-Length", str(len(DATA) if mode != "huge" else 10**12))
        h.end_headers()
        if mode == "good":
            h.wfile.write(DATA)
        elif mode == "drip":
            for i in range(len(DATA)):
                if self.stop.wait(0.05):
                    return
                h.wfile.write(DATA[i : i + 1])
                h.wfile.flush()
        elif mode == "silent":
            self.stop.wait(30)
        elif mode == "endless":
            block = b"\0" * 65536
            while not self.stop.is_set():
                h.wfile.write(block)

    def close(self) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def asset(monkeypatch):
    a = hub.Asset("vggish", "vggish", "vggish-10086976.pth", "unused",
                  hashlib.sha256(DATA).hexdigest(), (), 1_000_000)  # fmt: skip
    monkeypatch.setitem(hub.ASSETS, "vggish", a)
    monkeypatch.setitem(hub._BY_NAME, "vggish", a)
    monkeypatch.setattr(hub, "ATTEMPTS", 3)
    return a


def _run(mode: str, tmp_path, **kw) -> tuple[float, BaseException | None]:
    s = _Server(mode)
    t0 = time.monotonic()
    try:
        hub.download(["vggish"], dir=tmp_path, mirror=s.url, progress=False, **kw)
        err = None
    except DownloadError as e:
        err = e
    finally:
        elapsed = time.monotonic() - t0
        s.close()
    return elapsed, err


def test_good_server_within_the_limits(asset, tmp_path):
    elapsed, err = _run("good", tmp_path, stall_timeout=2, deadline=20)
    assert err is None
    assert (tmp_path / asset.filename).read_bytes() == DATA


@pytest.mark.parametrize("deadline", [1.0, 2.5])
def test_slow_drip_meets_the_deadline(asset, tmp_path, deadline):
    elapsed, err = _run("drip", tmp_path, stall_timeout=5, deadline=deadline)
    assert err is not None and "\n" not in str(err)
    assert f"not finished within the deadline of {deadline:g} s" in str(err)
    assert deadline <= elapsed < deadline + 3
    part = tmp_path / (asset.filename + ".part")
    assert 0 < part.stat().st_size < len(DATA)  # kept to resume
    assert DATA.startswith(part.read_bytes())


@pytest.mark.parametrize("mode", ["silent", "no_headers"])
def test_silent_server_is_bounded_by_stall_and_deadline(asset, tmp_path, mode):
    elapsed, err = _run(mode, tmp_path, stall_timeout=0.5, deadline=30)
    # 3 attempts of 0.5 s each: the stall timeout, not a minute per attempt.
    assert err is not None and "transfer failed 3 times" in str(err), err
    assert elapsed < 6
    elapsed, err = _run(mode, tmp_path, stall_timeout=5, deadline=1.5)
    assert err is not None and "deadline of 1.5 s" in str(err), err
    assert elapsed < 4.5


def test_endless_body_without_length_is_capped(asset, tmp_path):
    elapsed, err = _run("endless", tmp_path, stall_timeout=5, deadline=30)
    assert err is not None and "sent more than the 1000000 bytes" in str(err)
    assert elapsed < 10
    assert not (tmp_path / (asset.filename + ".part")).exists()
    assert not (tmp_path / asset.filename).exists()


def test_announced_size_beyond_the_cap_writes_nothing(asset, tmp_path):
    elapsed, err = _run("huge", tmp_path, stall_timeout=5, deadline=30)
    assert err is not None and "announces 1000000000000 bytes" in str(err)
    assert list(tmp_path.iterdir()) == []


def test_every_official_asset_has_a_cap():
    assert all(a.max_bytes for a in hub.ASSETS.values())


@pytest.mark.parametrize(("flag", "value"), [("--stall-timeout", "0"), ("--deadline", "-5")])
def test_cli_limits_must_be_positive(tmp_path, capsys, flag, value):
    from avsmodel.cli import main

    sys.argv = ["avsmodel", "download", "vggish", "--out", str(tmp_path), flag, value]
    with pytest.raises(SystemExit) as e:
        main()
    err = capsys.readouterr().err
    assert e.value.code == 1 and err.count("\n") == 1 and f"{flag} " in err


def test_limits_reject_non_positive_values():
    with pytest.raises(ConfigError):
        hub.download(["vggish"], stall_timeout=-1)
