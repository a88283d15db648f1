"""Values that several parts of avsynth (and avsmodel) must agree on, defined once.

* :data:`SPLITS`: the manifest's splits, in the order reports list them.
* :data:`SAMPLE_RATE`: the audio rate of every clip a build writes and of the VGGish front end
  (16 kHz mono; VGGish was trained on it).
* :data:`MASK_THRESHOLD`: the 8-bit grey level from which a mask pixel is foreground.
  Materialised masks are 0/255 PNGs and so are AVSBench's ground-truth masks, which
  AVSBench's loader turns into bilevel images with PIL's ``convert("1")`` (foreground from 128);
  the same 128 is used for every grey mask read anywhere. See
  :func:`avsynth.manifest.media.read_mask`.
* :data:`ON_ERROR`, :data:`SILENT_AUDIO`: the choices of ``build --on-error`` and
  ``--silent-audio``, the default first (here, so that checking options does not import the
  media stage; the CLI's choice enums are made from them).
* :data:`DEFAULT_SPLIT_SIZES`, :data:`DEFAULT_CLIP_SECONDS`: a build's default (train, val,
  test) sizes (the AVS-Synthetic release's) and audio length (VGGSound clips are 10 s).
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_CLIP_SECONDS",
    "DEFAULT_SPLIT_SIZES",
    "MASK_THRESHOLD",
    "MAX_SECONDS",
    "ON_ERROR",
    "SAMPLE_RATE",
    "SILENT_AUDIO",
    "SPLITS",
]

SPLITS = ("train", "val", "test")
SAMPLE_RATE = 16000
MASK_THRESHOLD = 128
ON_ERROR = ("raise", "skip")
SILENT_AUDIO = ("keep", "skip")
DEFAULT_SPLIT_SIZES = (52609, 5000, 5000)
DEFAULT_CLIP_SECONDS = 10.0
#: Longest clip (seconds) a manifest record may claim, and so a build may cut: an hour is
#: 230 MB of float32 samples at 16 kHz; VGGSound clips are 10 s.
MAX_SECONDS = 3600.0
