"""The VGGish front end as torch tensors: :mod:`avsynth.logmel` with avsmodel's errors."""

from __future__ import annotations

import numpy as np
import torch

from avsmodel.errors import DataError
from avsynth.errors import MediaError
from avsynth.logmel import (  # noqa: F401  (re-exported constants)
    EXAMPLE_FRAMES,
    LOG_OFFSET,
    MIN_SAMPLES,
    SAMPLE_RATE,
    log_mel,
    mel_matrix,
)
from avsynth.logmel import vggish_examples as _examples


def vggish_examples(waveform: np.ndarray | torch.Tensor, sample_rate: int) -> torch.Tensor:
    """``Nx1x96x64`` float32 log-mel examples (see :func:`avsynth.logmel.vggish_examples`).

    Raises:
        DataError: the waveform is too short for one example, not finite, or not 1-D/2-D.
    """
    if isinstance(waveform, torch.Tensor):
        waveform = waveform.detach().cpu().numpy()
    try:
        return torch.from_numpy(_examples(waveform, sample_rate))
    except MediaError as e:
        raise DataError(str(e)) from None
