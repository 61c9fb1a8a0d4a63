"""Faces in ordinary photos: find each face, frame it as the training faces are framed,
restore the mouth there, and put the restored mouth back into the photo.

The model only knows one framing: a 128x128 gray face, eyes and nose where CelebA's
aligned crop puts them, the mouth under the handout's box. A photo's face is mapped onto
that framing by a similarity transform (scale, rotation, shift: no shear, so the face
keeps its shape) that takes its eye centres and nose tip onto the template positions in
``face_template.json``. Eyes and nose, not the mouth: in the main case the mouth is
painted out, and a detector's guess of a hidden mouth is the least reliable point.

The detector is MTCNN (the ``mtcnn`` package, TensorFlow, weights inside its wheel, so
it runs offline): a face box and five points. It is an optional extra, ``.[photos]``.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mouthgan import MouthganError
from mouthgan.data.faces import HOLE_BOX, IMAGE_SIZE

TEMPLATE_FILE = Path(__file__).with_name("face_template.json")
LANDMARKS = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")
# The framing is the similarity that puts the eye centres where the template has them:
# measured on painted faces placed into photos, the eyes alone frame the hole box within
# 3 px (median), eyes and nose by least squares within 4.5 px (the nose moves with the
# head's turn, which the training crops did not correct). The nose still says the turn.
ALIGN_ON = ("left_eye", "right_eye")
INSTALL_HINT = 'restoring photos needs the face detector: python -m pip install -e ".[photos]"'

# Below this many pixels between the eyes a face is too small to restore: a detector
# point off by one pixel is then >8% of the face's scale, and the mouth is a few pixels.
MIN_EYE_DISTANCE = 12.0
# How far the nose may sit off the eyes' centre line, in eye distances, before the face
# is turned too far for a frontal framing (the default data's faces reach 0.45).
MAX_TURN = 0.5
# Photos are searched for faces at most this many pixels on their long side (MTCNN's
# image pyramid costs ~the pixel count); the points are then scaled back.
DETECT_SIDE = 1280
# Painted-out regions: blobs of pixels at least this white, each grown over the lighter
# pixels around it (JPEG pulls a white edge below 255) by a few pixels, then blobs of
# lighter pixels not yet taken; a blob counts when it has at least MIN_WHITE_AREA pixels
# and fills at least MIN_WHITE_FILL of its box (a painted rectangle or ellipse, not a
# bright shirt or sky). White first: paint that touches a light backdrop or skin
# highlights is whiter than they are, and a blob of both is no rectangle.
WHITE, LIGHT, EDGE_GROWTH = 250, 235, 2
MIN_WHITE_AREA = 40
MIN_WHITE_FILL = 0.6
# A painted region shaped like the training hole (a filled rectangle of its aspect, at
# any angle) frames the face by itself: its centre, size and direction are the hole's.
# On painted faces placed into photos it frames the hole within 0.1 px (median) where
# the eyes and the region's centre frame it within 1.2 px; that error alone cost ~5% box
# RMSE. It is trusted only where it agrees with the eyes: a larger rectangle painted over
# a mouth is paint, not the hole.
BOX_ASPECT_TOLERANCE = 0.1
BOX_MIN_FILL = 0.9
BOX_SCALE_TOLERANCE = 0.3
BOX_ANGLE_TOLERANCE = 10.0  # degrees
# Pixels around the box in which the warp mixed at least this share of paint are filled
# rather than unmixed (0.7-0.95 gave the same on faces of 64-90 px; 0.3 and 0.5 worse).
PAINT_DOMINATES = 0.8
# MTCNN's own stage thresholds, low, and a final confidence a face must reach. On painted
# faces placed into photos, stage thresholds of 0.6/0.7/0.8 lost 3 faces in 60 that the
# last stage then scores 0.95-0.99; what the low thresholds add besides (hair, backdrop)
# scores 0.50-0.84, below the final bar. Every true face of that benchmark scored >= 0.92.
THRESHOLDS = dict(threshold_pnet=0.5, threshold_rnet=0.5, threshold_onet=0.5)
MIN_CONFIDENCE = 0.9
# A photo in which the first look finds no face is looked at again, mirrored and at a size
# between two steps of MTCNN's image pyramid: a face that falls between the pyramid's
# steps, or that MTCNN scores lower one way round, is found then. On painted faces placed
# into photos these looks found 3 faces in 60 that the first missed.
SECOND_LOOKS = ((True, 1.0), (False, 0.71), (True, 0.71))
MIRRORED_LANDMARKS = ("right_eye", "left_eye", "nose", "mouth_right", "mouth_left")


@dataclass
class Face:
    """One detected face: its five points in photo pixels and what the framing needs."""
    points: dict
    confidence: float
    to_frame: np.ndarray = field(default=None, repr=False)  # 2x3, photo -> frame
    problem: str = ""  # why it cannot be restored; empty when it can

    @property
    def eye_distance(self):
        return float(np.hypot(*np.subtract(self.points["right_eye"], self.points["left_eye"])))

    @property
    def centre(self):
        return np.mean([self.points[k] for k in LANDMARKS], axis=0)


def load_template(path=TEMPLATE_FILE):
    """The training framing: five point positions in the 128x128 frame and the hole box."""
    data = json.loads(Path(path).read_text())
    return {"points": {k: np.array(v, np.float64) for k, v in data["points"].items()},
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


def require_detector():
    """Say in one line what to install when the detector is missing, before anything
    slow (MTCNN imports TensorFlow) is started."""
    import importlib.util

    try:
        found = importlib.util.find_spec("mtcnn") is not None
    except (ImportError, ValueError):  # ValueError: a module entry without a spec
        found = False
    if not found:
        raise MouthganError(INSTALL_HINT)


class FaceDetector:
    """MTCNN, loaded once; ``find(rgb)`` -> every face with its framing checked."""

    def __init__(self, template=None):
        require_detector()
        try:
            from mtcnn import MTCNN
        except ImportError:
            raise MouthganError(INSTALL_HINT) from None
        self._template = template
        self._mtcnn = MTCNN(device="CPU:0")

    @property
    def template(self):
        if self._template is None:
            self._template = load_template()
        return self._template

    def find(self, rgb):
        """Faces of an RGB uint8 photo (H, W, 3), largest first, each checked."""
        faces = []
        for points, confidence in self.detect(rgb):
            face = Face(points, confidence)
            self.check(face)
            faces.append(face)
        return sorted(faces, key=lambda f: -f.eye_distance)

    def detect(self, rgb):
        """MTCNN's (points, confidence) of each face, in the photo's pixels: of the first
        look that finds any."""
        for mirrored, size in ((False, 1.0),) + SECOND_LOOKS:
            found = self._look(rgb, mirrored, size)
            if found:
                return found
        return []

    def _look(self, rgb, mirrored, size):
        height, width = rgb.shape[:2]
        scale = min(1.0, DETECT_SIDE / max(height, width)) * size
        small = rgb if scale == 1.0 else _resize(rgb, scale)
        if mirrored:
            small = small[:, ::-1]
        rows = self._mtcnn.detect_faces(np.ascontiguousarray(small), output_type="numpy",
                                         **THRESHOLDS)
        found = []
        for row in np.asarray(rows, np.float64).reshape(-1, 16):
            if row[5] < MIN_CONFIDENCE:
                continue
            # A row: image index, box (4), confidence, the five x's, the five y's.
            xy = np.stack([row[6:11], row[11:16]], axis=1)
            names = LANDMARKS
            if mirrored:
                xy[:, 0] = small.shape[1] - 1 - xy[:, 0]
                names = MIRRORED_LANDMARKS
            found.append(({k: xy[i] / scale for i, k in enumerate(names)}, float(row[5])))
        return found

    def check(self, face):
        """Set the face's framing, or say why it has none."""
        if face.eye_distance < MIN_EYE_DISTANCE:
            face.problem = (f"too small to restore (eyes {face.eye_distance:.0f} px apart; "
                            f"at least {MIN_EYE_DISTANCE:.0f})")
            return
        offset = turn(face.points) - turn(self.template["points"])
        if abs(offset) > MAX_TURN:
            face.problem = (f"turned too far for a frontal framing (nose {abs(offset):.2f} "
                            f"eye distances off centre; at most {MAX_TURN})")
            return
        face.to_frame = similarity([face.points[k] for k in ALIGN_ON],
                                   [self.template["points"][k] for k in ALIGN_ON])


def _resize(image, scale):
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
        image = _resize(image, pre)
        affine = affine @ np.diag([1 / pre, 1 / pre, 1])
    mode = cv2.BORDER_REPLICATE if border is None else cv2.BORDER_CONSTANT
    return cv2.warpAffine(image, affine, (size, size), flags=cv2.INTER_CUBIC, borderMode=mode,
                          borderValue=0 if border is None else border)


def white_regions(gray):
    """The painted-out parts of a gray photo (uint8) as a label image (0: not painted;
    1, 2, ...: one painted region each): blobs of near-white pixels that fill most of
    their box and do not touch the photo's edge."""
    import cv2

    height, width = gray.shape
    regions = np.zeros(gray.shape, np.int32)
    for level in (WHITE, LIGHT):
        bright = ((gray >= level) & (regions == 0)).astype(np.uint8)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(bright, connectivity=4)
        keep, last = np.zeros(count, np.int32), int(regions.max())
        for i in range(1, count):
            x, y, w, h, area = stats[i]
            inside = x > 0 and y > 0 and x + w < width and y + h < height
            if inside and area >= MIN_WHITE_AREA and area >= MIN_WHITE_FILL * w * h:
                last += 1
                keep[i] = last
        found = keep[labels]
        if level == WHITE:
            light = gray >= LIGHT
            for _ in range(EDGE_GROWTH):
                grown = cv2.dilate(found.astype(np.float32), np.ones((3, 3), np.uint8))
                found = np.where((found == 0) & light, grown, found).astype(np.int32)
        regions = np.where(found > 0, found, regions)
    return regions


def hide_white(rgb, regions, mouth):
    """The photo as the detector should see it: each painted-out region (labels of
    ``white_regions``) filled with the training faces' average mouth (``mouth``, uint8,
    stretched over the region's box), its edge smoothed from around it (Telea). A white
    block where the mouth should be cost MTCNN one painted face in five; an average
    mouth there, one in ten."""
    import cv2

    if not regions.any():
        return rgb
    grown = cv2.dilate((regions > 0).astype(np.uint8), np.ones((5, 5), np.uint8))
    out = cv2.inpaint(rgb, grown, 5, cv2.INPAINT_TELEA)
    for label in range(1, int(regions.max()) + 1):
        ys, xs = np.nonzero(regions == label)
        top, left = ys.min(), xs.min()
        h, w = ys.max() + 1 - top, xs.max() + 1 - left
        patch = cv2.resize(np.asarray(mouth, np.uint8), (int(w), int(h)),
                           interpolation=cv2.INTER_LINEAR)
        out[ys, xs] = patch[ys - top, xs - left][:, None]
    return out


def box_mask(box, size=IMAGE_SIZE):
    top, bottom, left, right = box
    mask = np.zeros((size, size), bool)
    mask[top:bottom, left:right] = True
    return mask


def painted_over_mouth(regions, face, template):
    """The painted regions (labels of ``white_regions``) that lie over this face's
    mouth: their centres fall, in the face's eye framing, within 10 px of the hole box."""
    import cv2

    if not regions.any():
        return []
    zone = cv2.dilate(box_mask(template["hole_box"]).astype(np.uint8),
                      np.ones((21, 21), np.uint8)) > 0
    found = []
    for label in range(1, int(regions.max()) + 1):
        ys, xs = np.nonzero(regions == label)
        if not len(xs):
            continue
        x, y = face.to_frame @ [xs.mean(), ys.mean(), 1.0]
        if 0 <= x < zone.shape[1] and 0 <= y < zone.shape[0] and zone[int(y), int(x)]:
            found.append(label)
    return found


def hole_centre(box):
    """The centre (x, y) of an array-slice box (top, bottom, left, right), in the pixel
    coordinates the warps use (a pixel's centre at its integer index)."""
    top, bottom, left, right = box
    return np.array([(left + right - 1) / 2, (top + bottom - 1) / 2])


def painted_box_framing(painted, eye_framing, template):
    """The similarity (2x3, photo -> frame) that lays a painted region (bool, the photo's
    size) onto the training hole, when the region is a filled rectangle of the hole's
    aspect whose size and direction agree with ``eye_framing``; else None.

    The region's centre goes to the hole's centre, its long axis (second moments) along
    the hole's width, and its pixel count to the hole's area."""
    import cv2

    ys, xs = np.nonzero(painted)
    if len(xs) < MIN_WHITE_AREA:
        return None
    top, bottom, left, right = template["hole_box"]
    width, height = right - left, bottom - top
    centre = np.array([xs.mean(), ys.mean()])
    values, vectors = np.linalg.eigh(np.cov(np.stack([xs, ys]), bias=True))
    # A pixel adds 1/12 to a side's variance: a w-pixel row has variance (w^2 - 1)/12.
    aspect = np.sqrt((values[1] + 1 / 12) / (values[0] + 1 / 12))
    (_, _), (side_a, side_b), _ = cv2.minAreaRect(np.stack([xs, ys], 1).astype(np.float32))
    fill = len(xs) / ((side_a + 1) * (side_b + 1))
    if abs(aspect / (width / height) - 1) > BOX_ASPECT_TOLERANCE or fill < BOX_MIN_FILL:
        return None
    # The eyes' framing says which way the long axis points and checks size and angle.
    axis = vectors[:, 1]
    eye_axis = np.linalg.inv(eye_framing[:, :2]) @ [1.0, 0.0]
    if np.dot(axis, eye_axis) < 0:
        axis = -axis
    scale = np.sqrt(width * height / len(xs))  # frame pixels per photo pixel
    eye_scale = np.sqrt(abs(np.linalg.det(eye_framing[:, :2])))
    angle = np.degrees(np.arctan2(axis[1], axis[0]) - np.arctan2(eye_axis[1], eye_axis[0]))
    if (abs(scale / eye_scale - 1) > BOX_SCALE_TOLERANCE
            or abs((angle + 180) % 360 - 180) > BOX_ANGLE_TOLERANCE):
        return None
    cos, sin = axis * scale
    linear = np.array([[cos, sin], [-sin, cos]])  # turns the axis onto +x, then scales
    return np.hstack([linear, (hole_centre(template["hole_box"]) - linear @ centre)[:, None]])


def unmix_paint(frame, painted, to_frame, box):
    """The framed face (uint8) with the paint the warp mixed into the pixels around the
    box taken out, and the pixels outside the box that are mostly paint (bool).

    A light ring around the box washes the restoration out as a larger hole does, and
    filling every pixel the paint touches takes away the face the model restores from:
    in a small photo the paint's staircase and the warp's spread reach 4 frame pixels
    beyond the box (on faces of 64-90 px, filling them cost the photo model 15% box
    RMSE against the face framed with the box painted in the frame; unmixing, 4%; at
    1.2-3x, 5% and none). The paint's weight w in each pixel is the painted mask
    through the same warp (the warp is linear: v = 255 w + (1 - w) face, for a face
    smooth over the warp's few pixels);
    where the face still dominates, its value is (v - 255 w) / (1 - w); where the paint
    does (w >= PAINT_DOMINATES), it is filled from the face around it (Telea)."""
    import cv2

    # Not clipped at 0: bicubic overshoots beside the paint's edge, darkening the face
    # there by up to ~7% of the paint, and the mask's own undershoot says by how much.
    weight = np.minimum(warp(painted.astype(np.float32), to_frame, border=0), 1.0)
    weight[box] = 1.0
    unmixed = (frame.astype(np.float32) - 255 * weight) / np.maximum(1 - weight, 1e-3)
    touched = np.abs(weight) > 1e-3
    seen = np.where(touched, np.clip(np.round(unmixed), 0, 255), frame).astype(np.uint8)
    outside = (weight >= PAINT_DOMINATES) & ~box
    if outside.any():
        # Filled from the face around it only: the box itself is masked too, or Telea
        # would spread its white into the ring.
        seen = cv2.inpaint(seen, (outside | box).astype(np.uint8), 3, cv2.INPAINT_TELEA)
    return seen, outside


@dataclass
class RestoredFace:
    frame: np.ndarray  # the face as framed, as the photo shows it, uint8 (128, 128)
    painted: np.ndarray  # what the model saw: the box white, paint outside it filled
    restored: np.ndarray  # the model's restoration pasted into the hole, uint8
    hole: np.ndarray  # boolean (128, 128)
    hole_kind: str  # "white" or "box"
    to_frame: np.ndarray
    covers: np.ndarray = None  # the photo's painted-out pixels this face restores (bool)


def read_photo(path):
    """A photo as RGB uint8 (H, W, 3) and whether it has colour, upright as its EXIF
    orientation says (phones store portraits sideways)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    from mouthgan.data.faces import to_8_bit

    try:
        with Image.open(path) as image:
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


def restore_faces(gray, regions, faces, generator, template, hole="auto",
                  flip_average=False):
    """Frame each face, paint its hole, restore it: one ``RestoredFace`` per face (None
    for a face without a painted-out region over its mouth when ``hole`` is "white").

    A painted-out hole shaped like the training hole frames the face by itself
    (``painted_box_framing``); another is framed by the eyes and its own centre, which
    goes where the training faces' hole is. The model is always asked for exactly the
    training hole: a model trained on one box restores that box, and a hole one pixel
    larger on every side washed the default model's restoration out (mean 194 against
    106 on the same face). The paint the warp mixed into the face around the box is taken
    out first (``unmix_paint``).
    """
    from mouthgan.inference.predict import restore

    eyes = [template["points"][k] for k in ALIGN_ON]
    box = box_mask(template["hole_box"])
    framed = []
    for face in faces:
        painted_labels = [] if hole == "box" else painted_over_mouth(regions, face, template)
        if painted_labels:
            painted = np.isin(regions, painted_labels)
            ys, xs = np.nonzero(painted)
            # The hole may be one of several painted regions over the mouth (skin
            # highlights that reach the paint's whiteness): each is tried alone too.
            shapes = [painted] + ([regions == label for label in painted_labels]
                                  if len(painted_labels) > 1 else [])
            to_frame = next((m for m in (painted_box_framing(shape, face.to_frame, template)
                                         for shape in shapes) if m is not None), None)
            if to_frame is None:
                to_frame = similarity([face.points[k] for k in ALIGN_ON] + [(xs.mean(), ys.mean())],
                                      eyes + [hole_centre(template["hole_box"])])
            frame = warp(gray, to_frame)
            seen, outside = unmix_paint(frame, painted, to_frame, box)
            region, kind, covers = box | outside, "white", painted
        elif hole == "white":
            framed.append(None)
            continue
        else:
            to_frame, region, kind, covers = face.to_frame, box, "box", None
            frame = seen = warp(gray, to_frame)
        framed.append((frame, np.where(box, 255, seen).astype(np.uint8), region, kind,
                       to_frame, covers))
    ready = [f for f in framed if f is not None]
    if not ready:
        return framed
    restored = restore(generator, np.stack([f[1] for f in ready]),
                       holes=np.stack([box] * len(ready)), flip_average=flip_average)
    restored = iter(np.round(restored * 255).astype(np.uint8))
    return [None if f is None else RestoredFace(f[0], f[1], next(restored), *f[2:])
            for f in framed]


def blend_back(rgb, colour, restored_faces):
    """The photo with each restored hole mapped back at the photo's own resolution: a
    gray photo as a gray (H, W) array, a colour photo as RGB.

    The hole's pixels are replaced, its edge blended over the ~1 px the warp spreads it.
    Colour photos: the model restores brightness only, so the hole gets the restored
    brightness (luma) and, for colour, the skin's colour from around the hole (chroma
    filled in from the hole's edge). Every pixel outside the hole keeps its value.
    """
    import cv2

    height, width = rgb.shape[:2]
    ycc = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb).astype(np.float32)
    alpha_all = np.zeros((height, width), np.float32)
    for face in restored_faces:
        back = cv2.invertAffineTransform(face.to_frame)
        alpha = np.clip(cv2.warpAffine(face.hole.astype(np.float32), back, (width, height),
                                       flags=cv2.INTER_LINEAR, borderValue=0), 0, 1)
        if face.covers is not None:
            # Every painted-out pixel is replaced, whatever the warp's rounding says.
            alpha[face.covers] = 1.0
        values = cv2.warpAffine(face.restored.astype(np.float32), back, (width, height),
                                flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
        ycc[..., 0] = alpha * values + (1 - alpha) * ycc[..., 0]
        alpha_all = np.maximum(alpha_all, alpha)
    hole = alpha_all > 0
    brightness = np.clip(np.round(ycc[..., 0]), 0, 255).astype(np.uint8)
    if not colour:
        out = rgb[..., 0].copy()
        out[hole] = brightness[hole]
        return out
    if hole.any():
        # A painted-out mouth has no colour of its own, and under "box" a visible mouth
        # is being replaced: its chroma comes from the ring of face around the hole.
        grown = cv2.dilate(hole.astype(np.uint8), np.ones((3, 3), np.uint8))
        for channel in (1, 2):
            plane = np.clip(np.round(ycc[..., channel]), 0, 255).astype(np.uint8)
            filled = cv2.inpaint(plane, grown, 5, cv2.INPAINT_TELEA).astype(np.float32)
            ycc[..., channel] = alpha_all * filled + (1 - alpha_all) * ycc[..., channel]
    out = cv2.cvtColor(np.clip(np.round(ycc), 0, 255).astype(np.uint8), cv2.COLOR_YCrCb2RGB)
    out[~hole] = rgb[~hole]  # untouched, not through a YCrCb round trip
    return out


@dataclass
class RestoredPhoto:
    path: Path
    original: np.ndarray  # as read: RGB (H, W, 3)
    colour: bool
    restored: np.ndarray  # gray (H, W) or RGB (H, W, 3), the photo's size
    faces: list  # RestoredFace, largest face first
    skipped: list  # one line per face found but not restored


def restore_photo(path, detector, generator, hole="auto", flip_average=False):
    """Find, frame, restore and blend back every face of one photo.

    Raises MouthganError naming the file when nothing of it can be restored: unreadable,
    no face, or every face too small, turned too far or (``hole="white"``) not painted.
    """
    rgb, colour = read_photo(path)
    gray = luma(rgb)
    regions = white_regions(gray)
    template = detector.template
    faces = detector.find(hide_white(rgb, regions, template["mouth"]))
    if not faces:
        raise MouthganError(f"{path}: no face found")
    usable = [f for f in faces if not f.problem]
    skipped = [f"face {i + 1} at ({f.centre[0]:.0f}, {f.centre[1]:.0f}): {f.problem}"
               for i, f in enumerate(faces) if f.problem]
    results = restore_faces(gray, regions, usable, generator, template, hole, flip_average)
    restored = []
    for face, result in zip(usable, results):
        if result is None:
            i = faces.index(face)
            skipped.append(f"face {i + 1} at ({face.centre[0]:.0f}, {face.centre[1]:.0f}): "
                           "no painted-out (white) region over its mouth (--hole box "
                           "paints the handout's box over it)")
        else:
            restored.append(result)
    if not restored:
        reasons = "; ".join(skipped)
        raise MouthganError(f"{path}: nothing restored: {reasons}")
    return RestoredPhoto(Path(path), rgb, colour, blend_back(rgb, colour, restored),
                         restored, skipped)


def frame_faces(path, detector):
    """Every usable face of an ordinary photo framed as the training faces are (the
    photo path's detector and framing), gray uint8 (n, 128, 128), largest first, and
    one line per face found but not framed. Nothing is painted: these are training
    faces (``scripts/make_faces.py``). A face whose mouth is painted out is no
    training face and is skipped."""
    rgb, _ = read_photo(path)
    gray = luma(rgb)
    regions = white_regions(gray)
    template = detector.template
    framed, skipped = [], []
    for i, face in enumerate(detector.find(hide_white(rgb, regions, template["mouth"]))):
        where = f"face {i + 1} at ({face.centre[0]:.0f}, {face.centre[1]:.0f})"
        if face.problem:
            skipped.append(f"{where}: {face.problem}")
        elif painted_over_mouth(regions, face, template):
            skipped.append(f"{where}: its mouth is painted out (not a training face)")
        else:
            framed.append(warp(gray, face.to_frame))
    return framed, skipped


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
