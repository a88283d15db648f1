"""Segment the sounding object of one image given one audio clip, and draw an overlay.

The mask is written as a binary PNG (0/255) at the image's own size; the overlay is the image
with the mask as a translucent colour, its contour, and a caption naming the model and clip.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from avsynth.storage.atomic import atomic_path

#: Colour of the outline's core (a black halo surrounds it, so it shows on any object colour).
COLOUR = (255, 255, 255)
#: Smallest caption text height in pixels (the overlay's own size; readable on a screen).
MIN_TEXT_PX = 16


def _contour(mask: np.ndarray) -> np.ndarray:
    """Pixels of ``mask`` with a 4-neighbour outside it (a thin outline)."""
    m = np.pad(mask, 1)
    inner = m[1:-1, 1:-1] & m[:-2, 1:-1] & m[2:, 1:-1] & m[1:-1, :-2] & m[1:-1, 2:]
    return mask & ~inner


def _grow(mask: np.ndarray, px: int) -> np.ndarray:
    """``mask`` dilated by ``px`` pixels (a square neighbourhood)."""
    from PIL import Image, ImageFilter

    im = Image.fromarray(mask.astype(np.uint8) * 255)
    return np.asarray(im.filter(ImageFilter.MaxFilter(2 * px + 1))) > 0


def render_overlay(
    image: np.ndarray,
    mask: np.ndarray,
    label: str = "",
    *,
    colour: tuple[int, int, int] = COLOUR,
    alpha: float = 0.45,
    scale_to: int | None = None,
) -> Any:
    """The image with the mask outlined, the rest veiled, and a caption.

    The mask is shown without tinting it (a tint can match an object's own colour): pixels
    outside it are darkened, and its outline is a line of ``colour`` inside a black halo, so
    it stands out on every object colour. The image is scaled first, so the outline and the
    caption (at least :data:`MIN_TEXT_PX` pixels tall) have their size in the result.

    Args:
        image: ``uint8[H, W, 3]``.
        mask: ``bool[H, W]``.
        label: Caption (white on a black band at the top; lines split at ``\\n``).
        colour: Colour of the outline's core.
        alpha: How much the pixels outside the mask are darkened (0: not at all).
        scale_to: Upscale so the longer side is at least this (small images stay legible).

    Returns:
        A ``PIL.Image`` (RGB).
    """
    from PIL import Image

    im = Image.fromarray(image)
    m = Image.fromarray(mask.astype(np.uint8) * 255)
    if scale_to and max(im.size) < scale_to:
        f = scale_to / max(im.size)
        size = (round(im.width * f), round(im.height * f))
        im, m = im.resize(size, Image.NEAREST), m.resize(size, Image.NEAREST)
    out = np.asarray(im.convert("RGB"), np.float32).copy()
    inside = np.asarray(m) > 0
    out[~inside] *= 1.0 - alpha
    width = max(2, max(im.size) // 160)  # 2 px up to 479 px, 3 px up to 639 px, ...
    core = _grow(_contour(inside), width - 1) if width > 1 else _contour(inside)
    halo = _grow(core, width + 1) & ~core
    out[halo] = 0.0
    out[core] = colour
    result = Image.fromarray(out.clip(0, 255).astype(np.uint8))
    if label:
        _caption(result, label)
    return result


def _caption(im: Any, label: str) -> None:
    """Draw ``label`` (white, at least ``MIN_TEXT_PX`` tall) on a black band at the top."""
    from PIL import ImageDraw, ImageFont

    draw = ImageDraw.Draw(im)
    lines = label.split("\n")
    size = max(MIN_TEXT_PX, im.width // 24)
    try:
        font = ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: fixed bitmap font
        font, size = ImageFont.load_default(), 10
    step = size + 4
    draw.rectangle((0, 0, im.width, step * len(lines) + 4), fill=(0, 0, 0))
    for i, line in enumerate(lines):
        draw.text((4, 2 + step * i), line, fill=(255, 255, 255), font=font)


def _atomic_png(im: Any, path: Path) -> None:
    with atomic_path(path) as tmp:
        im.save(tmp)


def predict_arrays(
    model: Any,
    image: np.ndarray,
    examples: Any,
    resize: str = "pad",
    score_size: str = "ground_truth",
) -> np.ndarray:
    """Mask logits for one image and its log-mel examples.

    Args:
        model: An :class:`avsmodel.AvsModel` (not the oracle: it needs ground truth).
        image: ``uint8[H, W, 3]``.
        examples: ``[M, 1, 96, 64]`` log-mel examples (chosen as for a synthetic image:
            example 1 alone, or the model's count around the middle).
        resize: ``pad`` or ``squash``, as the model was trained (the run's ``resize``).
        score_size: ``ground_truth``: ``float[H, W]`` at the image's size; ``input``: on the
            model's input grid without its padding (``SxS`` when squashed, as the authors'
            ``infer`` returns it).

    Runs on the model's device (the inputs are moved there); the logits come back on the CPU.
    """
    import torch

    from avsmodel.data.selection import frame_audio, synthetic_example_index
    from avsmodel.transforms import SamTransform

    tf = SamTransform(model.image_size, resize)
    x, resized = tf.image(image)
    n = model.audio_examples
    audio = frame_audio(examples, n, index=synthetic_example_index(n))
    dev = next(model.parameters()).device
    with torch.inference_mode():
        logits = model(x[None].to(dev), audio[None].to(dev)).float()
        if score_size == "input":
            s = model.image_size
            big = torch.nn.functional.interpolate(
                logits, (s, s), mode="bilinear", align_corners=False
            )
            out = big[0, 0, : resized[0], : resized[1]]
        else:
            out = tf.postprocess(logits, resized, image.shape[:2])[0, 0]
    return out.cpu().numpy()


def predict(
    ckpt: str | os.PathLike[str],
    image: str | os.PathLike[str],
    audio: str | os.PathLike[str],
    out: str | os.PathLike[str],
    overlay: str | os.PathLike[str] | None = None,
    *,
    sam_checkpoint: str | os.PathLike[str] | None = None,
    vggish_checkpoint: str | os.PathLike[str] | None = None,
    label: str | None = None,
    device: str | None = "auto",
    resize: str | None = None,
    score_size: str = "ground_truth",
) -> dict[str, Any]:
    """Predict the mask of the object that makes ``audio`` in ``image``.

    Args:
        ckpt: A run's ``best.pt``/``last.pt``.
        image: Image file (any format PIL reads).
        audio: Audio file (WAV/FLAC; MP4 through PyAV), at least one VGGish example
            (:data:`avsynth.audio.logmel.MIN_SECONDS`, 0.975 s).
        out: Mask PNG to write (0 background, 255 object; the image's displayed size, EXIF
            orientation applied); a ``.png`` name.
        overlay: Optional overlay image for people (``.png``, ``.jpg``, ... any format PIL
            writes).
        sam_checkpoint: SAM weights (default: the path recorded in the checkpoint).
        vggish_checkpoint: VGGish weights (default: the path recorded in the checkpoint).
        label: Caption of the overlay (default: model name and audio file name).
        device: ``auto`` (CUDA when available), ``cpu``, ``cuda`` or ``cuda:N``
            (:func:`avsmodel.device.resolve_device`).
        resize: ``pad`` or ``squash`` (default: the run's recipe, ``resize``).
        score_size: ``ground_truth`` (the mask at the image's size) or ``input`` (on the
            model's input grid, as the authors' ``infer``; no overlay then).

    Returns:
        ``{"mask", "overlay", "area_fraction", "model", "device"}``.

    Raises:
        OutputError: ``out``/``overlay`` is a folder, has the wrong extension or cannot be
            written (checked first). DataError: image or audio does not decode (or is
            shorter than 0.975 s). CheckpointError: unusable checkpoint. ConfigError: an
            unusable ``device`` (e.g. ``cuda`` where there is no GPU).
    """
    from PIL import Image

    from avsmodel.data.dataset import LogMelCache
    from avsmodel.device import resolve_device
    from avsmodel.errors import ConfigError
    from avsmodel.photo import read_photo
    from avsmodel.pretrained.build import build_from_checkpoint
    from avsynth.storage.out_paths import check_out_file, image_suffixes

    dev = resolve_device(device)
    check_out_file(out, option="--output", suffixes={".png"})
    if resize not in (None, "pad", "squash"):
        raise ConfigError(f"resize={resize!r}: use pad or squash")
    if score_size not in ("ground_truth", "input"):
        raise ConfigError(f"score_size={score_size!r}: use ground_truth or input")
    if overlay is not None and score_size == "input":
        raise ConfigError("--overlay draws on the image's own size; drop --score-size input")
    if overlay is not None:
        check_out_file(overlay, option="--overlay", suffixes=image_suffixes())

    img = read_photo(image)  # as displayed: EXIF orientation applied
    examples = LogMelCache(0).get(Path(audio))
    model, meta = build_from_checkpoint(
        ckpt, sam_checkpoint=sam_checkpoint, vggish_checkpoint=vggish_checkpoint, device=dev
    )
    if model.config.family == "sam_oracle":
        raise ConfigError("the SAM oracle needs the ground truth; use avsmodel eval for it")
    resize = resize or str(meta.train_config.get("resize", "pad"))
    logits = predict_arrays(model, img, examples, resize, score_size)
    mask = logits > 0.0
    out = Path(out)
    _atomic_png(Image.fromarray(mask.astype(np.uint8) * 255), out)
    result: dict[str, Any] = {
        "mask": str(out),
        "overlay": None,
        "area_fraction": float(mask.mean()),
        "model": meta.model,
        "device": str(next(model.parameters()).device),
        "resize": resize,
        "score_size": score_size,
    }
    if overlay is not None:
        text = label or f"{meta.model} | audio: {Path(audio).name}"
        text += f"\nmask: {100 * mask.mean():.1f}% of image"
        _atomic_png(render_overlay(img, mask, text, scale_to=384), Path(overlay))
        result["overlay"] = str(overlay)
    return result
