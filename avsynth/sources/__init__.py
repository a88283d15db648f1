"""Readers of the real source datasets, one module per source, plus media decoding.

* :mod:`avsynth.sources.lvis` -- ``iter_lvis_masks``, ``read_lvis_categories``,
  ``lvis_categories`` (LVIS v1 JSON).
* :mod:`avsynth.sources.openimages` -- ``iter_openimages_masks``, ``read_openimages_classes``,
  ``openimages_classes``.
* :mod:`avsynth.sources.vggsound` -- ``read_vggsound`` -> ``VggsoundIndex``,
  ``vggsound_label_counts``.
* :mod:`avsynth.sources.images` -- ``decode_mask``, ``read_image``, ``read_image_size``,
  ``read_mask`` (audio: :mod:`avsynth.audio.decode`, re-exported as ``decode_audio``).

The label-file readers here are the only ones: ``avsynth.catmap`` (check-map) uses them too.
* :mod:`avsynth.sources.records` -- the typed records all readers yield.

Submodules are imported on demand (nothing heavy is imported here).
"""
