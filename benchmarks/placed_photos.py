"""Photos whose truth is known, for the tests and the benchmarks: a training-framed face
placed into a textured photo (enlarged, turned, shifted), the handout's box painted in
the photo's own pixels, and the photo seen back in the face's frame.
"""

import numpy as np

from mouthgan.data.faces import IMAGE_SIZE
from mouthgan.inference.photos.framing import box_mask


def textured_background(height, width, seed=0):
    """A photo-like backdrop: smooth random shading with fine grain, no face in it."""
    import cv2

    rng = np.random.default_rng(seed)
    coarse = rng.uniform(30, 220, (max(2, height // 48), max(2, width // 48))).astype(np.float32)
    smooth = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    grain = rng.normal(0, 6, (height, width)).astype(np.float32)
    return np.clip(smooth + grain, 0, 255).astype(np.uint8)


def place_face(face, background, scale, angle, centre, feather=10):
    """A training-framed face (uint8 (128, 128)) placed into a larger gray photo:
    enlarged ``scale`` times, turned ``angle`` degrees, its frame's centre at ``centre``
    (x, y), its edge faded into the backdrop over ``feather`` frame pixels. Returns the
    photo and the 2x3 transform frame -> photo. This is how the tests and
    benchmarks/photos.py make photos whose true framing is known."""
    import cv2

    height, width = background.shape
    half = IMAGE_SIZE / 2
    to_photo = cv2.getRotationMatrix2D((half, half), angle, scale)
    to_photo[:, 2] += np.asarray(centre, np.float64) - half
    ramp = np.minimum(np.arange(IMAGE_SIZE) + 0.5, IMAGE_SIZE - 0.5 - np.arange(IMAGE_SIZE))
    ramp = np.clip(ramp / feather, 0, 1)
    alpha = np.minimum.outer(ramp, ramp).astype(np.float32)
    warped = cv2.warpAffine(face.astype(np.float32), to_photo, (width, height),
                            flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    weight = cv2.warpAffine(alpha, to_photo, (width, height), flags=cv2.INTER_LINEAR)
    photo = weight * warped + (1 - weight) * background
    # White stays exactly white where the face was painted (as a painted photo is).
    painted = cv2.warpAffine((face >= 255).astype(np.float32), to_photo, (width, height),
                             flags=cv2.INTER_NEAREST)
    photo = np.where(painted > 0, 255, photo)
    return np.clip(np.round(photo), 0, 255).astype(np.uint8), to_photo


def placed_photo(face, scale, angle, fx, fy, seed, paint=None):
    """A test photo: ``face`` placed by ``place_face`` into a textured backdrop 1.8 x 2.2
    its enlarged size, its centre at fractions (fx, fy) of the backdrop; with ``paint``
    (a box (top, bottom, left, right) of the frame), that box painted white in the photo,
    at the photo's own pixels, as a user paints a photo."""
    import cv2

    side = IMAGE_SIZE * scale
    height, width = int(side * 1.8), int(side * 2.2)
    photo, to_photo = place_face(face, textured_background(height, width, seed), scale,
                                 angle, (width * fx, height * fy))
    if paint is not None:
        hole = cv2.warpAffine(box_mask(paint).astype(np.uint8), to_photo, (width, height),
                              flags=cv2.INTER_NEAREST)
        photo[hole > 0] = 255
    return photo, to_photo


def seen_in_frame(photo, to_photo):
    """What a placed face's own frame shows of ``photo`` (0..1 float), to score a
    restored photo against the face's truth."""
    import cv2

    frame = cv2.warpAffine(photo.astype(np.float32), cv2.invertAffineTransform(to_photo),
                           (IMAGE_SIZE, IMAGE_SIZE), flags=cv2.INTER_LINEAR)
    return frame / 255.0
