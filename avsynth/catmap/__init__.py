"""Category maps: which LVIS categories, Open Images classes and VGGSound labels feed each
category of a synthetic dataset.

Quick use::

    from avsynth.catmap import load_map, check_map
    cmap = load_map("category_maps/46.yaml")  # structure only; raises MapError
    problems = check_map("category_maps/46.yaml")  # also every label; [] when valid

The curated map with 46 categories ships as ``category_maps/46.yaml`` (a copy is in the
package, see :func:`shipped_map_path`); everywhere a map path is accepted, the bare name ``46``
means that packaged copy (:func:`resolve_map_path`). ``docs/categories.md`` explains the
choices.
"""

from avsynth.catmap.load import (
    ParsedMap,
    load_map,
    parse_map,
    parse_map_file,
    resolve_map_path,
    shipped_maps,
)
from avsynth.catmap.schema import (
    MAP_SCHEMA_VERSION,
    Category,
    CategoryMap,
    LvisRef,
    OpenImagesRef,
)
from avsynth.catmap.validate import MapSummary, check_map, check_map_file, summarize
from avsynth.catmap.vocab import (
    LvisCategory,
    Vocabulary,
    data_path,
    read_lvis_categories,
    read_openimages_classes,
    read_vggsound_labels,
    s4_labels,
    s4_to_vggsound,
)


def shipped_map_path(name: str = "46"):
    """Path of a packaged map (default: the copy of ``category_maps/46.yaml``, same bytes)."""
    return data_path(f"category_maps/{name}.yaml")


__all__ = [
    "MAP_SCHEMA_VERSION",
    "Category",
    "CategoryMap",
    "LvisCategory",
    "LvisRef",
    "MapSummary",
    "OpenImagesRef",
    "ParsedMap",
    "Vocabulary",
    "check_map",
    "check_map_file",
    "load_map",
    "parse_map",
    "parse_map_file",
    "read_lvis_categories",
    "read_openimages_classes",
    "read_vggsound_labels",
    "resolve_map_path",
    "s4_labels",
    "s4_to_vggsound",
    "shipped_map_path",
    "shipped_maps",
    "summarize",
]
