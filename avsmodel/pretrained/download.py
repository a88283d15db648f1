"""The official weight files: download, verify, cache, and names that resolve to them.

Four files are known (see ``docs/assets.md`` for where each hash was published):

====================  ==========================  ==========================================
name (aliases)        file                        from
====================  ==========================  ==========================================
``sam_vit_b`` (vit_b)  ``sam_vit_b_01ec64.pth``   ``dl.fbaipublicfiles.com/segment_anything/``
``sam_vit_l`` (vit_l)  ``sam_vit_l_0b3195.pth``   same
``sam_vit_h`` (vit_h)  ``sam_vit_h_4b8939.pth``   same
``vggish``             ``vggish-10086976.pth``    torchvggish's GitHub release v0.1
====================  ==========================  ==========================================

Every file is checked against its full SHA-256. (The hex digits in the SAM file names are
the start of the files' MD5, not of their SHA-256; VGGish's follow torch hub's convention
and start its SHA-256.)

The cache is ``$AVSMODEL_HOME``, else the platform's user cache folder (``platformdirs``):
``$XDG_CACHE_HOME/avsmodel``, by default ``~/.cache/avsmodel`` on Linux. Wherever avsmodel takes a
SAM or VGGish checkpoint path it also takes one of the names above: an existing file of that
path wins, else the name resolves to the cached file (:func:`resolve_weights`).

Transfers use ``requests`` (streamed, with an HTTP ``Range`` request to resume): bytes go
to ``FILE.part`` beside the final name; an interrupted transfer is retried from where it
stopped (and a later call resumes the same ``.part``); the file is renamed into place only
once its SHA-256 matches. A mismatch deletes the ``.part`` and raises. Retries wait longer
each time (:func:`backoff_delay`: 1, 2, 4, 8 s), so a server that is briefly down or
overloaded gets a moment to recover.

Example:
    >>> from avsmodel.pretrained.download import download, resolve_weights
    >>> download(["sam_vit_b", "vggish"])            # doctest: +SKIP
    >>> resolve_weights("vit_b", "sam")              # doctest: +SKIP
    PosixPath('/home/me/.cache/avsmodel/sam_vit_b_01ec64.pth')
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from avsmodel.download_limits import DEADLINE_S, STALL_TIMEOUT_S, Limits, read_body
from avsmodel.errors import CheckpointError, ConfigError, DownloadError

SAM_BASE = "https://dl.fbaipublicfiles.com/segment_anything"
VGGISH_BASE = "https://github.com/harritaylor/torchvggish/releases/download/v0.1"
HOME_ENV = "AVSMODEL_HOME"
MIRROR_ENV = "AVSMODEL_MIRROR"
#: Attempts per file within one call (each resumes the ``.part`` where the last stopped).
ATTEMPTS = 5
#: Seconds before the first retry; each further retry waits twice as long, up to the cap.
BACKOFF_S = 1.0
BACKOFF_MAX_S = 30.0
#: Read size: bytes of a read cut short by a dropped connection are lost, so keep it small.
_CHUNK = 1 << 16


@dataclass(frozen=True)
class Asset:
    """One official weight file."""

    name: str
    kind: str  # "sam" | "vggish"
    filename: str
    base_url: str
    sha256: str
    aliases: tuple[str, ...] = ()
    #: Size cap of the transfer (None: none): the published size plus about 10 %.
    max_bytes: int | None = None

    @property
    def url(self) -> str:
        """The official URL."""
        return f"{self.base_url}/{self.filename}"


ASSETS: dict[str, Asset] = {
    a.name: a
    for a in (
        Asset(
            "sam_vit_b",
            "sam",
            "sam_vit_b_01ec64.pth",
            SAM_BASE,
            "ec2df62732614e57411cdcf32a23ffdf28910380d03139ee0f4fcbe91eb8c912",
            ("vit_b",),
            415_000_000,  # 375 MB (93.7 M float32 parameters)
        ),
        Asset(
            "sam_vit_l",
            "sam",
            "sam_vit_l_0b3195.pth",
            SAM_BASE,
            "3adcc4315b642a4d2101128f611684e8734c41232a17c648ed1693702a49a622",
            ("vit_l",),
            1_375_000_000,  # 1.25 GB (312 M parameters)
        ),
        Asset(
            "sam_vit_h",
            "sam",
            "sam_vit_h_4b8939.pth",
            SAM_BASE,
            "a7bf3b02f3ebf1267aba913ff637d9a2d5c33d3173bb679e46d9f338c26f262e",
            ("vit_h",),
            2_825_000_000,  # 2.56 GB (641 M parameters)
        ),
        Asset(
            "vggish",
            "vggish",
            "vggish-10086976.pth",
            VGGISH_BASE,
            "10086976245803799d9194e9a73d9b6c1549c71d1b80106f5cade5608a561f4b",
            (),
            320_000_000,  # 289 MB (72 M parameters)
        ),
    )
}
_BY_NAME: dict[str, Asset] = {n: a for a in ASSETS.values() for n in (a.name, *a.aliases)}


def names() -> list[str]:
    """Every accepted name (canonical names and aliases), sorted."""
    return sorted(_BY_NAME)


def home() -> Path:
    """The cache folder: ``$AVSMODEL_HOME``, else the user cache folder's ``avsmodel``
    (``$XDG_CACHE_HOME/avsmodel``, by default ``~/.cache/avsmodel`` on Linux)."""
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return platformdirs.user_cache_path("avsmodel", appauthor=False)


def get_asset(name: str) -> Asset:
    """The asset of a name or alias.

    Raises:
        ConfigError: unknown name (the message lists the known ones).
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ConfigError(
            f"unknown weights name {name!r}; known: {', '.join(sorted(ASSETS))}"
        ) from None


def resolve_weights(value: str | os.PathLike[str] | None, kind: str) -> Path | None:
    """A checkpoint path, or a name resolved through the cache.

    Args:
        value: ``None``, a path, or a name (``vit_h``, ``sam_vit_h``, ``vggish``, ...).
        kind: ``"sam"`` or ``"vggish"``: what the caller loads.

    Returns:
        ``None`` for ``None``; the path itself if a file is there or the value is not a
        known name (the loader then reports a missing file); else the cached file.

    Raises:
        ConfigError: a name of the other kind (e.g. ``vggish`` given as SAM weights).
        CheckpointError: a known name whose file is not in the cache (says what to run).
    """
    if value is None:
        return None
    p = Path(value)
    text = os.fspath(value)
    if p.is_file() or text not in _BY_NAME:
        return p
    asset = _BY_NAME[text]
    if asset.kind != kind:
        flag = "--sam-checkpoint" if kind == "sam" else "--vggish-checkpoint"
        raise ConfigError(f"{text!r} names the {asset.kind} weights; {flag} needs {kind} weights")
    path = home() / asset.filename
    if not path.is_file():
        raise CheckpointError(
            f"{text!r} resolves to {path}, which is not there; run `avsmodel download "
            f"{asset.name}` (cache: ${HOME_ENV}, default {home()})"
        )
    return path


def download(
    names: Iterable[str],
    *,
    dir: str | os.PathLike[str] | None = None,
    mirror: str | None = None,
    progress: bool = True,
    force: bool = False,
    stall_timeout: float = STALL_TIMEOUT_S,
    deadline: float = DEADLINE_S,
) -> list[Path]:
    """Fetch official weight files into the cache (or ``dir``), verified by SHA-256.

    A file already there with the right hash is kept (not fetched again).

    Args:
        names: Names or aliases (``sam_vit_b``, ``vit_h``, ``vggish``, ...).
        dir: Target folder (default: :func:`home`).
        mirror: Base URL to fetch the same file names from (default ``$AVSMODEL_MIRROR``,
            else the official URLs); the hashes are checked all the same.
        progress: Show a progress bar per file (on stderr).
        force: Fetch again even if a verified file is there; also replaces a file whose
            hash is wrong (without ``force`` that is an error).
        stall_timeout: Seconds to wait for the next bytes before an attempt fails.
        deadline: Seconds the whole call may take (:mod:`avsmodel.download_limits`).

    Returns:
        The final paths, in the order of ``names``.

    Raises:
        ConfigError: unknown name.
        avsynth.errors.OutputError: the target cannot be a folder we write in.
        DownloadError: transfer failed (after retries; the ``.part`` is kept to resume),
            hash mismatch (the ``.part`` is removed), or a wrong file under the final name.
    """
    from avsynth.storage.atomic import file_sha256

    limits = Limits.start(stall_timeout, deadline)
    assets = [get_asset(n) for n in names]
    if not assets:
        raise ConfigError(f"name the files to download: {', '.join(sorted(ASSETS))}")
    from avsynth.storage.out_paths import check_out_dir

    target = check_out_dir(dir if dir is not None else home(), option="--out")
    base = mirror if mirror is not None else os.environ.get(MIRROR_ENV) or None
    for asset in dict.fromkeys(assets):
        dest = target / asset.filename
        if dest.is_file() and not force:
            if file_sha256(dest) == asset.sha256:
                continue
            raise DownloadError(
                f"{dest} exists but its SHA-256 is not the published one; delete it or pass "
                "--force to fetch it again"
            )
        url = f"{base.rstrip('/')}/{asset.filename}" if base else asset.url
        try:
            target.mkdir(parents=True, exist_ok=True)
            fetch(
                url,
                dest,
                sha256=asset.sha256,
                progress=progress,
                limits=limits.with_cap(asset.max_bytes),
            )
        except OSError as e:  # unwritable folder, disk full, ...
            raise DownloadError(f"{dest}: cannot write ({e.strerror or e})") from None
    return [target / a.filename for a in assets]


def fetch(
    url: str,
    dest: str | os.PathLike[str],
    *,
    sha256: str,
    progress: bool = True,
    limits: Limits | None = None,
) -> Path:
    """Download ``url`` to ``dest`` through ``dest.part``, resuming, then verify and rename.

    ``limits``: stall timeout, deadline and size cap (default: :class:`Limits` from now).

    Raises:
        DownloadError: see :func:`download`.
    """
    import requests
    import urllib3

    from avsynth.storage.atomic import file_sha256

    limits = limits or Limits.start(STALL_TIMEOUT_S, DEADLINE_S)
    dest = Path(dest)
    part = dest.with_name(dest.name + ".part")
    last: Exception | None = None
    for attempt in range(ATTEMPTS):
        limits.check_deadline(url, part)
        if attempt:
            time.sleep(backoff_delay(attempt))
        try:
            _transfer(url, part, progress=progress, limits=limits)
            last = None
            break
        except (
            requests.ConnectionError,
            requests.Timeout,
            requests.exceptions.ChunkedEncodingError,
            urllib3.exceptions.HTTPError,  # a stall or a dropped connection while reading
            _Incomplete,
        ) as e:
            last = e  # retry: the next request asks for the bytes after the .part's end
        except requests.RequestException as e:
            raise DownloadError(f"{url}: {type(e).__name__}: {_first_line(e)}") from None
    if last is not None:
        raise DownloadError(
            f"{url}: transfer failed {ATTEMPTS} times ({type(last).__name__}: "
            f"{_first_line(last)}); run the same command again to resume {part.name}"
        )
    got = file_sha256(part)
    if got != sha256:
        part.unlink(missing_ok=True)
        raise DownloadError(
            f"{url}: SHA-256 {got[:16]}... is not the published {sha256[:16]}...; the "
            "download was removed (a wrong file on the server or mirror)"
        )
    os.replace(part, dest)
    return dest


def backoff_delay(retry: int) -> float:
    """Seconds to wait before retry number ``retry`` (1, 2, ...): 1, 2, 4, 8 s ... at most 30."""
    return min(BACKOFF_S * 2 ** (retry - 1), BACKOFF_MAX_S)


class _Incomplete(Exception):
    """The server closed the response before sending every byte it announced."""


def _transfer(url: str, part: Path, *, progress: bool, limits: Limits) -> None:
    """One request: append the missing bytes to ``part`` (or start it over)."""
    import requests

    from avsynth.progress import progress as progress_display

    have = part.stat().st_size if part.is_file() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    with requests.get(url, headers=headers, stream=True, timeout=limits.timeout()) as r:
        if have and r.status_code == 416:
            return  # nothing after the end: the .part is complete (the hash decides)
        if r.status_code == 404:
            raise DownloadError(f"{url}: not found (HTTP 404)")
        r.raise_for_status()
        if r.status_code == 206 and _range_start(r.headers.get("Content-Range")) == have:
            mode = "ab"
        else:  # the server ignored the range: start over
            mode, have = "wb", 0
        length = r.headers.get("Content-Length")
        total = have + int(length) if length and length.isdigit() else None
        limits.check_length(url, have, None if total is None else total - have)
        with (
            open(part, mode) as f,
            progress_display(
                total=total,
                initial=have,
                unit="B",
                unit_scale=True,
                desc=part.name.removesuffix(".part"),
                enabled=progress,
            ) as bar,
        ):
            for chunk in read_body(r.raw, url, part, have, limits):
                f.write(chunk)
                bar.update(len(chunk))
    if total is not None and part.stat().st_size < total:
        raise _Incomplete(f"got {part.stat().st_size} of {total} bytes")


def _range_start(content_range: str | None) -> int | None:
    """First byte of ``Content-Range: bytes START-END/TOTAL`` (None if absent/odd)."""
    if not content_range or not content_range.startswith("bytes "):
        return None
    start = content_range[6:].split("-", 1)[0]
    return int(start) if start.isdigit() else None


def _first_line(e: Exception) -> str:
    text = str(e).strip()
    return text.splitlines()[0][:160] if text else type(e).__name__
