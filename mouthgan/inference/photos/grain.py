"""Grain: the fine detail a restored hole lacks at the photo's resolution.

The model restores a 128-pixel face; a photo whose face is larger gets that restoration
enlarged, smooth where the skin around it has pores, freckles and the camera's noise.
A face shown at the frame's size or smaller has the photo's detail already and gets
none (``pipeline.blend_back``). An enlarged one's hole is given back that detail as
noise of the same strength as the skin's around it: the fine detail (the image less its Gaussian blur of 1 px, what
``mouthgan.evaluation.metrics.texture_ratio`` measures) of the ring of skin just outside
the hole, less what the restoration already has. Noise carries no mouth: it cannot make
the restoration closer to the real face, only as fine-grained as its skin. A real
mouth's edges (lips, teeth) give it more fine detail than the skin around it; grain
does not imitate those.
"""

import zlib

import numpy as np

DETAIL_SIGMA = 1.0  # the fine detail's scale, as texture_ratio takes it
RING = (4, 14)      # px outside the hole: past the seam and a paint's spread
SEAM = 2            # px inside the hole's edge left out of its own measure
GRAIN_SIGMA = 0.7   # the noise's own blur: grains of skin, not single-pixel salt
CLIP = 2.5          # skin_detail_rms: values beyond this many spreads are edges
MIN_GRAIN = 0.5     # gray levels (of 255): less would vanish in the 8-bit rounding


def fine_detail(image, sigma=DETAIL_SIGMA):
    """The image less its Gaussian blur of ``sigma`` px (float32)."""
    import cv2

    image = np.asarray(image, np.float32)
    return image - cv2.GaussianBlur(image, (0, 0), sigma)


def interior_and_ring(hole, ring):
    """Two masks of a ``hole`` (bool): its interior, ``SEAM`` px in from its edge (where
    the seam is), and the ring from ``ring[0]`` to ``ring[1]`` px outside it."""
    import cv2

    hole = np.asarray(hole, bool)
    interior = cv2.erode(hole.astype(np.uint8), np.ones((2 * SEAM + 1,) * 2, np.uint8)) > 0
    outside = cv2.distanceTransform((~hole).astype(np.uint8), cv2.DIST_L2, 3)
    return interior, (outside >= ring[0]) & (outside <= ring[1])


def skin_detail_rms(values):
    """The RMS of the skin's fine detail, each value clipped at ``CLIP`` x the spread its
    median absolute deviation gives: pores and freckles count, the few strong edges of a
    brow, a nostril or a lip in the ring do not. Matched to the plain RMS (what
    texture_ratio takes), the grain scored as the real mouth does but looked like sand
    in the README's photo; the median's estimate alone left it fainter than the skin."""
    if values.size == 0:
        return 0.0
    spread = 1.4826 * float(np.median(np.abs(values - np.median(values))))
    return float(np.sqrt(np.mean(np.square(np.clip(values, -CLIP * spread, CLIP * spread)))))


def add_grain(image, hole, skin=None, seed=0):
    """``image`` (float, one channel, 0..255) with noise added inside ``hole`` (bool) so that its
    fine detail there matches the skin's around it. ``skin`` (bool): the pixels that may
    be measured as skin (default: all outside the hole); the noise's seed comes from
    ``seed`` and the hole's place, so the same photo gets the same grain."""
    import cv2

    image = np.asarray(image, np.float32)
    hole = np.asarray(hole, bool)
    if not hole.any():
        return image
    inside, ring = interior_and_ring(hole, RING)
    if skin is not None:
        ring &= skin
    if ring.sum() < 20 or not inside.any():
        return image
    detail = fine_detail(image)
    wanted = skin_detail_rms(detail[ring]) ** 2 - skin_detail_rms(detail[inside]) ** 2
    if wanted < MIN_GRAIN ** 2:
        return image
    ys, xs = np.nonzero(hole)
    place = np.array([ys.min(), xs.min(), ys.max(), xs.max(), seed], np.int64).tobytes()
    rng = np.random.default_rng(zlib.crc32(place))
    top, left, bottom, right = ys.min(), xs.min(), ys.max() + 1, xs.max() + 1
    noise = rng.standard_normal((bottom - top, right - left)).astype(np.float32)
    noise = fine_detail(cv2.GaussianBlur(noise, (0, 0), GRAIN_SIGMA))
    # scaled so that the noise's own fine detail has the missing strength
    noise *= np.sqrt(wanted) / max(float(np.std(fine_detail(noise))), 1e-6)
    out = image.copy()
    window = out[top:bottom, left:right]
    window[hole[top:bottom, left:right]] += noise[hole[top:bottom, left:right]]
    return out
