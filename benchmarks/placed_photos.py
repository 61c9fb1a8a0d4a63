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

    side = IMAGE_SIZE * scale
    height, width = int(side * 1.8), int(side * 2.2)
    photo, to_photo = place_face(face, textured_background(height, width, seed), scale,
                                 angle, (width * fx, height * fy))
    return paint_box(photo, paint, to_photo), to_photo


def paint_box(photo, box, to_photo):
    """``photo`` with ``box`` (top, bottom, left, right of the frame; None: nothing)
    painted white at the photo's own pixels, as a user paints a photo."""
    import cv2

    if box is not None:
        height, width = photo.shape
        hole = cv2.warpAffine(box_mask(box).astype(np.uint8), to_photo, (width, height),
                              flags=cv2.INTER_NEAREST)
        photo[hole > 0] = 255
    return photo


def seen_in_frame(photo, to_photo):
    """What a placed face's own frame shows of ``photo`` (0..1 float), to score a
    restored photo against the face's truth."""
    import cv2

    frame = cv2.warpAffine(photo.astype(np.float32), cv2.invertAffineTransform(to_photo),
                           (IMAGE_SIZE, IMAGE_SIZE), flags=cv2.INTER_LINEAR)
    return frame / 255.0


def cropped_photo(face, scale, angle, window, seed, paint=None):
    """A close-up: ``face`` placed as ``placed_photo`` places it, the photo then cut to
    ``window`` (top, bottom, left, right in the face's own frame, which may reach past the
    frame or stop inside it), so that the face fills the photo, touches its edge, or is
    larger than it. The box (``paint``) is painted before the cut, so the cut goes
    through it when the window does. Returns the photo and the 2x3 frame -> photo."""
    top, bottom, left, right = window
    reach = max(bottom - top, right - left, IMAGE_SIZE) * scale
    size = int(np.ceil(reach * 1.6)) + 8
    photo, to_photo = place_face_painted(face, scale, angle, size, seed, paint)
    centre = to_photo @ [(left + right) / 2, (top + bottom) / 2, 1.0]
    width, height = round((right - left) * scale), round((bottom - top) * scale)
    x0, y0 = int(round(centre[0] - width / 2)), int(round(centre[1] - height / 2))
    to_photo = to_photo.copy()
    to_photo[:, 2] -= (x0, y0)
    return photo[y0:y0 + height, x0:x0 + width].copy(), to_photo


def place_face_painted(face, scale, angle, size, seed, paint=None):
    """``face`` placed at the centre of a square textured photo of ``size`` pixels, with
    ``paint`` (a box of the frame) painted white at the photo's own pixels."""
    photo, to_photo = place_face(face, textured_background(size, size, seed), scale, angle,
                                 (size / 2, size / 2))
    return paint_box(photo, paint, to_photo), to_photo


def inside_photo(photo_shape, to_photo):
    """Which pixels of the face's frame (bool (128, 128)) the photo shows."""
    import cv2

    height, width = photo_shape[:2]
    back = cv2.invertAffineTransform(to_photo)
    seen = cv2.warpAffine(np.ones((height, width), np.float32), back, (IMAGE_SIZE, IMAGE_SIZE),
                          flags=cv2.INTER_NEAREST, borderValue=0)
    return seen > 0.5
