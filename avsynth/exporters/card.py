"""The dataset card (``README.md``) of a Hugging Face export.

The YAML header is written by the libraries that read it: ``datasets``' ``MetadataConfigs``
(one ``default`` config whose ``data_files`` map each split to its Parquet shards) and
``DatasetInfosDict`` (features, per-split ``num_examples``/``num_bytes``) fill a
``huggingface_hub.DatasetCardData``. The body states what a row holds, the licence terms of
each source present, and how the data was built (the build fingerprint of
:func:`avsynth.exporters.shards.build_fingerprint`).
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from avsynth import __version__
from avsynth.manifest import Triplet

__all__ = ["LICENCE_NOTES", "dataset_card"]

#: Licence notes per source, in our words; the per-row ``*_license`` columns are authoritative.
LICENCE_NOTES = {
    "lvis": (
        "**LVIS** (masks and category names): the LVIS annotations are released under CC BY "
        "4.0. The photos are COCO images taken from Flickr; they are not relicensed here and "
        "stay under the Flickr terms of use and the licence of each photo (its URL is in "
        "`image_license`)."
    ),
    "openimages": (
        "**Open Images** (masks and labels): Google releases the annotations under CC BY 4.0. "
        "The images are listed by Open Images as CC BY 2.0; check each image's own author and "
        "licence before reuse (`image_license`)."
    ),
    "vggsound": (
        "**VGGSound** (the sound labels): the VGGSound labels are released under CC BY 4.0. "
        "The audio comes from YouTube videos (`audio_youtube_id`, `audio_start_seconds`); its "
        "rights stay with the uploaders, and this export grants none (`audio_license`)."
    ),
}


def _header(
    counts: dict[str, int], nbytes: dict[str, int], download_size: int, hf_splits: dict[str, str]
) -> str:
    from datasets import DatasetInfo, SplitDict, SplitInfo
    from datasets.info import DatasetInfosDict
    from datasets.utils.metadata import MetadataConfigs
    from huggingface_hub import DatasetCardData

    from avsynth.exporters.hf import hf_features

    names = {s: hf_splits[s] for s in counts}
    card = DatasetCardData(
        license="other",
        pretty_name="avsynth synthetic audio-visual segmentation triplets",
        task_categories=["image-segmentation"],
        tags=["audio-visual", "audio-visual-segmentation", "synthetic", "avsynth"],
    )
    files = [{"split": n, "path": f"data/{n}-*.parquet"} for n in names.values()]
    MetadataConfigs({"default": {"data_files": files}}).to_dataset_card_data(card)
    splits = SplitDict(
        {n: SplitInfo(n, num_bytes=nbytes[s], num_examples=counts[s]) for s, n in names.items()}
    )
    info = DatasetInfo(
        features=hf_features(),
        splits=splits,
        download_size=download_size,
        dataset_size=sum(nbytes.values()),
    )
    DatasetInfosDict({"default": info}).to_dataset_card_data(card)
    return f"---\n{card.to_yaml()}\n---\n"


def dataset_card(
    triplets: list[Triplet],
    counts: dict[str, int],
    nbytes: dict[str, int],
    download_size: int,
    provenance: dict[str, Any],
    hf_splits: dict[str, str],
) -> str:
    """The ``README.md`` text.

    Args:
        triplets: The exported triplets (for the sources and compositions present).
        counts: Rows per manifest split.
        nbytes: Arrow bytes per manifest split.
        download_size: Total bytes of the Parquet files.
        provenance: :func:`~avsynth.exporters.shards.build_fingerprint` of the manifest.
        hf_splits: Manifest split -> ``datasets`` split name.
    """
    sources = sorted({t.image.source for t in triplets} | {"vggsound"})
    comps = Counter(t.composition for t in triplets)
    rows = "\n".join(f"| {hf_splits[s]} | {n} |" for s, n in counts.items())
    lines = [
        _header(counts, nbytes, download_size, hf_splits),
        "# avsynth audio-visual segmentation triplets\n",
        "Each row is one synthetic triplet: a still `image` (the built bytes, JPEG or PNG), the "
        "binary `mask` (PNG, 0/255) of the object that sounds, and the `audio` heard (16 kHz "
        "mono 16-bit WAV). The sound was chosen by category, not recorded with the image: the "
        "pairing is synthetic. `box` is the mask's normalised `[x, y, w, h]`.\n",
        "| split | rows |\n|---|---|\n" + rows + "\n",
        "Compositions: "
        + ", ".join(f"{c} {n}" for c, n in sorted(comps.items()))
        + " (`single`: one object and its sound; `multi`: several objects sound and the mask "
        "is their union; `offscreen`: the sound's object is absent and the mask is empty; "
        "`partial`: one of several objects sounds). `instances` and `components` list the "
        "target masks and the clips mixed.\n",
        "## Loading\n",
        '```python\nfrom datasets import load_dataset\n\nds = load_dataset("path/to/this/folder")'
        '\nrow = ds["train"][0]  # row["image"], row["mask"]: PIL images\n```\n',
        "Decoding `audio` to arrays needs `torchcodec`; without it, cast the column with "
        '`ds.cast_column("audio", Audio(decode=False))` and read the WAV bytes with soundfile.\n',
        "## Licences\n",
        "This card does not license the media. Each source keeps its own terms:\n",
        *(f"- {LICENCE_NOTES[s]}" for s in sources if s in LICENCE_NOTES),
        "",
        "## How it was built\n",
        f"Built by `avsynth build` and exported by `avsynth export --format hf` (avsynth "
        f"{__version__}). The build fingerprint (from `build_info.json`; `build_info_sha256` "
        "is the SHA-256 of that file's canonical JSON without its machine-specific source "
        "roots):\n",
        "```json\n" + json.dumps(provenance, indent=2, ensure_ascii=False) + "\n```\n",
    ]
    return "\n".join(lines)
