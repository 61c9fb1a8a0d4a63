"""Pictures of a restoration: the photo before and after, the framed face's steps."""

import numpy as np

from mouthgan.data.faces import IMAGE_SIZE


def before_after(result):
    """[the photo | the restored photo] in one RGB picture, 8 white pixels between."""
    restored = result.restored if result.colour else np.stack([result.restored] * 3, -1)
    gap = np.full((result.original.shape[0], 8, 3), 255, np.uint8)
    return np.concatenate([result.original, gap, restored], axis=1)


def side_by_side(face, zoom=2):
    """[framed face, hole, restored] in one gray picture, each ``zoom`` times enlarged."""
    strip = np.concatenate([face.frame, np.full((IMAGE_SIZE, 4), 255, np.uint8),
                            face.painted, np.full((IMAGE_SIZE, 4), 255, np.uint8),
                            face.restored], axis=1)
    return np.kron(strip, np.ones((zoom, zoom), np.uint8))
