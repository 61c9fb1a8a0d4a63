"""Reading a photo: any size, colour or gray, upright as its EXIF orientation says."""

import numpy as np

from mouthgan import MouthganError

# The most pixels a photo may have. Decoding is whole-image: a 12000x12000 PNG (168 KB on
# disk) cost 26 s and 4.9 GB of memory; a 50-megapixel photo (a phone's full sensor) is
# read, anything larger is refused from its header, before it is decoded.
MAX_PIXELS = 50_000_000


def too_large(path, width=None, height=None):
    size = f"{width}x{height} pixels, " if width else ""
    return (f"{path}: too large ({size}more than {MAX_PIXELS / 1e6:.0f} megapixels); "
            "shrink it first")


def read_photo(path):
    """A photo as RGB uint8 (H, W, 3) and whether it has colour, upright as its EXIF
    orientation says (phones store portraits sideways)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    from mouthgan.data.faces import to_8_bit

    try:
        with Image.open(path) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise MouthganError(too_large(path, width, height))
            image.load()
            image = ImageOps.exif_transpose(image)
            if image.mode.startswith("I"):
                image = to_8_bit(image)
            colour = image.mode not in ("L", "LA", "1", "I", "I;16") and not (
                image.mode == "P" and _palette_is_gray(image))
            if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
                # Transparent parts shown on white, as an image viewer does.
                image = image.convert("RGBA")
                backdrop = Image.new("RGBA", image.size, (255, 255, 255, 255))
                image = Image.alpha_composite(backdrop, image)
            rgb = np.asarray(image.convert("RGB"), np.uint8)
    except Image.DecompressionBombError:
        # PIL itself refuses, from the header, images past twice its own limit (~179 MP).
        raise MouthganError(too_large(path)) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise MouthganError(f"{path}: not a readable image ({exc.__class__.__name__})")
    if colour and _is_gray(rgb):
        colour = False  # a gray picture saved as RGB
    return rgb, colour


def _palette_is_gray(image):
    palette = np.asarray(image.convert("RGB"), np.int16)
    return _is_gray(palette)


def _is_gray(rgb):
    rgb = rgb.astype(np.int16)
    return int(np.abs(rgb[..., 0] - rgb[..., 1]).max()) <= 2 and int(
        np.abs(rgb[..., 1] - rgb[..., 2]).max()) <= 2


def luma(rgb):
    """The gray the training data was made with: PIL's convert("L") (ITU-R 601)."""
    from PIL import Image

    return np.asarray(Image.fromarray(rgb).convert("L"), np.uint8)
