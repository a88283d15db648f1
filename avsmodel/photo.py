"""Reading a user's photo for ``predict``: as a person sees it, and never a decompression bomb.

``predict`` writes a mask that is laid over the picture the user looks at, so it applies the
photo's EXIF orientation (a phone's portrait JPEG is often stored landscape with orientation
6: the mask then has the displayed size, not the stored one). Datasets do not: LVIS and Open
Images annotations refer to the pixels as stored, so training and evaluation read images
without rotating them (:func:`avsynth.sources.images.read_image`).

PIL refuses images whose header claims more than twice ``Image.MAX_IMAGE_PIXELS`` (about
179 million pixels) before decoding them; that refusal, like any other decoding failure, is
one :class:`DataError` naming the file.
"""

from __future__ import annotations

import os

import numpy as np

from avsmodel.errors import DataError


def read_photo(path: str | os.PathLike[str]) -> np.ndarray:
    """Decode ``path`` to ``uint8[H, W, 3]`` RGB in its displayed orientation (EXIF applied).

    Raises:
        DataError: the file is missing, not a regular file, too large to decode safely, or
            does not decode (the message names the file).
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    p = os.fspath(path)
    if os.path.exists(p) and not os.path.isfile(p):
        raise DataError(f"{p}: not a regular file (an image file is needed)")
    try:
        with Image.open(p) as im:
            shown = ImageOps.exif_transpose(im)
            return np.asarray(shown.convert("RGB"), dtype=np.uint8).copy()
    except FileNotFoundError:
        raise DataError(f"{p}: image not found") from None
    except Image.DecompressionBombError as e:
        raise DataError(f"{p}: image is too large to decode safely ({e})") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise DataError(f"{p}: image does not decode ({e})") from None
