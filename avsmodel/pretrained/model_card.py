"""The model card (``README.md``) of a pretrained folder: what the model is, how it was
trained, how well it did, and the terms of the weights it is built on.

The card is written for people and never read back; its YAML header holds the fields the
Hugging Face Hub shows (licence, tags, library). Everything in it comes from the folder's
``config.json``, so the card is as deterministic as the config.
"""

from __future__ import annotations

from typing import Any

#: Where the frozen weights come from, and their terms, in our words.
WEIGHT_LICENCES = (
    "- **Segment Anything (SAM)** image encoder, prompt encoder and mask decoder: Meta AI's "
    "released checkpoints (`sam_vit_b/l/h_*.pth`), published under the Apache License 2.0.\n"
    "- **VGGish** audio encoder: Google's VGGish weights from the TensorFlow models "
    "repository (`research/audioset/vggish`), Apache License 2.0, used through the PyTorch "
    "port torchvggish (`vggish-10086976.pth`).\n"
)


def _fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _metrics_table(config: dict[str, Any]) -> str:
    metrics = config.get("metrics") or {}
    rows = [("best validation mIoU (J)", config.get("best_miou"))]
    rows.append(("epoch of the best validation mIoU", config.get("best_epoch")))
    rows.append(("epochs trained", config.get("epoch")))
    for key in ("val_miou", "val_fscore", "train_loss"):
        if key in metrics:
            rows.append((f"last epoch {key}", metrics[key]))
    lines = ["| metric | value |", "|---|---|"]
    lines += [f"| {name} | {_fmt(v)} |" for name, v in rows if v is not None]
    return "\n".join(lines) + "\n"


def _weights_section(config: dict[str, Any], tensors: dict[str, Any]) -> str:
    n = sum(int(t.numel()) for t in tensors.values())
    size = sum(int(t.numel()) * t.element_size() for t in tensors.values())
    text = f"`model.safetensors` holds {len(tensors)} tensors, {n:,} values ({size:,} bytes).\n"
    if config["weights"] == "full":
        return text + "It is the whole model: it loads without any other file.\n"
    text += "It holds only what the official weight files cannot give back; loading needs:\n\n"
    for kind, entry in sorted(config["official_weights"].items()):
        if entry is None:
            continue
        name = entry.get("name") or "(not an official file)"
        text += f"- {kind}: `{entry.get('file')}` (download name `{name}`, "
        text += f"SHA-256 `{entry.get('sha256')}`)\n"
    return text


def model_card(config: dict[str, Any], tensors: dict[str, Any]) -> str:
    """The ``README.md`` text of a folder with ``config`` (its config.json) and ``tensors``."""
    model, data = config["model"], config.get("data") or {}
    geo = config["geometry"]
    header = (
        "---\nlicense: apache-2.0\nlibrary_name: avsmodel\ntags:\n- audio-visual-segmentation\n"
        f"- segment-anything\n- {model}\npipeline_tag: image-segmentation\n---\n\n"
    )
    body = f"# {model}\n\n"
    body += (
        "Audio-visual segmentation: given an image and a sound, the mask of the object that "
        f"makes the sound. Family `{config['model_config']['family']}`, variant "
        f"`{config['model_config']['variant']}`, trained with avsmodel.\n\n"
        "## Use\n\n```python\nimport avsmodel\n\n"
        'predictor = avsmodel.Predictor.from_pretrained("THIS_FOLDER")\n'
        "predictor.set_image(rgb)                     # uint8 HxWx3\n"
        "mask = predictor.predict(waveform, sample_rate)  # bool HxW\n```\n\n"
        "or `avsmodel predict THIS_FOLDER --image IMG --audio WAV --out mask.png`; every "
        "avsmodel command that takes a checkpoint takes this folder.\n\n"
        "## Input geometry\n\n"
        f"Images are resized to {geo['image_size']} px (`resize: {geo['resize']}`), masks "
        f"come out at {geo['mask_size']} px and are resized back to the image; audio is "
        f"16 kHz mono, {geo['audio_examples']} VGGish log-mel example(s) of 0.96 s.\n\n"
    )
    body += "## Training data\n\n"
    body += f"- kind: {data.get('kind', 'unknown')}\n"
    for key in ("manifest", "root", "subset"):
        if key in data:
            body += f"- {key}: `{data[key]}`\n"
    body += f"- SHA-256 of the data description: `{data.get('sha256', 'unknown')}`\n\n"
    body += "## Results of the run\n\n" + _metrics_table(config) + "\n"
    body += "## Weights\n\n" + _weights_section(config, tensors) + "\n"
    body += "## Licences of the weights it builds on\n\n" + WEIGHT_LICENCES
    body += (
        "\nThe trained tensors of this folder are derived from those weights; keep their "
        "notices when you redistribute it. The training images and sounds keep their own "
        "terms (see the dataset's card).\n"
    )
    return header + body
