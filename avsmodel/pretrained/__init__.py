"""From a name to a ready model: registered configs, official weights, the authors' checkpoints.

- :mod:`~avsmodel.pretrained.registry`: the model configurations, looked up by name.
- :mod:`~avsmodel.pretrained.build`: :func:`build_model` and :func:`build_from_checkpoint`.
- :mod:`~avsmodel.pretrained.weights`: loading official SAM / VGGish weights into the parts.
- :mod:`~avsmodel.pretrained.download`: fetching, checking and caching those weights by name.
- :mod:`~avsmodel.pretrained.authors_checkpoint`: converting the authors' checkpoints.
"""
