"""One progress display for every command: a tqdm bar on a terminal, plain lines elsewhere.

When stderr is a terminal, :func:`progress` returns a ``tqdm`` bar (rate and time left). When
it is a file, a pipe or a CI log, carriage-return updates would pile up into one endless line,
so it prints a plain line instead at every tenth of the total (at most one per 2 s), or every
30 s when the total is unknown or progress is slow, plus one at the end::

    media: 30% (18,783/62,609 triplets) in 2m05s, ~4m52s left

Both offer ``update(n)``, ``set_postfix(**kw)``, ``set_postfix_str(s)``, ``write(msg)``,
``close()``, iteration and ``with``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import IO, Any

#: Seconds between plain lines when the tenths come slower than that.
INTERVAL_S = 30.0
#: Least seconds between two plain lines (a run of a few seconds prints only its end line).
MIN_GAP_S = 2.0


def _hms(s: float) -> str:
    s = int(round(s))
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"


def _size(n: float) -> str:
    """``n`` in binary multiples: ``512 ``, ``1.5 Ki``, ``2.4 Gi`` (then the unit: ``B``)."""
    for prefix in ("", "Ki", "Mi", "Gi"):
        if abs(n) < 1024 or prefix == "Gi":
            return f"{n:,.0f} " if not prefix else f"{n:.1f} {prefix}"
        n /= 1024
    raise AssertionError("unreachable")


class PlainProgress:
    """Progress as occasional plain lines (for non-terminal streams)."""

    def __init__(
        self,
        iterable: Iterable[Any] | None,
        total: int | None,
        desc: str,
        unit: str,
        file: IO[str],
        interval: float = INTERVAL_S,
        leave: bool = True,
        min_gap: float = MIN_GAP_S,
        initial: int = 0,
        unit_scale: bool = False,
    ) -> None:
        self.iterable, self.desc, self.unit, self.file = iterable, desc, unit, file
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)  # type: ignore[arg-type]
        self.total, self.n, self.interval = total, initial, interval
        self.unit_scale = unit_scale
        self._start = initial  # the rate counts what this call did
        self.postfix = ""
        self.leave = leave
        self.min_gap = min_gap
        self._t0 = self._last = time.monotonic()
        self._tenth = 0
        self._closed = False

    def _line(self, now: float) -> str:
        took = now - self._t0
        if self.unit_scale:  # 1.5 MiB/2.0 GiB
            count = f"{_size(self.n)}{self.unit}"
            count += f"/{_size(self.total)}{self.unit}" if self.total else ""
        else:  # 1,234/5,678 triplets
            count = f"{self.n:,}" + (f"/{self.total:,}" if self.total else "") + f" {self.unit}"
        head = f"{self.desc}: "
        if self.total:
            head += f"{100 * self.n // self.total}% ({count})"
        else:
            head += count
        head += f" in {_hms(took)}"
        done = self.n - self._start
        if self.total and 0 < done and self.n < self.total and took > 0:
            head += f", ~{_hms(took * (self.total - self.n) / done)} left"
        if self.postfix:
            head += f" [{self.postfix}]"
        return head

    def _emit(self, now: float) -> None:
        print(self._line(now), file=self.file, flush=True)
        self._last = now

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.monotonic()
        tenth = 10 * self.n // self.total if self.total else 0
        due = self.total and tenth > self._tenth and self.n < self.total
        if (due and now - self._last >= self.min_gap) or now - self._last >= self.interval:
            self._tenth = max(self._tenth, tenth)
            self._emit(now)

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        self.postfix = s

    def set_postfix(self, ordered_dict: Any = None, refresh: bool = True, **kw: Any) -> None:
        items = {**(ordered_dict or {}), **kw}
        self.postfix = ", ".join(f"{k}={v}" for k, v in items.items())

    def write(self, msg: str) -> None:
        print(msg, file=self.file, flush=True)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            now = time.monotonic()
            rate = (self.n - self._start) / (now - self._t0) if now > self._t0 else 0.0
            shown = _size(rate) if self.unit_scale else f"{rate:,.1f} "
            if self.n and self.leave:
                print(f"{self._line(now)} ({shown}{self.unit}/s)", file=self.file, flush=True)

    def __iter__(self) -> Iterator[Any]:
        assert self.iterable is not None, "nothing to iterate"
        try:
            for x in self.iterable:
                yield x
                self.update(1)
        finally:
            self.close()

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Off:
    """A disabled bar: counts nothing, prints nothing."""

    def __init__(self, iterable: Iterable[Any] | None) -> None:
        self.iterable = iterable
        self.n = 0

    def update(self, n: int = 1) -> None:
        self.n += n

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        pass

    def set_postfix(self, ordered_dict: Any = None, refresh: bool = True, **kw: Any) -> None:
        pass

    def write(self, msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    def close(self) -> None:
        pass

    def __iter__(self) -> Iterator[Any]:
        assert self.iterable is not None, "nothing to iterate"
        return iter(self.iterable)

    def __enter__(self) -> _Off:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def progress(
    iterable: Iterable[Any] | None = None,
    *,
    total: int | None = None,
    desc: str = "",
    unit: str = "it",
    enabled: bool = True,
    leave: bool = True,
    file: IO[str] | None = None,
    initial: int = 0,
    unit_scale: bool = False,
) -> Any:
    """A progress display: tqdm on a terminal, plain lines otherwise, nothing if disabled.

    Args:
        iterable: Optional iterable to wrap (``for x in progress(xs, desc=...)``).
        total: Number of units expected (default: ``len(iterable)`` when it has one).
        desc: Label (``media``, ``verify``, ``train``).
        unit: What is counted (``triplets``, ``batches``).
        enabled: ``False`` gives a silent object with the same methods.
        leave: Keep the bar after it closes (tqdm), or print a closing line (plain).
        file: Stream (default ``sys.stderr``); a terminal gets tqdm.
        initial: Units already done (a resumed download's bytes).
        unit_scale: Show counts in binary multiples (``12.5 MiB``), for bytes.
    """
    if not enabled:
        return _Off(iterable)
    stream = sys.stderr if file is None else file
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    if tty:
        from tqdm import tqdm

        scale = {"unit_scale": True, "unit_divisor": 1024} if unit_scale else {}
        return tqdm(
            iterable, total=total, desc=desc, unit=unit if unit_scale else f" {unit}",
            leave=leave, file=stream, dynamic_ncols=True, initial=initial, **scale,
        )  # fmt: skip
    return PlainProgress(
        iterable, total, desc, unit, stream, leave=leave, initial=initial, unit_scale=unit_scale
    )
