"""Suite-wide settings.

``AVS_TEST_THREADS=N`` runs the suite with ``N`` torch intra-op threads (``torch.set_num_threads``
in this process; ``OMP_NUM_THREADS``/``MKL_NUM_THREADS`` for the processes tests start), so that
the numeric tolerances can be checked under several thread counts::

    for n in 1 2 4; do AVS_TEST_THREADS=$n python -m pytest -q tests/test_speed_numerics.py; done

Unset, torch picks its own count (the number of cores).
"""

from __future__ import annotations

import ctypes
import gc
import os

import pytest


def pytest_configure(config) -> None:  # noqa: ARG001 - pytest's hook signature
    """Apply ``AVS_TEST_THREADS`` before any test imports torch's kernels."""
    threads = os.environ.get("AVS_TEST_THREADS", "").strip()
    if not threads:
        return
    if not threads.isdigit() or int(threads) < 1:
        raise ValueError(f"AVS_TEST_THREADS={threads!r}: expected a positive integer")
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = threads
    import torch

    torch.set_num_threads(int(threads))


@pytest.fixture(autouse=True, scope="module")
def _release_memory_after_module():
    """After each test module: collect garbage and hand freed heap pages back to the OS.

    One pytest process runs every module; models, datasets and tensors a module made are
    garbage afterwards, but glibc keeps the freed pages in its arenas, so the process's
    resident memory only grows from module to module. ``malloc_trim`` returns them.
    """
    yield
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass
