"""Loading official checkpoints: SAM (``sam_vit_{b,l,h}_*.pth``) and VGGish
(``vggish-10086976.pth``), completely and by value.

Every tensor of the file must match a tensor of the model (same name and shape) and every
tensor of the model's part must come from the file: a missing or unexpected key, or a shape
mismatch, raises :class:`~avsmodel.errors.CheckpointError` naming it. Files are read with
``torch.load(..., map_location="cpu", weights_only=True)``.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING

from avsmodel.errors import CheckpointError

if TYPE_CHECKING:
    import torch
    from torch import nn

#: Top-level SAM modules of an official checkpoint.
SAM_PARTS = ("image_encoder", "prompt_encoder", "mask_decoder")
#: ``Sam`` registers these as non-persistent buffers: official files do not hold them, but
#: a checkpoint saved with them is accepted when they hold SAM's constants.
_SAM_IGNORED = ("pixel_mean", "pixel_std")


def read_state_dict(path: str | PathLike[str], what: str) -> dict[str, torch.Tensor]:
    """Read a flat ``{name: tensor}`` checkpoint safely.

    Raises:
        CheckpointError: the file is missing, not a PyTorch checkpoint, or not a flat
            state dict of tensors.
    """
    import torch

    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"{what} checkpoint {p} not found; pass the path of the .pth file")
    try:
        try:  # memory-map zip-format files (official ones are): no second copy in RAM
            sd = torch.load(p, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as e:
            if "mmap" not in str(e):
                raise
            sd = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unpickling/zip failure means "not a checkpoint"
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(
            f"{p} is not a readable PyTorch {what} checkpoint ({type(e).__name__}: {msg[:120]})"
        ) from None
    if isinstance(sd, dict) and "model" in sd and isinstance(sd["model"], dict):
        sd = sd["model"]
    if not isinstance(sd, dict) or not sd:
        raise CheckpointError(f"{p} holds {type(sd).__name__}, not a {what} state dict of tensors")
    for k, v in sd.items():
        if not isinstance(k, str) or not isinstance(v, torch.Tensor):
            raise CheckpointError(
                f"{p}: entry {k!r} is a {type(v).__name__}, not a tensor; expected a {what} "
                "state dict"
            )
    return sd


def load_into(
    module: nn.Module, state_dict: dict[str, torch.Tensor], *, source: str, what: str
) -> None:
    """Copy ``state_dict`` into ``module`` strictly (every key, every shape), by value."""
    import torch

    own = module.state_dict()
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    if missing:
        more = f" (+{len(missing) - 1} more)" if len(missing) > 1 else ""
        raise CheckpointError(
            f"{source}: missing key {missing[0]!r}{more}; is this a {what} checkpoint of the "
            "right size?"
        )
    if unexpected:
        more = f" (+{len(unexpected) - 1} more)" if len(unexpected) > 1 else ""
        raise CheckpointError(
            f"{source}: unexpected key {unexpected[0]!r}{more}; is this a {what} checkpoint?"
        )
    for k, t in own.items():
        if tuple(state_dict[k].shape) != tuple(t.shape):
            raise CheckpointError(
                f"{source}: key {k!r} has shape {tuple(state_dict[k].shape)}, the model expects "
                f"{tuple(t.shape)}; wrong {what} variant?"
            )
    with torch.no_grad():
        for k, t in own.items():
            if t.is_meta:
                raise CheckpointError(f"cannot load {k!r} into a model on the meta device")
            t.copy_(state_dict[k].to(t.dtype))


def load_sam_weights(model: nn.Module, path: str | PathLike[str]) -> None:
    """Load an official SAM checkpoint into ``model.{image_encoder,prompt_encoder,mask_decoder}``.

    Raises:
        CheckpointError: see module docstring.
    """
    import torch

    from avsmodel.modeling.sam_parts import PIXEL_MEAN, PIXEL_STD

    sd = dict(read_state_dict(path, "SAM"))
    for k, ref in zip(_SAM_IGNORED, (PIXEL_MEAN, PIXEL_STD), strict=True):
        if k in sd:
            v = sd.pop(k).flatten().double()
            if v.numel() != 3 or not torch.allclose(v, torch.tensor(ref, dtype=torch.double)):
                raise CheckpointError(f"{path}: {k} is {v.tolist()}, SAM uses {list(ref)}")
    parts = {name: getattr(model, name) for name in SAM_PARTS}
    foreign = sorted(k for k in sd if k.split(".", 1)[0] not in parts)
    if foreign:
        raise CheckpointError(
            f"{path}: unexpected key {foreign[0]!r}; a SAM checkpoint holds only "
            f"{', '.join(p + '.*' for p in SAM_PARTS)}"
        )
    for name, module in parts.items():
        sub = {k[len(name) + 1 :]: v for k, v in sd.items() if k.startswith(name + ".")}
        prefixed = _Prefixed(name)
        try:
            load_into(module, sub, source=str(path), what="SAM")
        except CheckpointError as e:
            raise CheckpointError(prefixed(str(e))) from None


def load_vggish_weights(module: nn.Module, path: str | PathLike[str]) -> None:
    """Load ``vggish-10086976.pth`` (torchvggish layout) into a :class:`VGGish` module.

    Raises:
        CheckpointError: see module docstring.
    """
    load_into(module, read_state_dict(path, "VGGish"), source=str(path), what="VGGish")


class _Prefixed:
    """Rewrites "key 'x'" in a message into "key 'part.x'" (keys named as in the file)."""

    def __init__(self, part: str) -> None:
        self.part = part

    def __call__(self, msg: str) -> str:
        return msg.replace("key '", f"key '{self.part}.", 1)
