"""What every command of both command lines inherits from ``avsynth.cli.framework``:
``--version`` (the installed metadata), ``-h`` on every command, shell completion, and exit
codes (0 ok, 1 runtime failure, 2 usage error, 130 Ctrl-C)."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version

import pytest
import typer
from typer.testing import CliRunner

from avsmodel.cli import app as avsmodel_app
from avsynth.cli import app as avsynth_app

APPS = {"avsynth": avsynth_app, "avsmodel": avsmodel_app}
COMMANDS = [
    (prog, name)
    for prog, app in APPS.items()
    for name in typer.main.get_command(app).commands  # type: ignore[attr-defined]
]


def cli(prog: str, *args: str, **kw) -> subprocess.CompletedProcess:
    """Run ``python -m PROG.cli ARGS`` from this checkout."""
    return subprocess.run(
        [sys.executable, "-m", f"{prog}.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        **kw,
    )


@pytest.mark.parametrize("prog", APPS)
def test_version_is_the_installed_metadata(prog) -> None:
    r = cli(prog, "--version")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == version("avsynth")


def test_package_versions_are_the_installed_metadata() -> None:
    import avsmodel
    import avsynth

    assert avsynth.__version__ == avsmodel.__version__ == version("avsynth")


@pytest.mark.parametrize(("prog", "command"), COMMANDS)
def test_every_command_takes_dash_h(prog, command) -> None:
    r = CliRunner().invoke(APPS[prog], [command, "-h"], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    assert f"Usage: {prog} {command}" in r.output or f"Usage: root {command}" in r.output


@pytest.mark.parametrize("prog", APPS)
def test_the_group_takes_dash_h_and_offers_completion(prog) -> None:
    r = CliRunner().invoke(APPS[prog], ["-h"], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    assert "--install-completion" in r.output and "--version" in r.output


def test_usage_error_exits_2() -> None:
    r = cli("avsynth", "verify", "--no-such-option")
    assert r.returncode == 2
    assert "No such option" in r.stderr and "Traceback" not in r.stderr


def test_bad_choice_exits_2() -> None:
    r = cli("avsmodel", "eval", "best.pt", "--audio", "loud")
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_runtime_error_exits_1_with_one_line(tmp_path) -> None:
    r = cli("avsynth", "verify", str(tmp_path / "none.jsonl"))
    assert r.returncode == 1
    assert r.stderr.strip() == f"error: {tmp_path / 'none.jsonl'}: manifest not found"


def test_problems_found_exit_1(tmp_path) -> None:
    bad = tmp_path / "map.yaml"
    bad.write_text("not: [a, category, map\n", "utf-8")
    r = cli("avsynth", "check-map", str(bad))
    assert r.returncode == 1 and "Traceback" not in r.stderr


def test_ctrl_c_exits_130(monkeypatch, capsys) -> None:
    """A KeyboardInterrupt inside a command: ``interrupted`` and status 130, no traceback."""
    import avsynth.catmap
    from avsynth.cli import main

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(avsynth.catmap, "check_map_file", interrupted)
    monkeypatch.setattr(sys, "argv", ["avsynth", "check-map", "46"])
    with pytest.raises(SystemExit) as e:
        main()
    assert e.value.code == 130
    assert capsys.readouterr().err.strip() == "interrupted"


def test_sigint_to_a_running_command_exits_130(tmp_path) -> None:
    """A real SIGINT to a command blocked in the library: status 130."""
    import signal
    import time

    code = (
        "import time, avsynth.catmap as c\n"
        "def slow(*args, **kwargs):\n"
        "    print('ready', flush=True); time.sleep(60)\n"
        "c.check_map_file = slow\n"
        "import sys; sys.argv = ['avsynth', 'check-map', '46']\n"
        "from avsynth.cli import main; main()\n"
    )
    p = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert p.stdout.readline().strip() == "ready"
        time.sleep(0.2)
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=60)
    finally:
        p.kill()
    assert p.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err


def test_completion_is_switched_on() -> None:
    cmd = typer.main.get_command(avsynth_app)
    names = {o for p in cmd.params for o in p.opts}
    assert {"--install-completion", "--show-completion"} <= names


def test_errors_from_worker_processes_and_multiline_messages_print_one_line() -> None:
    from avsynth.cli.framework import one_line
    from avsynth.errors import MediaError

    # What torch's DataLoader raises in the parent when a worker process raised.
    worker = MediaError(
        "Caught MediaError in DataLoader worker process 0.\nOriginal Traceback (most recent "
        'call last):\n  File "x.py", line 1, in f\n    g()\n'
        "avsynth.errors.MediaError: /data/a.png: image does not decode\n"
    )
    worker_short = MediaError(
        "Caught MediaError in DataLoader worker process 1.\nOriginal Traceback (most recent "
        'call last):\n  File "x.py", line 1, in f\nMediaError: /data/b.png: mask not found\n'
    )
    assert one_line(worker_short) == "/data/b.png: mask not found"
    assert one_line(worker) == "/data/a.png: image does not decode"
    assert one_line(MediaError("two\n  lines")) == "two lines"
    assert one_line(MediaError("plain")) == "plain"
