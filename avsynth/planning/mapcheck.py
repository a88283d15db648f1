"""Check the category map against the sources a build reads, exactly as ``check-map`` does.

Before any mask is read, :func:`check_map_against_sources` runs
:func:`avsynth.catmap.check_map` with the vocabularies of the build's own inputs: the LVIS
categories of ``lvis_v1_{val,train}.json`` (only ``categories`` is decoded; milliseconds for the
real files), the Open Images class list in the Open Images root and every label of
``vggsound.csv``, each together with the shipped list for Open Images and VGGSound (a real
label that a partial download lacks is not a typo). An unknown LVIS name, Open Images MID or
VGGSound label is then one line with a did-you-mean, the same for every source, instead of a
category silently left out or masks that vanish.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from pathlib import Path

from avsynth.catmap.schema import CategoryMap
from avsynth.errors import MapError, SourceError


def source_vocabulary(
    *,
    lvis: str | os.PathLike[str] | None,
    openimages: str | os.PathLike[str] | None,
    vggsound_labels: Collection[str],
    vggsound_source: str,
):
    """The :class:`avsynth.catmap.Vocabulary` a build checks its map against.

    LVIS: the categories of the given LVIS json (the reader needs every name there), else the
    shipped list. Open Images and VGGSound: the shipped lists together with the user's class
    list and every label of ``vggsound.csv``, so a label that exists in the real dataset but
    has no rows in a partial download is not an error (its category may be left out, with
    the reason), while a typo is.
    """
    from avsynth.catmap.vocab import Vocabulary, read_lvis_categories, read_openimages_classes
    from avsynth.sources.lvis import lvis_files
    from avsynth.sources.openimages import CLASS_FILES

    base = Vocabulary.shipped()
    lvis_vocab, lvis_source = base.lvis, base.lvis_source
    if lvis is not None:
        _, path = lvis_files(lvis, ("val", "train"))[0]
        lvis_vocab, lvis_source = read_lvis_categories(path), str(path)
    oi_vocab, oi_source = base.openimages, base.openimages_source
    if openimages is not None:
        paths = [Path(openimages) / n for n in CLASS_FILES]
        for path in paths:
            if path.exists() and not path.is_file():
                raise SourceError(f"{path} is not a file (a folder?); put the class list there")
        found = [path for path in paths if path.is_file()]
        if found:
            oi_vocab = {**base.openimages, **read_openimages_classes(found[0])}
            oi_source = f"{found[0]} or {base.openimages_source}"
    return Vocabulary(
        lvis=lvis_vocab,
        openimages=oi_vocab,
        vggsound=dict.fromkeys(sorted({*vggsound_labels, *base.vggsound})),
        lvis_source=lvis_source,
        openimages_source=oi_source,
        vggsound_source=f"{vggsound_source} or {base.vggsound_source}",
    )


def check_map_against_sources(
    categories: str | os.PathLike[str] | CategoryMap,
    *,
    lvis: str | os.PathLike[str] | None,
    openimages: str | os.PathLike[str] | None,
    vggsound_labels: Collection[str],
    vggsound_source: str,
) -> None:
    """Raise :class:`MapError` listing every problem of the map against the build's inputs.

    Args:
        categories: The map (a YAML path gives problems with line numbers) or a loaded map.
        lvis: LVIS root, or ``None`` (LVIS names checked against the shipped list).
        openimages: Open Images root, or ``None``.
        vggsound_labels: Every label of the build's ``vggsound.csv``.
        vggsound_source: The CSV's path (named in the messages).

    Raises:
        MapError: One line per problem, as ``avsynth check-map`` prints them.
        SourceError: A vocabulary file is malformed.
    """
    from avsynth.catmap.validate import check_map

    vocab = source_vocabulary(
        lvis=lvis,
        openimages=openimages,
        vggsound_labels=vggsound_labels,
        vggsound_source=vggsound_source,
    )
    target = categories if isinstance(categories, CategoryMap) else Path(categories)
    problems = check_map(target, vocabulary=vocab)
    if problems:
        if len(problems) == 1:
            raise MapError(problems[0])
        head = f"the category map does not match the sources ({len(problems)} problems):"
        raise MapError("\n".join([head, *problems]))
