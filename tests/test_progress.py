"""Progress off a terminal: plain lines now and then, never carriage-return updates."""

from __future__ import annotations

import io
import re

from build_fixtures import tiny_map, write_sources

import avsynth


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_lines_at_each_tenth_and_at_the_end():
    from avsynth.progress import PlainProgress, progress

    buf = io.StringIO()
    assert isinstance(progress(total=200, desc="work", file=buf), PlainProgress)
    bar = PlainProgress(None, 200, "work", "items", buf, min_gap=0.0)
    for _ in range(200):
        bar.update(1)
    bar.close()
    lines = buf.getvalue().splitlines()
    assert "\r" not in buf.getvalue()
    percents = [int(re.match(r"work: (\d+)% ", x).group(1)) for x in lines]
    assert percents == [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
    assert "(200/200 items)" in lines[-1] and "items/s" in lines[-1]


def test_plain_lines_every_interval_without_a_total():
    from avsynth.progress import PlainProgress

    buf = io.StringIO()
    bar = PlainProgress(None, None, "stats", "triplets", buf, interval=0.0)
    bar.update(3)
    bar.update(2)
    bar.close()
    assert buf.getvalue().splitlines()[:2] == ["stats: 3 triplets in 0s", "stats: 5 triplets in 0s"]


def test_terminal_gets_tqdm_and_disabled_prints_nothing():
    from tqdm import tqdm

    from avsynth.progress import progress

    tty = _Tty()
    bar = progress(total=3, desc="x", file=tty)
    assert isinstance(bar, tqdm)
    bar.close()
    quiet = io.StringIO()
    off = progress(range(3), desc="x", enabled=False, file=quiet)
    assert list(off) == [0, 1, 2] and quiet.getvalue() == ""


def test_build_progress_to_a_file_counts_triplets_in_plain_lines(tmp_path, capsys):
    roots = write_sources(tmp_path / "src", clip_seconds=1.0)
    avsynth.build(
        tiny_map(), out=tmp_path / "o", split_sizes=(30, 6, 6), clip_seconds=1.0, progress=True,
        vggsound=roots["vggsound"], lvis=roots["lvis"], openimages=roots["openimages"],
    )  # fmt: skip
    err = capsys.readouterr().err
    assert "\r" not in err
    media = [x for x in err.splitlines() if x.startswith("media: ")]
    assert media and "(42/42 triplets)" in media[-1]
    assert all(re.match(r"media: \d+% \(\d+/42 triplets\)", x) for x in media)
