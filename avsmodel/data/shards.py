"""Training from a WebDataset export (``avsynth export --format webdataset``), streamed.

The export holds tar shards per split and an ``index.json`` listing them with their sample
counts (``docs/interop.md``). :class:`ShardDataset` is an ``IterableDataset`` that reads the
tars with the ``webdataset`` library and yields the same items as
:class:`~avsmodel.data.dataset.ManifestDataset` (image, mask, log-mel audio, ...).

How the shards are spread (deterministic, no shared state):

* Each epoch the split's shard list is permuted with a generator seeded by ``(seed, epoch)``
  (training; evaluation keeps index order). Rank r of W takes every W-th shard of it from
  r, and DataLoader worker w of K takes every K-th of those from w: no shard is read by two
  readers of an epoch.
* Training: a seeded shuffle buffer (``shuffle_buffer`` samples) mixes each reader's stream.
  An epoch is the split's sample count: each rank yields ``num_samples // W`` samples,
  split evenly over its workers; a reader whose shards run out starts over on them (in a
  new order), so every rank takes the same number of steps (DDP needs that).
* Validation: every sample of the rank's shards once, in order.

The sample order depends on the seed, the epoch, the number of ranks and of workers (the
manifest path, by contrast, is independent of the worker count). Same-category audio
resampling (``resample_audio_p``) draws from the clips of that category this reader has
met so far (up to :data:`AUDIO_POOL` of them), not from the whole split.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import IterableDataset

from avsmodel.errors import DataError

INDEX = "index.json"
#: Clips kept per audio pool for same-category resampling (per reader).
AUDIO_POOL = 32
#: Samples in the training shuffle buffer (per reader).
SHUFFLE_BUFFER = 1000


def is_shard_export(path: str | os.PathLike[str] | None) -> bool:
    """Whether ``path`` is a folder holding a WebDataset export's ``index.json``."""
    return path is not None and Path(path).is_dir() and (Path(path) / INDEX).is_file()


def read_index(root: str | os.PathLike[str]) -> dict[str, Any]:
    """``ROOT/index.json``, checked: every split's shards exist inside ``root``, with counts.

    Raises:
        DataError: one line naming the file and the first problem.
    """
    root = Path(root)
    p = root / INDEX
    try:
        index = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DataError(f"{p}: not a readable index ({type(e).__name__})") from None
    if not isinstance(index, dict) or index.get("format") != "webdataset":
        raise DataError(f"{p}: not a WebDataset export index (format != 'webdataset')")
    splits = index.get("splits")
    if not isinstance(splits, dict):
        raise DataError(f"{p}: 'splits' must be an object")
    for name, entry in splits.items():
        shards = entry.get("shards") if isinstance(entry, dict) else None
        if not isinstance(shards, list) or not isinstance(entry.get("num_samples"), int):
            raise DataError(f"{p}: split {name!r} needs num_samples and shards")
        for s in shards:
            url = s.get("url") if isinstance(s, dict) else None
            if not isinstance(url, str) or Path(url).name != url or url in ("", ".", ".."):
                raise DataError(f"{p}: split {name!r}: shard url {url!r} is not a file name")
            if not isinstance(s.get("nsamples"), int) or s["nsamples"] < 0:
                raise DataError(f"{p}: shard {url}: nsamples must be a count")
            if not (root / url).is_file():
                raise DataError(f"{p}: shard {url} is not in {root}")
        if sum(s["nsamples"] for s in shards) != entry["num_samples"]:
            raise DataError(f"{p}: split {name!r}: shard counts do not add up to num_samples")
    return index


def _pool_key(record: dict[str, Any]) -> str:
    """Audio pool of a record: its category, composed records by composition too."""
    comp = record.get("composition", "single")
    cat = str(record.get("category"))
    return cat if comp == "single" else f"{comp}:{cat}"


class ShardDataset(IterableDataset):
    """One split of a WebDataset export as a stream of model-ready items.

    Items are those of :class:`~avsmodel.data.dataset.ManifestDataset`; ``index`` is the
    sample's position in the split (index order) and ``image_key`` ``shard#key``.

    Args:
        root: The export folder (with ``index.json``).
        split: ``train``, ``val`` or ``test``.
        image_size: The model's input size S.
        audio_examples: Log-mel examples per clip the model expects.
        shuffle_buffer: Training: samples in the shuffle buffer (> 0) and an epoch of
            ``num_samples // world_size`` per rank; 0: evaluation order, each sample once.
        seed: Seed of shard order, shuffle buffer and audio resampling.
        resize: ``pad`` or ``squash``.
        full_masks: Also yield ``mask_full`` (evaluation at each image's size).
        input_masks: Also yield ``mask_input`` (loss/scoring at the input size).
        resample_audio_p: Probability of hearing another recent clip of the same pool.
        audio_cache: Log-mel examples of this many clips kept per reader (LRU, keyed by the
            WAV bytes' SHA-1), so later epochs skip the audio front end; 0 disables.

    Raises:
        DataError: unreadable index, or a split the export lacks (names the ones it has).
    """

    frames_per_clip = 1

    def __init__(
        self,
        root: str | os.PathLike[str],
        split: str,
        *,
        image_size: int,
        audio_examples: int,
        shuffle_buffer: int = 0,
        seed: int = 0,
        resize: str = "pad",
        full_masks: bool = False,
        input_masks: bool = False,
        resample_audio_p: float = 0.0,
        audio_cache: int = 4096,
    ) -> None:
        from avsmodel.transforms import SamTransform

        try:
            import webdataset  # noqa: F401
        except ImportError:
            from avsmodel.errors import ConfigError

            raise ConfigError(
                "training from shards needs webdataset: pip install 'avsynth[webdataset]'"
            ) from None
        self.root = Path(root)
        index = read_index(self.root)
        if split not in index["splits"] or not index["splits"][split]["num_samples"]:
            have = ", ".join(sorted(index["splits"]))
            raise DataError(f"{self.root / INDEX}: no samples in split {split!r} (has: {have})")
        entry = index["splits"][split]
        self.split = split
        self.shards = [(s["url"], int(s["nsamples"])) for s in entry["shards"]]
        self.offsets = list(np.cumsum([0] + [n for _, n in self.shards])[:-1])
        self.num_samples = int(entry["num_samples"])
        self.image_size, self.mask_size = image_size, image_size // 4
        self.audio_examples = audio_examples
        self.transform = SamTransform(image_size, resize)
        self.shuffle_buffer, self.seed = shuffle_buffer, seed
        self.full_masks, self.input_masks = full_masks, input_masks
        self.resample_audio_p = resample_audio_p
        self.audio_cache = audio_cache
        self._logmel: OrderedDict[bytes, torch.Tensor] = OrderedDict()
        self.epoch, self.rank, self.world_size = 0, 0, 1

    # ------------------------------------------------------------------ who reads what
    @property
    def training(self) -> bool:
        """Shuffled, fixed-length epochs (``shuffle_buffer > 0``)."""
        return self.shuffle_buffer > 0

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch (shard order, shuffle buffer, resampling)."""
        self.epoch = epoch

    def set_rank(self, rank: int, world_size: int) -> None:
        """This process's place among the ranks reading the export."""
        self.rank, self.world_size = rank, world_size

    def shard_order(self, epoch: int) -> list[int]:
        """Shard indices in epoch order (training: seeded permutation; else index order)."""
        order = list(range(len(self.shards)))
        if self.training:
            random.Random(f"{self.seed}/{epoch}").shuffle(order)
        return order

    def reader_shards(self, worker: int, workers: int) -> list[int]:
        """The shards reader (this rank, ``worker`` of ``workers``) reads this epoch."""
        mine = self.shard_order(self.epoch)[self.rank :: self.world_size]
        return mine[worker::workers]

    def quota(self, worker: int, workers: int) -> int | None:
        """Samples worker ``worker`` yields per training epoch (None: all of its shards)."""
        if not self.training:
            return None
        n = self.num_samples // self.world_size
        return n // workers + (1 if worker < n % workers else 0)

    def check_readers(self, workers: int) -> None:
        """Training needs a shard for every reader (ranks x workers).

        Raises:
            DataError: fewer shards than readers (says what to change).
        """
        readers = self.world_size * max(workers, 1)
        if self.training and len(self.shards) < readers:
            raise DataError(
                f"{self.root / INDEX}: split {self.split!r} has {len(self.shards)} shard(s) for "
                f"{readers} readers ({self.world_size} process(es) x {max(workers, 1)} "
                "worker(s)); export with a smaller --shard-size or use fewer --workers"
            )

    def steps_per_epoch(self, batch_size: int, workers: int) -> int:
        """Batches one rank runs per training epoch (each worker batches its own stream)."""
        k = max(workers, 1)
        return sum(-(-(self.quota(w, k) or 0) // batch_size) for w in range(k))

    def __len__(self) -> int:
        if self.training:
            return self.num_samples // self.world_size
        mine = self.shard_order(self.epoch)[self.rank :: self.world_size]
        return sum(self.shards[i][1] for i in mine)

    # ------------------------------------------------------------------ reading
    def _read(self, shard: int) -> Iterator[dict[str, Any]]:
        import webdataset as wds

        url, _ = self.shards[shard]
        pipeline = wds.DataPipeline(
            wds.SimpleShardList([str(self.root / url)]), wds.tarfile_to_samples()
        )
        for j, sample in enumerate(pipeline):
            sample["__index__"] = int(self.offsets[shard]) + j
            sample["__shard__"] = url
            yield sample

    def _stream(self, worker: int, workers: int) -> Iterator[dict[str, Any]]:
        quota = self.quota(worker, workers)
        shards = self.reader_shards(worker, workers)
        cycle, done = 0, 0
        while True:
            if cycle:  # starting over on the same shards, in another order
                rng = random.Random(f"{self.seed}/{self.epoch}/{self.rank}/{worker}/{cycle}")
                rng.shuffle(shards)
            for shard in shards:
                for sample in self._read(shard):
                    if quota is not None and done >= quota:
                        return
                    done += 1
                    yield sample
            if quota is None or done == 0:
                return
            cycle += 1

    def __iter__(self) -> Iterator[dict[str, Any]]:
        import webdataset as wds

        info = torch.utils.data.get_worker_info()
        worker, workers = (0, 1) if info is None else (info.id, info.num_workers)
        stream = self._stream(worker, workers)
        if self.training:
            rng = random.Random(f"{self.seed}/{self.epoch}/{self.rank}/{worker}")
            buf = self.shuffle_buffer
            stream = wds.shuffle(buf, initial=buf, rng=rng)(stream)
        pools: dict[str, list[bytes]] = {}
        for sample in stream:
            yield self.decode(sample, pools)

    # ------------------------------------------------------------------ decoding
    def _audio_bytes(self, sample: dict[str, Any], record: dict[str, Any], pools: dict) -> bytes:
        wav = sample["wav"]
        if self.resample_audio_p <= 0:
            return wav
        pool = pools.setdefault(_pool_key(record), [])
        pool.append(wav)
        del pool[:-AUDIO_POOL]
        rng = np.random.default_rng([self.seed, self.epoch, int(sample["__index__"])])
        if rng.random() < self.resample_audio_p:
            return pool[int(rng.integers(len(pool)))]
        return wav

    def _remember(self, key: bytes, examples: torch.Tensor) -> None:
        """Keep a clip's log-mel examples (LRU, ``audio_cache`` clips per reader)."""
        if self.audio_cache <= 0:
            return
        self._logmel[key] = examples
        self._logmel.move_to_end(key)
        while len(self._logmel) > self.audio_cache:
            self._logmel.popitem(last=False)

    def decode(self, sample: dict[str, Any], pools: dict | None = None) -> dict[str, Any]:
        """One tar sample (``webdataset``'s dict of member bytes) as a model item.

        Raises:
            DataError: a member is missing or does not decode (names shard and key).
        """
        import soundfile as sf
        from PIL import Image

        from avsmodel.audio import vggish_examples
        from avsmodel.data.dataset import mask_to_lowres
        from avsmodel.data.selection import frame_audio, synthetic_example_index
        from avsynth.audio.decode import resample
        from avsynth.constants import SAMPLE_RATE
        from avsynth.sources.images import mask_from_image

        where = f"{self.root / sample['__shard__']}: sample {sample['__key__']}"
        try:
            record = json.loads(sample["json"])
            image_bytes = sample.get("jpg") or sample["png"]
            with Image.open(io.BytesIO(image_bytes)) as im:
                img = np.asarray(im.convert("RGB"), dtype=np.uint8).copy()
            with Image.open(io.BytesIO(sample["mask.png"])) as im:
                mask = mask_from_image(im)
            wav = self._audio_bytes(sample, record, pools if pools is not None else {})
            key = hashlib.sha1(wav).digest()
            examples = self._logmel.get(key)
            if examples is None:
                wave, rate = sf.read(io.BytesIO(wav), dtype="float32", always_2d=True)
                wave = resample(wave.mean(axis=1, dtype=np.float32), rate, SAMPLE_RATE)
                examples = vggish_examples(np.ascontiguousarray(wave), SAMPLE_RATE).float()
                self._remember(key, examples)
        except KeyError as e:
            raise DataError(f"{where}: no {e.args[0]!r} member") from None
        except (OSError, ValueError, RuntimeError, DataError) as e:
            raise DataError(f"{where}: does not decode ({str(e).splitlines()[0][:120]})") from None
        if mask.shape != img.shape[:2]:
            raise DataError(f"{where}: mask is {mask.shape[::-1]}, image {img.shape[1::-1]}")
        if examples.shape[0] == 0:
            raise DataError(f"{where}: audio shorter than one VGGish example")
        image, resized = self.transform.image(img)
        padded = self.transform.mask(mask)
        n = self.audio_examples
        item: dict[str, Any] = {
            "image": image,
            "audio": frame_audio(examples, n, index=synthetic_example_index(n)),
            "mask": mask_to_lowres(padded, self.mask_size),
            "index": int(sample["__index__"]),
            "image_key": f"{sample['__shard__']}#{sample['__key__']}",
            "size": tuple(img.shape[:2]),
            "resized": tuple(int(v) for v in resized),
        }
        if self.full_masks:
            item["mask_full"] = torch.from_numpy(mask)
        if self.input_masks:
            item["mask_input"] = padded > 0.5
        return item


def shard_train_val(
    root: str | os.PathLike[str],
    *,
    image_size: int,
    audio_examples: int,
    seed: int,
    resample_audio_p: float,
    train_fraction: float,
    audio_cache: int = 4096,
    resize: str,
    input_masks: bool,
) -> tuple[ShardDataset, ShardDataset, dict[str, Any]]:
    """The train and val streams of an export, and the data's provenance for checkpoints.

    Raises:
        ConfigError: ``train_fraction`` < 1 (few-shot subsets need the manifest).
        DataError: as :class:`ShardDataset`.
    """
    from avsmodel.errors import ConfigError
    from avsynth.storage.atomic import file_sha256

    if train_fraction < 1.0:
        raise ConfigError(
            "train_fraction < 1 needs the manifest (a fixed subset of ids); shards stream all"
        )
    common: dict[str, Any] = dict(
        image_size=image_size,
        audio_examples=audio_examples,
        seed=seed,
        resize=resize,
        audio_cache=audio_cache,
    )
    train = ShardDataset(
        root,
        "train",
        shuffle_buffer=SHUFFLE_BUFFER,
        resample_audio_p=resample_audio_p,
        input_masks=input_masks,
        **common,
    )
    val = ShardDataset(root, "val", **common)
    data = {
        "kind": "webdataset",
        "root": str(Path(root).resolve()),
        "sha256": file_sha256(Path(root) / INDEX),
    }
    return train, val, data
