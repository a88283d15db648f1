"""One exception hierarchy for avsmodel; the CLI prints these on one line (no traceback)."""


class AvsmodelError(Exception):
    """Base class of every user-facing avsmodel error."""


class CheckpointError(AvsmodelError):
    """A checkpoint is missing, corrupt, foreign, or has missing/unexpected keys."""


class ConfigError(AvsmodelError):
    """Unknown model name or invalid training configuration."""


class DataError(AvsmodelError):
    """A manifest/AVSBench input is unusable (missing split, undecodable media, ...)."""


class TrainingError(AvsmodelError):
    """Training cannot go on (e.g. the loss or the weights became NaN/inf)."""


class DownloadError(AvsmodelError):
    """A weight file could not be fetched, or its SHA-256 is not the published one."""
