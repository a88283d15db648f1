"""Evaluation: the ``evaluate`` function, scoring loops, metrics and per-composition scores.

- :mod:`~avsmodel.evaluation.evaluate`: :func:`evaluate` (a checkpoint or the SAM oracle on a
  manifest or AVSBench split).
- :mod:`~avsmodel.evaluation.scoring`: the loop that runs a model over a loader and scores it
  (also the validation of training).
- :mod:`~avsmodel.evaluation.metrics`: mIoU and F-score (AVSBench's and the authors' protocols).
- :mod:`~avsmodel.evaluation.per_composition`: scores per composition of composed manifests.
"""

from avsmodel.evaluation.evaluate import ORACLE_VARIANTS, evaluate

__all__ = ["ORACLE_VARIANTS", "evaluate"]
