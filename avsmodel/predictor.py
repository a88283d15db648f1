"""One image, many sounds: a model loaded once, in the style of segment-anything's
``SamPredictor``.

:meth:`Predictor.set_image` preprocesses an image once (resize, normalise, pad as the run was
trained); :meth:`Predictor.predict` then segments the object that makes a sound, given as a
waveform. The audio goes through exactly the front end of ``avsmodel predict``: mono,
resampled to 16 kHz (:func:`avsynth.audio.resample`, soxr HQ), VGGish log-mel examples
(:func:`avsmodel.audio.vggish_examples`), the example a synthetic image hears
(:func:`avsmodel.data.selection.frame_audio`). Masks come back at the image's own size,
identical to what ``avsmodel predict`` writes for the same image and clip.

Example:
    >>> import avsmodel, soundfile as sf
    >>> predictor = avsmodel.Predictor.from_checkpoint("runs/tiny/best.pt")  # doctest: +SKIP
    >>> predictor.set_image(rgb)                          # uint8 HxWx3   # doctest: +SKIP
    >>> wave, rate = sf.read("bark.wav", dtype="float32")                  # doctest: +SKIP
    >>> mask = predictor.predict(wave, rate)              # bool HxW      # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from avsmodel.errors import ConfigError, DataError

__all__ = ["Predictor"]


def waveform_examples(waveform: Any, sample_rate: int) -> torch.Tensor:
    """``[M, 1, 96, 64]`` log-mel examples of a waveform, as ``avsmodel predict`` makes them.

    Args:
        waveform: ``float[T]`` mono, or ``float[T, C]`` (channels averaged, as soundfile
            returns them); a numpy array or a tensor.
        sample_rate: Its rate in Hz (resampled to 16 kHz when it differs).

    Raises:
        DataError: not 1-D/2-D, not finite, or shorter than one VGGish example (0.975 s).
    """
    from avsmodel.audio import vggish_examples
    from avsynth.audio.decode import resample
    from avsynth.audio.logmel import MIN_SAMPLES, MIN_SECONDS
    from avsynth.constants import SAMPLE_RATE

    if isinstance(waveform, torch.Tensor):
        waveform = waveform.detach().cpu().numpy()
    wave = np.asarray(waveform, dtype=np.float32)
    if wave.ndim == 2:
        wave = wave.mean(axis=1, dtype=np.float32)
    if wave.ndim != 1:
        raise DataError(f"waveform must be [T] or [T, channels], got shape {wave.shape}")
    wave = np.ascontiguousarray(resample(wave, int(sample_rate), SAMPLE_RATE), dtype=np.float32)
    if wave.size < MIN_SAMPLES:
        raise DataError(f"audio shorter than one VGGish example ({MIN_SECONDS:.3f} s)")
    return vggish_examples(wave, SAMPLE_RATE).float()


class Predictor:
    """Segment the sounding object of one image for any number of sounds.

    ``set_image`` does the image work once. For AP-SAM, whose image encoder never hears the
    audio, that includes the image embedding: every later ``predict`` runs only the audio
    encoder and the mask decoder. SAMA-AVS's encoder hears the audio (its adapters add an
    audio offset before every block), so there the encoder reruns for each sound; only the
    preprocessing is shared.

    Args:
        model: A SAMA-AVS or AP-SAM :class:`~avsmodel.modeling.base.AvsModel` (the SAM
            oracle needs ground truth and is refused).
        resize: ``pad`` or ``squash``: as the model was trained (the run's ``resize``).
        device: Where to run (default: the model's device).
    """

    def __init__(self, model: Any, *, resize: str = "pad", device: str | None = None) -> None:
        from avsmodel.transforms import SamTransform

        if model.config.family == "sam_oracle":
            raise ConfigError("the SAM oracle needs the ground truth; use avsmodel eval for it")
        self.model = model.eval() if device is None else model.to(device).eval()
        self.device = next(self.model.parameters()).device
        self.transform = SamTransform(model.image_size, resize)
        self.reset_image()

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_checkpoint(
        cls,
        path: str | os.PathLike[str],
        *,
        device: str | None = None,
        sam_checkpoint: str | os.PathLike[str] | None = None,
        vggish_checkpoint: str | os.PathLike[str] | None = None,
    ) -> Predictor:
        """A predictor for a run checkpoint (or pretrained folder), with the run's geometry.

        Raises:
            CheckpointError: unusable checkpoint. ConfigError: the SAM oracle.
        """
        from avsmodel.pretrained.build import build_from_checkpoint

        model, meta = build_from_checkpoint(
            path, sam_checkpoint=sam_checkpoint, vggish_checkpoint=vggish_checkpoint
        )
        return cls(model, resize=meta.train_config.get("resize", "pad"), device=device)

    @classmethod
    def from_pretrained(
        cls,
        folder: str | os.PathLike[str],
        *,
        device: str | None = None,
        sam_checkpoint: str | os.PathLike[str] | None = None,
        vggish_checkpoint: str | os.PathLike[str] | None = None,
    ) -> Predictor:
        """A predictor for a pretrained folder (``avsmodel export-pretrained``).

        Raises:
            CheckpointError: not a pretrained folder, or unusable (see
                :func:`avsmodel.from_pretrained`).
        """
        from avsmodel.errors import CheckpointError

        if not os.path.isdir(folder):
            raise CheckpointError(f"{folder}: not a folder; use Predictor.from_checkpoint")
        return cls.from_checkpoint(
            folder,
            device=device,
            sam_checkpoint=sam_checkpoint,
            vggish_checkpoint=vggish_checkpoint,
        )

    # ------------------------------------------------------------------ image
    def reset_image(self) -> None:
        """Forget the current image (and its embedding)."""
        self._x: torch.Tensor | None = None
        self._resized: tuple[int, int] | None = None
        self._size: tuple[int, int] | None = None
        self._embedding: torch.Tensor | None = None

    @property
    def is_image_set(self) -> bool:
        """Whether :meth:`set_image` was called since the last reset."""
        return self._x is not None

    @property
    def caches_embedding(self) -> bool:
        """True for AP-SAM: the image embedding is computed once per image."""
        return self.model.config.family == "ap_sam"

    def set_image(self, image: np.ndarray) -> None:
        """Preprocess ``image`` (``uint8 HxWx3`` RGB) for the following predictions.

        AP-SAM: also runs the image encoder once and keeps the embedding.

        Raises:
            DataError: not a ``uint8 HxWx3`` array.
        """
        image = np.asarray(image)
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise DataError(f"image must be uint8 HxWx3 RGB, got {image.dtype} {image.shape}")
        x, resized = self.transform.image(image)
        self._x = x[None].to(self.device)
        self._resized = resized
        self._size = (int(image.shape[0]), int(image.shape[1]))
        self._embedding = None
        if self.caches_embedding:
            with torch.no_grad(), self.model.autocast_context(self.device):
                self._embedding = self.model.encode_image(self._x)

    # ------------------------------------------------------------------ prediction
    def _audio(self, waveform: Any, sample_rate: int) -> torch.Tensor:
        from avsmodel.data.selection import frame_audio, synthetic_example_index

        n = self.model.audio_examples
        ex = waveform_examples(waveform, sample_rate)
        return frame_audio(ex, n, index=synthetic_example_index(n))

    def _low_res_logits(self, audio: torch.Tensor) -> torch.Tensor:
        """``BxNx1x96x64`` -> ``Bx1xsxs`` logits for the current image."""
        if self._x is None:
            raise ConfigError("call set_image(image) before predict")
        audio = audio.to(self.device)
        b = audio.shape[0]
        model = self.model
        with torch.no_grad():
            if self._embedding is None:  # SAMA-AVS: the encoder hears the audio
                return model(self._x.expand(b, -1, -1, -1), audio)
            with model.autocast_context(self.device):  # AP-SAM: as ApSam.forward, cached
                tokens = model.audio_prompt(model.encode_audio(audio))
                emb = self._embedding.expand(b, -1, -1, -1)
                masks, _ = model.decode(emb, tokens)
            return masks.float()

    def _to_image(self, logits: torch.Tensor) -> np.ndarray:
        assert self._resized is not None and self._size is not None
        out = self.transform.postprocess(logits.float().cpu(), self._resized, self._size)
        return out[:, 0].numpy()

    def predict_logits(self, waveform: Any, sample_rate: int) -> np.ndarray:
        """Mask logits ``float32[H, W]`` at the image's size for one sound.

        Args:
            waveform: ``float[T]`` or ``float[T, C]`` samples (at least 0.975 s).
            sample_rate: In Hz.

        Raises:
            ConfigError: no image set. DataError: unusable audio.
        """
        return self._to_image(self._low_res_logits(self._audio(waveform, sample_rate)[None]))[0]

    def predict(self, waveform: Any, sample_rate: int) -> np.ndarray:
        """The mask ``bool[H, W]`` of the object making the sound (logits > 0)."""
        return self.predict_logits(waveform, sample_rate) > 0.0

    def predict_many_logits(
        self, waveforms: Sequence[Any], sample_rate: int, *, batch_size: int = 16
    ) -> np.ndarray:
        """Logits ``float32[K, H, W]`` for K sounds, run in batches of ``batch_size``."""
        if len(waveforms) == 0:
            raise DataError("predict_many needs at least one waveform")
        audio = torch.stack([self._audio(w, sample_rate) for w in waveforms])
        out = [
            self._to_image(self._low_res_logits(audio[i : i + batch_size]))
            for i in range(0, audio.shape[0], batch_size)
        ]
        return np.concatenate(out)

    def predict_many(
        self, waveforms: Sequence[Any], sample_rate: int, *, batch_size: int = 16
    ) -> np.ndarray:
        """Masks ``bool[K, H, W]`` for K sounds (all at ``sample_rate``), batched."""
        return self.predict_many_logits(waveforms, sample_rate, batch_size=batch_size) > 0.0
