"""The fast manifest encoder writes exactly the bytes of the json module's canonical form."""

from __future__ import annotations

import json

import pytest

from avsynth.manifest.encode import encode_record
from avsynth.manifest.schema import AudioRef, ImageRef, MaskRef, Triplet


def _t(bbox, area=0.25, duration=10.0, label="dog barking", extra=None) -> Triplet:
    return Triplet(
        id="train-000001",
        split="train",
        category="dog",
        image=ImageRef("images/lvis/1.jpg", "manifest", "lvis", "1", "train", 640, None, "CC"),
        mask=MaskRef(None, "lvis", "lvis", "7", "dog", bbox, area),
        audio=AudioRef(
            "a.wav",
            "manifest",
            "vggsound",
            "-x_Y",
            30,
            label,
            "train",
            16000,
            duration,
            "CC BY 4.0",
        ),  # fmt: skip
        extra=extra or {},
    )


@pytest.mark.parametrize(
    "t",
    [
        _t((0.1, 0.2, 0.3, 0.4)),
        _t((0.0, 5e-06, 1e-05, 0.99999)),  # floats json spells with an exponent
        _t((0.000123, 0.5, 0.25, 0.125), area=1 / 3, duration=4.9999375),
        _t((0.1, 0.2, 0.3, 0.4), label='chœur "quoted" \\ \u2028 \x01 tab\t émoji 😀'),
        _t((0.1, 0.2, 0.3, 0.4), extra={"note": [1, 2.5, None]}),
        _t((0.1, 0.2, 0.3, 0.4), duration=1e16),
    ],
)
def test_encode_record_equals_json_dumps(t):
    want = json.dumps(t.to_dict(), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    assert encode_record(t) == want.encode("utf-8")


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_floats_are_refused(bad):
    with pytest.raises(ValueError):
        encode_record(_t((0.1, bad, 0.3, 0.4)))
