"""Manifest schema and streaming JSONL I/O."""

from avsynth.manifest.io import (
    ManifestWriter,
    iter_manifest,
    read_manifest,
    read_sidecar,
    resolve_media_path,
)
from avsynth.manifest.schema import (
    SCHEMA_VERSION,
    AudioRef,
    ComponentRef,
    ImageRef,
    MaskRef,
    Triplet,
)

__all__ = [
    "SCHEMA_VERSION",
    "AudioRef",
    "ComponentRef",
    "ImageRef",
    "ManifestWriter",
    "MaskRef",
    "Triplet",
    "iter_manifest",
    "read_manifest",
    "read_sidecar",
    "resolve_media_path",
]
