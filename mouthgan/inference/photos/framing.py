"""The training framing and the geometry that maps a photo's face onto it.

The model only knows one framing: a 128x128 gray face, eyes where CelebA's aligned crop
puts them, the mouth under the handout's box. A photo's face is mapped onto that framing
by a similarity transform (scale, rotation, shift: no shear, so the face keeps its
shape): the one that lays a painted box onto the training hole when the paint is such a
box (``paint.painted_box_framing``), else the one that takes the eye centres onto the
template's (``face_template.json``, measured by ``commands/face_template.py``).
"""

import json
from pathlib import Path

import numpy as np

from mouthgan.data.faces import HOLE_BOX, IMAGE_SIZE

TEMPLATE_FILE = Path(__file__).with_name("face_template.json")
# The training faces' average (128x128 gray): what a frame shows where the photo ends.
AVERAGE_FACE_FILE = Path(__file__).with_name("average_face.png")
LANDMARKS = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")
# The framing is the similarity that puts the eye centres where the template has them:
# measured on painted faces placed into photos, the eyes alone frame the hole box within
# 3 px (median), eyes and nose by least squares within 4.5 px (the nose moves with the
# head's turn, which the training crops did not correct). The nose still says the turn.
ALIGN_ON = ("left_eye", "right_eye")


def load_template(path=TEMPLATE_FILE):
    """The training framing: five point positions in the 128x128 frame and the hole box."""
    from PIL import Image

    data = json.loads(Path(path).read_text())
    with Image.open(Path(path).with_name(AVERAGE_FACE_FILE.name)) as image:
        face = np.asarray(image.convert("L"), np.float32)
    return {"face": face, "points": {k: np.array(v, np.float64) for k, v in data["points"].items()},
            "frame": int(data["frame"]), "hole_box": tuple(data["hole_box"]),
            "mouth": np.array(data["mouth"], np.uint8)}


def turn(points):
    """The nose's offset from the perpendicular bisector of the eyes, in eye distances:
    0 for a frontal face, growing as the head turns left or right."""
    left, right, nose = (np.asarray(points[k], np.float64)
                         for k in ("left_eye", "right_eye", "nose"))
    axis = right - left
    return float(np.dot(nose - (left + right) / 2, axis) / np.dot(axis, axis))


def similarity(source, target):
    """The least-squares similarity transform (2x3) taking points ``source`` (n, 2) onto
    ``target`` (n, 2): x' = a x - b y + tx, y' = b x + a y + ty."""
    source, target = np.asarray(source, np.float64), np.asarray(target, np.float64)
    rows = []
    for (x, y) in source:
        rows += [[x, -y, 1, 0], [y, x, 0, 1]]
    a, b, tx, ty = np.linalg.lstsq(np.array(rows), target.reshape(-1), rcond=None)[0]
    return np.array([[a, -b, tx], [b, a, ty]])



def resize(image, scale):
    import cv2

    height, width = image.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)


def warp(image, affine, size=IMAGE_SIZE, border=None):
    """``image`` seen through ``affine`` (source -> output) as a size x size picture,
    bicubic; beyond its edge the edge repeated (``border`` None) or ``border``. A mask
    (of painted pixels, say) goes through the same steps as the photo, so that it covers
    every pixel the photo's paint spreads into.

    The model restores from the face's detail, and any smoothing costs: on painted faces
    placed into photos at 1.2-3x and framed exactly, bilinear cost the default model 1.7%
    box RMSE against the aligned faces and bicubic nothing; averaging first (area, or
    PIL's antialiased bicubic) cost the photo model 3-19%. Those faces had no detail finer
    than the frame's, so they could not alias; a real photo's face of more than 4 frames
    would, and only that is averaged first, down to twice the frame."""
    import cv2

    scale = float(np.sqrt(abs(np.linalg.det(affine[:, :2]))))
    if scale < 0.25:
        # Shrink to twice the output's scale by averaging, then let the warp do the rest.
        pre = 2 * scale
        image = resize(image, pre)
        affine = affine @ np.diag([1 / pre, 1 / pre, 1])
    mode = cv2.BORDER_REPLICATE if border is None else cv2.BORDER_CONSTANT
    return cv2.warpAffine(image, affine, (size, size), flags=cv2.INTER_CUBIC, borderMode=mode,
                          borderValue=0 if border is None else border)



def framed_face(gray, to_frame, average_face):
    """The face ``gray`` (uint8) shows through ``to_frame``, as a 128x128 frame; where the
    frame reaches past the photo (a close-up, a face at the photo's edge or larger than
    the photo), the training faces' average face, brought to the brightness of the part
    the photo shows, faded in over the warp's own edge.

    Every training face fills its frame, and what fills the rest steers the whole
    restoration: on close-ups whose box the photo's bottom cuts, the photo model's box
    RMSE was 0.286 with the photo's edge repeated (long streaks no training face has),
    0.286 mirrored, 0.279 with Telea's fill, and 0.211 with the average face (0.213 fitted
    in contrast too); on tight crops, whose box the photo shows whole, all four were the
    same (``benchmarks/RESULTS.md``)."""
    frame = warp(gray, to_frame)
    shown = np.clip(warp(np.ones(gray.shape, np.float32), to_frame, border=0), 0, 1)
    if shown.min() >= 0.999:
        return frame
    inside = shown >= 0.999
    fill = average_face + (frame[inside].mean() - average_face[inside].mean()) \
        if inside.any() else average_face
    blended = shown * frame + (1 - shown) * fill
    return np.clip(np.round(blended), 0, 255).astype(np.uint8)


def box_mask(box, size=IMAGE_SIZE):
    top, bottom, left, right = box
    mask = np.zeros((size, size), bool)
    mask[top:bottom, left:right] = True
    return mask



def hole_centre(box):
    """The centre (x, y) of an array-slice box (top, bottom, left, right), in the pixel
    coordinates the warps use (a pixel's centre at its integer index)."""
    top, bottom, left, right = box
    return np.array([(left + right - 1) / 2, (top + bottom - 1) / 2])



def measure_template(real_faces, detector, pad=64, notes=print):
    """The five points' median positions on aligned training faces (uint8 (n, 128,
    128)), each face found by the detector on a border around it (MTCNN needs some
    context beyond the face); the hole box is the handout's, and the mouth the faces'
    average inside it."""
    points = {k: [] for k in LANDMARKS}
    found = 0
    for face in real_faces:
        detected = detector.detect(np.stack([np.pad(face, pad, mode="edge")] * 3, -1))
        if not detected:
            continue
        best, _ = max(detected, key=lambda d: d[1])
        for k in LANDMARKS:
            points[k].append(best[k] - pad)
        found += 1
    notes(f"points found on {found} of {len(real_faces)} faces")
    top, bottom, left, right = HOLE_BOX
    mouth = np.round(np.mean(real_faces[:, top:bottom, left:right], axis=0)).astype(int)
    return {"frame": IMAGE_SIZE, "hole_box": list(HOLE_BOX), "faces": found,
            "mouth": mouth.tolist(),
            "points": {k: np.round(np.median(v, axis=0), 2).tolist() for k, v in points.items()},
            "spread": {k: np.round(np.std(v, axis=0), 2).tolist() for k, v in points.items()}}
