"""Datasets for training and evaluation: avsynth manifests and the AVSBench layout."""

from avsmodel.data.avsbench import AvsbenchDataset
from avsmodel.data.collate import collate
from avsmodel.data.dataset import ManifestDataset

__all__ = ["AvsbenchDataset", "ManifestDataset", "collate"]
