"""Range checks of numeric options shared by ``train``, ``eval`` and the recipe.

Each failure is one :class:`ConfigError` line naming the option and the accepted range, so a
negative ``--batch-size`` or ``--workers``, a ``--fscore-batch`` of 0 or a seed that does not
fit in 64 bits is refused before any data is read, instead of being silently replaced by a
default or failing deep inside PyTorch with a traceback.
"""

from __future__ import annotations

from typing import Any

from avsmodel.errors import ConfigError

#: Seeds are handed to ``torch.manual_seed`` and numpy, which take unsigned 64-bit values.
SEED_LIMIT = 2**64


def check_count(option: str, value: Any, minimum: int) -> None:
    """Refuse ``value`` unless it is None or an integer ``>= minimum``.

    Raises:
        ConfigError: ``--batch-size -1: must be an integer >= 1``.
    """
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{option} {value!r}: must be an integer >= {minimum}")


def check_seed(option: str, value: Any) -> None:
    """Refuse a seed that is not an integer in ``[0, 2**64)``.

    Raises:
        ConfigError: naming the option and the range.
    """
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < SEED_LIMIT:
        raise ConfigError(f"{option} {value!r}: must be an integer in [0, 2**64)")


def write_failure(e: BaseException) -> str:
    """One-line reason of a failed write (``No space left on device``, ...)."""
    strerror = getattr(e, "strerror", None)
    if strerror:
        return str(strerror)
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    return lines[0] if lines else type(e).__name__
