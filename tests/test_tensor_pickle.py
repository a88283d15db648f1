"""AVSBench log-mel pickles are read without running code a crafted pickle names.

Each gadget below would create a marker file if its global were resolved and called; the
reader must refuse it with one :class:`DataError` naming the file, and the marker must not
exist. Honest pickles (``pickle.dump`` of a tensor in protocols 2 and 4, avsynth's export
pickle, a numpy array) still load to the values that were saved.
"""

from __future__ import annotations

import io
import os
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from avsmodel.data.avsbench import read_log_mel
from avsmodel.errors import DataError
from avsynth.inspection.export_avsbench import dumps_tensor


def _str(s: str) -> bytes:
    b = s.encode()
    return b"\x8c" + bytes([len(b)]) + b  # SHORT_BINUNICODE


def _call(module: str, name: str, *args: str | bytes) -> bytes:
    """Protocol-4 opcodes for ``module.name(*args)`` (args are str or bytes literals)."""
    out = _str(module) + _str(name) + b"\x93"  # STACK_GLOBAL
    out += b"("  # MARK
    for a in args:
        if isinstance(a, bytes):
            out += (
                b"C" + bytes([len(a)]) + a if len(a) < 256 else b"B" + struct.pack("<I", len(a)) + a
            )
        else:
            out += _str(a)
    return out + b"tR"  # TUPLE, REDUCE


def _pickle(body: bytes) -> bytes:
    return b"\x80\x04" + body + b"."


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _gadgets(marker: Path) -> dict[str, bytes]:
    legacy = io.BytesIO()
    torch.save(_Evil(marker), legacy, _use_new_zipfile_serialization=False)
    zipped = io.BytesIO()
    torch.save(_Evil(marker), zipped)
    touch = f"touch {marker}"
    return {
        # os.system reached through a torch module's attribute (a dotted name)
        "os.system via torch.serialization": _pickle(
            _call("torch.serialization", "os.system", touch)
        ),
        "os.system via torch._utils": _pickle(_call("torch._utils", "os.system", touch)),
        "builtins.eval": _pickle(_call("builtins", "eval", f"__import__('os').system('{touch}')")),
        "subprocess.call": _pickle(_call("subprocess", "getoutput", touch)),
        # a torch function that is callable with a side effect: it writes the marker file
        "torch.save": _pickle(
            _str("torch") + _str("save") + b"\x93(" + b"N" + _str(str(marker)) + b"tR"
        ),
        # nested: a storage rebuilt from legacy torch.save bytes whose pickle calls os.system
        "storage from legacy bytes": _pickle(
            _call("torch.storage", "_load_from_bytes", legacy.getvalue())
        ),
        # nested: torch.load of zip bytes whose pickle calls os.system
        "torch.load of zip bytes": _pickle(
            _str("torch.serialization")
            + _str("load")
            + b"\x93("
            + _call("_io", "BytesIO", zipped.getvalue())
            + b"tR"
        ),
        # nested reduce: an allowed rebuild function whose argument is a forbidden call
        "rebuild over eval": _pickle(
            _str("torch._utils")
            + _str("_rebuild_tensor_v2")
            + b"\x93("
            + _call("builtins", "eval", f"__import__('os').system('{touch}')")
            + b"K\x00)\x89"
            + b"tR"
        ),
        "persistent id": b"\x80\x04" + _str("x") + b"Q.",
    }


@pytest.mark.parametrize(
    "gadget",
    [
        "os.system via torch.serialization",
        "os.system via torch._utils",
        "builtins.eval",
        "subprocess.call",
        "torch.save",
        "storage from legacy bytes",
        "torch.load of zip bytes",
        "rebuild over eval",
        "persistent id",
    ],
)
def test_log_mel_gadget_is_refused_without_running(tmp_path: Path, gadget: str) -> None:
    marker = tmp_path / "pwned"
    pkl = tmp_path / "clip.pkl"
    pkl.write_bytes(_gadgets(marker)[gadget])
    with pytest.raises(DataError) as err:
        read_log_mel(pkl)
    assert str(pkl) in str(err.value) and "\n" not in str(err.value)
    assert not marker.exists(), f"{gadget} ran its payload"


def test_gadgets_do_run_under_plain_pickle(tmp_path: Path) -> None:
    """The gadgets are real: plain ``pickle.loads`` runs the two simplest ones."""
    marker = tmp_path / "pwned"
    pickle.loads(_gadgets(marker)["os.system via torch.serialization"])
    assert marker.exists()
    marker.unlink()
    pickle.loads(_gadgets(marker)["storage from legacy bytes"])
    assert marker.exists()


def _mel() -> torch.Tensor:
    return torch.arange(5 * 96 * 64, dtype=torch.float32).reshape(5, 1, 96, 64) / 7.0


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_plain_tensor_pickle_loads(tmp_path: Path, protocol: int) -> None:
    pkl = tmp_path / "clip.pkl"
    pkl.write_bytes(pickle.dumps(_mel(), protocol=protocol))
    assert torch.equal(read_log_mel(pkl), _mel())


def test_export_pickle_and_numpy_pickle_load(tmp_path: Path) -> None:
    pkl = tmp_path / "clip.pkl"
    pkl.write_bytes(dumps_tensor(_mel()))
    assert torch.equal(read_log_mel(pkl), _mel())
    pkl.write_bytes(pickle.dumps(_mel().numpy()))
    assert np.array_equal(read_log_mel(pkl).numpy(), _mel().numpy())
