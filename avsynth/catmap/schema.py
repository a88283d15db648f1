"""Typed category map: frozen dataclasses, keyed on stable names (never numeric ids).

On disk (YAML)::

    schema_version: 1
    name: avs-synthetic-46
    categories:
      - name: dog
        lvis: [{name: dog, synset: dog.n.01}]
        openimages: [{mid: /m/0bt9lr, name: Dog}]
        vggsound: [dog barking, dog howling, dog growling, dog bow-wow]
"""

from __future__ import annotations

from dataclasses import dataclass

MAP_SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class LvisRef:
    """An LVIS v1 category, by its ``name`` (e.g. ``car_(automobile)``) and WordNet ``synset``."""

    name: str
    synset: str


@dataclass(frozen=True, slots=True)
class OpenImagesRef:
    """An Open Images class, by MID (``/m/0bt9lr``); ``name`` is the display name for humans."""

    mid: str
    name: str


@dataclass(frozen=True, slots=True)
class Category:
    """One category of the synthetic dataset and the source labels that feed it."""

    name: str
    lvis: tuple[LvisRef, ...]
    openimages: tuple[OpenImagesRef, ...]
    vggsound: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CategoryMap:
    """A validated category map.

    Attributes:
        schema_version: Version of the YAML schema.
        name: Map name (e.g. ``avs-synthetic-46``).
        categories: Categories in file order.
        sha256: SHA-256 of the map file's bytes (recorded in build provenance).
    """

    schema_version: int
    name: str
    categories: tuple[Category, ...]
    sha256: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.categories)

    def __getitem__(self, name: str) -> Category:
        for c in self.categories:
            if c.name == name:
                return c
        raise KeyError(name)

    def lvis_to_category(self) -> dict[str, str]:
        """LVIS category name -> map category name."""
        return {r.name: c.name for c in self.categories for r in c.lvis}

    def mid_to_category(self) -> dict[str, str]:
        """Open Images MID -> map category name."""
        return {r.mid: c.name for c in self.categories for r in c.openimages}

    def vggsound_to_category(self) -> dict[str, str]:
        """Exact VGGSound label -> map category name."""
        return {label: c.name for c in self.categories for label in c.vggsound}
