"""Test and demo helpers shipped with the package.

* :mod:`avsynth.testing.sources` -- writers of tiny LVIS / Open Images / VGGSound datasets in
  their real layouts.
* :mod:`avsynth.testing.world` -- ``make_world``: a deterministic audio-visual world (images with
  2-3 objects, one look and one sound per category) in those layouts, for tests and the demo.
"""
