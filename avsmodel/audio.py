"""The VGGish front end as torch tensors: :mod:`avsynth.audio.logmel` with avsmodel's errors."""

from __future__ import annotations

import numpy as np
import torch

from avsmodel.errors import DataError
from avsynth.audio.logmel import (  # noqa: F401  (re-exported constants)
    EXAMPLE_FRAMES,
    LOG_OFFSET,
    MIN_SAMPLES,
    SAMPLE_RATE,
    log_mel,
    mel_matrix,
)
from avsynth.audio.logmel import vggish_examples as _examples
from avsynth.errors import MediaError


def vggish_examples(waveform: np.ndarray | torch.Tensor, sample_rate: int) -> torch.Tensor:
    """``Nx1x96x64`` float32 log-mel examples (see :func:`avsynth.audio.logmel.vggish_examples`).

    Raises:
        DataError: the waveform is too short for one example, not finite, or not 1-D/2-D.
    """
    if isinstance(waveform, torch.Tensor):
        waveform = waveform.detach().cpu().numpy()
    try:
        return torch.from_numpy(_examples(waveform, sample_rate))
    except MediaError as e:
        raise DataError(str(e)) from None
