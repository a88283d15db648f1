"""avsmodel: SAMA-AVS, AP-SAM and the SAM oracle."""

__version__ = "0.1.0"
