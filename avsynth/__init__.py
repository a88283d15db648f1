"""avsynth: reproducible synthetic audio-visual segmentation triplets."""

__version__ = "0.1.0"
