"""What :func:`avsynth.build` returns, and the summary ``avsynth build`` prints."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from avsynth.planning.plan import Plan

__all__ = ["BuildReport", "format_summary"]


@dataclass
class BuildReport:
    """What :func:`build` wrote.

    Attributes:
        out: Output folder.
        manifest: Path of ``manifest.jsonl``.
        sidecar: Path of ``build_info.json``.
        plan: The plan.
        written: Triplets written per split.
        needed: Paths of the download lists.
        media_skips: File -> error for media skipped with ``on_error="skip"``.
        timings: Seconds per stage.
        silent_clips: Ids of clips whose every sample is zero.
    """

    out: Path
    manifest: Path
    sidecar: Path
    plan: Plan
    written: dict[str, int]
    needed: list[Path] = field(default_factory=list)
    media_skips: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    silent_clips: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """Human-readable multi-line summary (printed by the CLI)."""
        return format_summary(self)

    def to_dict(self) -> dict[str, object]:
        """What :meth:`summary` says, as plain JSON types (``avsynth build --json``)."""
        p = self.plan
        d: dict[str, object] = {
            "out": str(self.out),
            "manifest": str(self.manifest),
            "build_info": str(self.sidecar),
            "seed": p.seed,
            "written": dict(self.written),
            "triplets": sum(self.written.values()),
            "counts": {c: dict(n) for c, n in p.counts.items()},
            "available": dict(p.available),
            "left_out": dict(p.left_out),
            "masks_skipped": dict(p.skips),
            "clips_missing": p.clips_missing,
            "max_triplets_per_clip": dict(p.clip_use),
            "media_skipped": len(self.media_skips),
            "silent_clips": len(self.silent_clips),
            "download_lists": [str(x) for x in self.needed],
            "timings": dict(self.timings),
        }
        compositions = getattr(p, "composition_counts", {})
        if compositions:
            d["compositions"] = {c: dict(n) for c, n in compositions.items()}
        return d


def format_summary(r: BuildReport) -> str:
    """Counts per split, categories, skips, missing clips and where the files are."""
    p = r.plan
    lines = [
        f"wrote {sum(r.written.values())} triplets "
        f"(train {r.written['train']}, val {r.written['val']}, test {r.written['test']}) "
        f"over {len(p.counts)} categories, seed {p.seed}",
    ]
    for comp, n in getattr(p, "composition_counts", {}).items():  # composed builds
        lines.append(f"  {comp}: train {n['train']}, val {n['val']}, test {n['test']}")
    if p.counts:
        width = max(len(c) for c in p.counts)
        lines.append(f"  {'category':<{width}}  {'avail':>6} {'train':>6} {'val':>5} {'test':>5}")
        for c, n in p.counts.items():
            lines.append(
                f"  {c:<{width}}  {p.available.get(c, 0):>6} {n['train']:>6} {n['val']:>5} "
                f"{n['test']:>5}"
            )
    if p.left_out:
        lines.append("left out: " + "; ".join(f"{c} ({why})" for c, why in p.left_out.items()))
    if p.skips:
        lines.append("masks skipped: " + ", ".join(f"{k} {v}" for k, v in p.skips.items()))
    if p.clips_missing:
        lines.append(f"VGGSound rows of mapped labels without a clip file: {p.clips_missing}")
    if p.clip_use:
        lines.append(
            "max triplets per clip: " + ", ".join(f"{s} {n}" for s, n in p.clip_use.items())
        )
    if r.media_skips:
        lines.append(f"media skipped (undecodable, see build_info.json): {len(r.media_skips)}")
    if r.silent_clips:
        lines.append(f"silent clips (all samples zero, see build_info.json): {len(r.silent_clips)}")
    if "media" in r.timings:
        secs = r.timings["media"]
        n = sum(r.written.values())
        rate = f", {n / secs:,.1f} triplets/s" if secs > 0 else ""
        lines.append(f"media stage: {secs:,.1f} s for {n:,} triplets{rate}")
    lines.append(f"manifest: {r.manifest}")
    lines.append(f"sidecar:  {r.sidecar}")
    if r.needed:
        lines.append("download lists: " + ", ".join(str(x.name) for x in r.needed))
    return "\n".join(lines)
