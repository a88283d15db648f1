"""The ``--compose`` specification: composition names, weights and exact counts per split."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from avsynth.errors import PlanError
from avsynth.planning.split import largest_remainder

COMPOSITIONS = ("single", "multi", "offscreen", "partial")
ORDER = ("multi", "partial", "offscreen", "single")  # scarcest first
GAIN_DB = (-4.0, 4.0)  # seeded per-component gain range of mixes (after loudness normalising)
TARGET_LUFS = -26.0  # each component's loudness before its gain (avsynth.materialise.mix)
PEAK_DBFS = -1.0  # a mix's peak limit
#: How mixes are made, as the sidecar of a composed build records it.
MIX_INFO = {
    "loudness": "pyloudnorm BS.1770",
    "target_lufs": TARGET_LUFS,
    "gain_db_range": list(GAIN_DB),
    "peak_dbfs": PEAK_DBFS,
}


def parse_compose(spec: str | Mapping[str, float] | None) -> dict[str, float]:
    """Parse ``single=0.7,multi=0.2,...`` (or a mapping) into composition -> weight.

    Weights must be >= 0 and sum to 1; omitted compositions get 0. ``None`` -> ``single=1``.

    Raises:
        PlanError: unknown name, bad number, or weights not summing to 1.
    """
    if spec is None:
        return {"single": 1.0}
    items: list[tuple[str, object]]
    if isinstance(spec, str):
        items = []
        for part in (p.strip() for p in spec.split(",")):
            name, eq, val = part.partition("=")
            if not eq:
                raise PlanError(
                    f"--compose {spec!r}: {part!r} is not NAME=WEIGHT "
                    "(e.g. single=0.7,multi=0.2,offscreen=0.05,partial=0.05)"
                )
            items.append((name.strip(), val.strip()))
    else:
        items = list(spec.items())
    out: dict[str, float] = {}
    for name, val in items:
        if name not in COMPOSITIONS:
            raise PlanError(
                f"--compose: unknown composition {name!r} (use {', '.join(COMPOSITIONS)})"
            )
        if name in out:
            raise PlanError(f"--compose: {name} given twice")
        try:
            w = float(val)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise PlanError(f"--compose: {name}={val!r} is not a number") from None
        if not w >= 0:
            raise PlanError(f"--compose: {name}={val} must be >= 0")
        out[name] = w
    total = sum(out.values())
    if abs(total - 1.0) > 1e-6:
        raise PlanError(f"--compose: weights sum to {total:g}, not 1")
    return {c: out[c] for c in COMPOSITIONS if out.get(c, 0.0) > 0}


def single_only(weights: Mapping[str, float]) -> bool:
    """True for ``single=1`` (today's build)."""
    return set(weights) == {"single"}


def composition_sizes(
    sizes: Sequence[int], weights: Mapping[str, float], seed: int
) -> dict[str, list[int]]:
    """Exact triplets per composition and split (each split by largest remainder)."""
    cols = [largest_remainder(int(n), dict(weights), seed) for n in sizes]
    return {c: [col[c] for col in cols] for c in weights}
