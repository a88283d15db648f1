"""Materialising a plan: images copied, masks as binary PNGs, clips as 16 kHz mono WAVs."""

from avsynth.materialise.runner import MediaResult, run_media

__all__ = ["MediaResult", "run_media"]
