"""Readers of the real source datasets, one module per source, plus media decoding.

* :mod:`avsynth.sources.lvis` -- ``iter_lvis_masks``, ``lvis_categories`` (LVIS v1 JSON).
* :mod:`avsynth.sources.openimages` -- ``iter_openimages_masks``, ``openimages_classes``.
* :mod:`avsynth.sources.vggsound` -- ``read_vggsound`` -> ``VggsoundIndex``.
* :mod:`avsynth.sources.media` -- ``decode_mask``, ``decode_audio``, ``read_image``,
  ``read_image_size``.
* :mod:`avsynth.sources.records` -- the typed records all readers yield.

Submodules are imported on demand (nothing heavy is imported here).
"""
