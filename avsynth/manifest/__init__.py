"""Manifest schema and streaming JSONL I/O."""

from avsynth.manifest.io import (
    ManifestWriter,
    iter_manifest,
    iter_numbered,
    read_manifest,
    read_sidecar,
    resolve_media_path,
)
from avsynth.manifest.schema import (
    SCHEMA_VERSION,
    SPLITS,
    AudioRef,
    ComponentRef,
    ImageRef,
    MaskRef,
    Triplet,
    UnsafePathError,
    check_split,
    safe_component,
)

__all__ = [
    "SCHEMA_VERSION",
    "SPLITS",
    "AudioRef",
    "ComponentRef",
    "ImageRef",
    "ManifestWriter",
    "MaskRef",
    "Triplet",
    "UnsafePathError",
    "check_split",
    "iter_manifest",
    "iter_numbered",
    "read_manifest",
    "read_sidecar",
    "resolve_media_path",
    "safe_component",
]
