"""Finding faces: MTCNN (the ``mtcnn`` package, TensorFlow, weights inside its wheel, so
it runs offline) gives a face box and five points; each face is checked (size, turn) and
given its eye framing. It is an optional extra, ``.[photos]``.
"""

from dataclasses import dataclass, field

import numpy as np

from mouthgan import MouthganError
from mouthgan.inference.photos.framing import (ALIGN_ON, LANDMARKS, load_template, resize,
                                               similarity, turn)

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
# A face that fills the photo is missed by MTCNN, which needs context around a face; a
# photo in which no look finds a face is looked at once more with a border of this share
# of its size on each side (its edge repeated), the points then shifted back.
PAD_SHARE = 0.3
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
        height, width = rgb.shape[:2]
        pad = int(round(PAD_SHARE * max(height, width)))
        padded = np.pad(rgb, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
        return [({k: xy - pad for k, xy in points.items()}, confidence)
                for points, confidence in self._look(padded, False, 1.0)]

    def _look(self, rgb, mirrored, size):
        height, width = rgb.shape[:2]
        scale = min(1.0, DETECT_SIDE / max(height, width)) * size
        small = rgb if scale == 1.0 else resize(rgb, scale)
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
