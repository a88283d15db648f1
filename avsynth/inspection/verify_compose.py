"""Checks of composed (schema 2) records, run by :func:`avsynth.verify` on top of the usual
ones: every instance mask and component clip is checked like a triplet's own; the target
(union) mask must equal the OR of the instance masks (empty for ``offscreen``); the mix must
equal what :func:`avsynth.materialise.mix.mix` makes of the component clips and their gains
(to 2 steps of 16-bit quantisation); the record's lists must agree with its composition."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from avsynth.errors import AvsynthError

_SHAPE = {"single": (1, 1), "offscreen": (0, 1), "partial": (1, 2)}  # (instances, components)


def check_composed(v: Any, t: Any, line: int) -> None:
    """Add the problems of composed record ``t`` (manifest line ``line``) to verifier ``v``."""
    n_inst, n_comp = len(t.instances), len(t.components)
    want = _SHAPE.get(t.composition)
    visible = sum(c.visible for c in t.components)
    if (
        (want and (n_inst, n_comp) != want)
        or (t.composition == "multi" and not (2 <= n_inst == n_comp <= 3))
        or visible != n_inst
    ):
        v.report(
            v.manifest.name + f":{line}",
            f"{t.composition} record lists {n_inst} instance(s), {n_comp} component(s), "
            f"{visible} visible",
            t,
            line,
        )
        return
    size = v.image(t, line)  # cached: (height, width) as decoded
    for m in t.instances:
        if (m.root, m.path, m.source_id) != (t.mask.root, t.mask.path, t.mask.source_id):
            v.mask(dataclasses.replace(t, mask=m, composition="single"), line, size)
    for c in t.components:
        if c.audio.path != t.audio.path:
            v.audio_file(dataclasses.replace(t, audio=c.audio), line)
    if t.mask.root == "manifest" and t.composition in ("multi", "offscreen"):
        _union(v, t, line)
    if t.audio.root == "manifest" and t.composition in ("multi", "partial"):
        _mix(v, t, line)


def _union(v: Any, t: Any, line: int) -> None:
    from avsynth.media import read_mask

    try:
        path = v._path("mask", t.mask, t, line)
        if path is None or not path.is_file():
            return
        got = read_mask(path)
        want = np.zeros_like(got)
        for m in t.instances:
            p = v._path("mask", m, t, line)
            if p is None or not p.is_file():
                return
            a = read_mask(p)
            if a.shape != want.shape:
                return  # the instance's own check names the size problem
            want |= a
    except AvsynthError:
        return  # undecodable masks are reported by the per-mask checks
    diff = int(np.count_nonzero(got != want))
    if diff:
        v.report(path, f"union mask differs from the OR of its {len(t.instances)} instance "
                 f"mask(s) in {diff} pixel(s)", t, line)  # fmt: skip


def _mix(v: Any, t: Any, line: int) -> None:
    import soundfile as sf

    from avsynth.materialise.mix import mix

    path = v._path("audio", t.audio, t, line)
    if path is None or not path.is_file():
        return
    try:
        got, _ = sf.read(str(path), dtype="float64")
        xs = []
        for c in t.components:
            p = v._path("audio", c.audio, t, line)
            if p is None or not p.is_file():
                return
            xs.append(sf.read(str(p), dtype="float64")[0])
        if any(x.shape != got.shape for x in xs):
            v.report(path, "mix and its component clips differ in length", t, line)
            return
    except (RuntimeError, sf.LibsndfileError):
        return  # the per-file checks name undecodable audio
    ref = mix(xs, [c.gain_db for c in t.components])
    err = float(np.max(np.abs(ref - got))) if got.size else 0.0
    if err > 2.0 / 32768:
        v.report(path, f"mix differs from its components and gains (max difference {err:.4f})",
                 t, line)  # fmt: skip
