"""Time and size bounds of a weight download (:func:`avsmodel.pretrained.download.download`).

Three limits keep a broken or hostile server from holding ``avsmodel download`` forever or
filling the disk:

* **stall timeout** (``--stall-timeout``, default 60 s): the longest wait for the next bytes
  (the socket read timeout); a server that goes silent fails that attempt, and the next
  attempt resumes the ``.part``;
* **deadline** (``--deadline``, default 6 hours): the whole call, every attempt and the waits
  between them included, ends with an error once it has run this long (a server that sends
  one byte every few seconds never stalls, but it meets the deadline); the ``.part`` is kept
  and the same command resumes it;
* **size cap**: a file may not grow beyond its asset's ``max_bytes`` (the published size plus
  about 10 %); a larger ``Content-Length`` is refused before any byte is written, and a body
  without one that grows past the cap is stopped and its ``.part`` removed.

Bytes are read with ``read1`` (whatever the socket has, at most one chunk), so the deadline
is checked after every piece that arrives, however small.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from avsmodel.errors import ConfigError, DownloadError

STALL_TIMEOUT_S = 60.0
DEADLINE_S = 6 * 3600.0
CONNECT_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class Limits:
    """Bounds of one download call (see the module docstring); ``max_bytes`` None: no cap."""

    stall_s: float = STALL_TIMEOUT_S
    deadline_s: float = DEADLINE_S
    max_bytes: int | None = None
    started: float = 0.0  # time.monotonic() at the start of the call

    def __post_init__(self) -> None:
        if not self.stall_s > 0:
            raise ConfigError(f"--stall-timeout {self.stall_s}: must be > 0 seconds")
        if not self.deadline_s > 0:
            raise ConfigError(f"--deadline {self.deadline_s}: must be > 0 seconds")

    @classmethod
    def start(cls, stall_s: float, deadline_s: float, max_bytes: int | None = None) -> Limits:
        """Limits whose deadline counts from now."""
        return cls(stall_s, deadline_s, max_bytes, time.monotonic())

    def with_cap(self, max_bytes: int | None) -> Limits:
        """The same limits (same start) with another size cap."""
        return Limits(self.stall_s, self.deadline_s, max_bytes, self.started)

    def remaining(self) -> float:
        """Seconds left before the deadline (<= 0: passed)."""
        return self.started + self.deadline_s - time.monotonic()

    def check_deadline(self, url: str, part: Path) -> None:
        """Raise :class:`DownloadError` if the deadline has passed (the ``.part`` is kept)."""
        if self.remaining() <= 0:
            raise DownloadError(
                f"{url}: not finished within the deadline of {self.deadline_s:g} s "
                f"(--deadline); run the same command again to resume {part.name}"
            )

    def timeout(self) -> tuple[float, float]:
        """``(connect, read)`` timeouts for ``requests``, never past the deadline."""
        left = max(self.remaining(), 0.001)
        return min(CONNECT_TIMEOUT_S, left), min(self.stall_s, left)

    def check_length(self, url: str, have: int, length: int | None) -> None:
        """Refuse a ``Content-Length`` that would take the file past the cap."""
        if self.max_bytes is not None and length is not None and have + length > self.max_bytes:
            raise DownloadError(
                f"{url}: the server announces {have + length} bytes, more than the "
                f"{self.max_bytes} this file may have; nothing was written"
            )


def read_body(raw: Any, url: str, part: Path, have: int, limits: Limits) -> Iterator[bytes]:
    """Yield the pieces of a response body (``raw``: urllib3's response) within ``limits``.

    Raises:
        DownloadError: past the deadline (the ``.part`` is kept), or the file would grow
            past ``limits.max_bytes`` (the ``.part`` is removed).
    """
    size = have
    while True:
        limits.check_deadline(url, part)
        piece = raw.read1(1 << 16, decode_content=True)
        if not piece:
            return
        size += len(piece)
        if limits.max_bytes is not None and size > limits.max_bytes:
            part.unlink(missing_ok=True)
            raise DownloadError(
                f"{url}: the server sent more than the {limits.max_bytes} bytes this file may "
                "have; the download was removed"
            )
        yield piece
