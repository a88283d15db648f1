"""Library messages go through ``logging``: silent unless configured, catchable by any
handler, and the command lines show them on stderr unless ``--quiet``."""

from __future__ import annotations

import io
import logging
import subprocess
import sys

import pytest

from avsynth import log


def test_library_is_silent_unless_configured() -> None:
    code = (
        "import logging, avsynth, avsmodel\n"
        "logging.getLogger('avsynth.planning.from_sources').info('stage')\n"
        "logging.getLogger('avsmodel.demo').warning('careful')\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stderr == "" and r.stdout == ""


def test_both_packages_have_a_null_handler() -> None:
    import avsmodel  # noqa: F401
    import avsynth  # noqa: F401

    for name in ("avsynth", "avsmodel"):
        handlers = logging.getLogger(name).handlers
        assert any(isinstance(h, logging.NullHandler) for h in handlers), name


@pytest.fixture
def restore_loggers():
    saved = {n: (logging.getLogger(n).level, list(logging.getLogger(n).handlers))
             for n in log.PACKAGES}  # fmt: skip
    yield
    for n, (level, handlers) in saved.items():
        logging.getLogger(n).setLevel(level)
        logging.getLogger(n).handlers[:] = handlers


def test_configure_shows_messages_and_quiet_silences_them(restore_loggers) -> None:
    stream = io.StringIO()
    log.configure(logging.INFO, stream=stream)
    log.configure(logging.INFO, stream=stream)  # twice: still one handler
    logging.getLogger("avsynth.planning.from_sources").info("reading LVIS ...")
    logging.getLogger("avsmodel.demo").warning("low disk")
    logging.getLogger("avsynth.x").debug("hidden at INFO")
    assert stream.getvalue() == "[avsynth] reading LVIS ...\n[avsmodel] warning: low disk\n"
    log.set_level(log.level_for(quiet=True))
    logging.getLogger("avsynth.planning.from_sources").info("not shown")
    logging.getLogger("avsynth.x").error("shown")
    assert stream.getvalue().splitlines()[-1] == "[avsynth] error: shown"
    assert log.level_for(verbose=1) == logging.DEBUG and log.level_for() == logging.INFO


def test_cli_handler_follows_a_replaced_stderr(restore_loggers, monkeypatch) -> None:
    """Configured once, the handler writes to the stderr of the moment (a CLI test's captured
    stream, then the next test's), never to a stream that has since been closed."""
    log.configure(logging.INFO)
    first, second = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    logging.getLogger("avsynth.a").info("one")
    first.close()
    monkeypatch.setattr(sys, "stderr", second)
    logging.getLogger("avsynth.a").info("two")
    assert second.getvalue() == "[avsynth] two\n"
