"""Which device a command runs on: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.

:func:`resolve_device` turns what the user asked for into a concrete device string
(``"cpu"`` or ``"cuda:N"``), the same for ``avsmodel train``, ``eval`` and ``predict`` and
their Python functions:

==========  =====================================  ======================================
asked       one process                            under ``torchrun`` (``LOCAL_RANK=r``)
==========  =====================================  ======================================
``auto``    ``cuda:0`` if CUDA is available, else  ``cuda:r`` if CUDA is available, else
            ``cpu``                                ``cpu``
``cpu``     ``cpu``                                ``cpu``
``cuda``    ``cuda:0`` (error without CUDA)        ``cuda:r`` (error without CUDA)
``cuda:N``  ``cuda:N`` (error if there is no GPU   refused when more than one process
            N)                                     runs: each rank takes its own GPU
==========  =====================================  ======================================

Every refusal is a one-line :class:`~avsmodel.errors.ConfigError`.
"""

from __future__ import annotations

import os
import re

from avsmodel.errors import ConfigError

#: What ``--device`` accepts (shown by ``--help``).
DEVICE_METAVAR = "<auto|cpu|cuda|cuda:N>"

_SPEC = re.compile(r"(auto|cpu|cuda)(?::(\d+))?")


def parse_device(spec: str | None) -> tuple[str, int | None]:
    """Check the syntax of a device request: ``(kind, index)``.

    Args:
        spec: ``auto``, ``cpu``, ``cuda`` or ``cuda:N`` (None means ``auto``).

    Raises:
        ConfigError: anything else (``cuda:x``, ``gpu``, ``cpu:1``, ...).
    """
    text = "auto" if spec is None else str(spec).strip().lower()
    m = _SPEC.fullmatch(text)
    if m is None or (m.group(2) is not None and m.group(1) != "cuda"):
        raise ConfigError(f"device {spec!r}: use auto, cpu, cuda or cuda:N (N a GPU index)")
    return m.group(1), None if m.group(2) is None else int(m.group(2))


def _cuda_count() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def resolve_device(spec: str | None = "auto", *, local_rank: int | None = None) -> str:
    """The concrete device (``"cpu"`` or ``"cuda:N"``) for a request (see the module table).

    Args:
        spec: ``auto`` (default; None too), ``cpu``, ``cuda`` or ``cuda:N``.
        local_rank: This process's GPU slot under ``torchrun``; default: ``LOCAL_RANK`` when
            ``WORLD_SIZE`` > 1, else none.

    Raises:
        ConfigError: bad syntax, CUDA asked for where there is none, a GPU index the machine
            lacks, or ``cuda:N`` with more than one process.
    """
    kind, index = parse_device(spec)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if local_rank is None and world > 1:
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if kind == "cpu":
        return "cpu"
    count = _cuda_count()
    if kind == "auto" and count == 0:
        return "cpu"
    if count == 0:
        raise ConfigError(
            f"device {spec!r}: CUDA is not available here (torch sees no GPU); use --device cpu"
        )
    if index is not None:
        if world > 1:
            raise ConfigError(
                f"device {spec!r}: under torchrun each process takes its LOCAL_RANK GPU; "
                "use --device cuda (or auto)"
            )
    else:
        index = local_rank or 0
    if index >= count:
        raise ConfigError(
            f"device {spec!r}: GPU {index} does not exist (this machine has {count}: "
            f"cuda:0..cuda:{count - 1})"
        )
    return f"cuda:{index}"


def set_device(device: str) -> None:
    """Make a CUDA device the current one (kernels and NCCL default to it); no-op on CPU."""
    if device.startswith("cuda"):
        import torch

        torch.cuda.set_device(torch.device(device))
