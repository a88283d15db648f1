"""FiftyOne fields of composed (schema 2) records, added by :func:`avsynth.load_fiftyone`:

* ``composition``: ``single``, ``multi``, ``offscreen`` or ``partial`` (filterable in the App);
* ``instances``: one :class:`fiftyone.Detection` per target instance (box, source label,
  ``mask_source_id``), so each sounding object shows next to the union ``ground_truth``;
* ``components``: one :class:`fiftyone.Classification` per clip heard (label = category,
  attributes ``visible``, ``gain_db``, ``vggsound_label``, ``youtube_id``, ``start_seconds``),
  and ``component_audio_paths``: their files (the mix itself is ``audio_path``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from avsynth.manifest.schema import Triplet
from avsynth.media import Roots, media_path

COMPOSE_FIELDS = ["composition", "instances", "components", "component_audio_paths"]


def composed_fields(t: Triplet, manifest: Path, roots: Roots) -> dict[str, Any]:
    """The extra sample fields of a composed record (empty for schema 1 records)."""
    import fiftyone as fo

    if t.schema_version < 2:
        return {}
    return {
        "composition": t.composition,
        "instances": fo.Detections(
            detections=[
                fo.Detection(
                    label=t.components[i].category if i < len(t.components) else m.source_label,
                    bounding_box=[float(v) for v in m.bbox],
                    source_label=m.source_label,
                    mask_source_id=m.source_id,
                )
                for i, m in enumerate(t.instances)
            ]
        ),
        "components": fo.Classifications(
            classifications=[
                fo.Classification(
                    label=c.category,
                    visible=c.visible,
                    gain_db=float(c.gain_db),
                    vggsound_label=c.audio.label,
                    youtube_id=c.audio.youtube_id,
                    start_seconds=c.audio.start_seconds,
                )
                for c in t.components
            ]
        ),
        "component_audio_paths": [
            str(media_path(manifest, c.audio, roots)) if c.audio.path is not None else ""
            for c in t.components
        ],
    }
