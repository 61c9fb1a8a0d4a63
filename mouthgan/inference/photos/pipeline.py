"""The photo path: find every face, frame it, restore its hole, blend it back."""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mouthgan import MouthganError
from mouthgan.data.faces import IMAGE_SIZE
from mouthgan.inference.photos.detect import Face
from mouthgan.inference.photos.framing import (ALIGN_ON, box_mask, framed_face, hole_centre,
                                               similarity)
from mouthgan.inference.photos.grain import add_grain
from mouthgan.inference.photos.images import luma, read_photo
from mouthgan.inference.photos.paint import (hide_white, paint_spread, painted_box_framing,
                                             painted_over_mouth, unmix_paint, white_regions)


@dataclass
class RestoredFace:
    frame: np.ndarray  # the face as framed, as the photo shows it, uint8 (128, 128)
    painted: np.ndarray  # what the model saw: the box white, paint outside it filled
    restored: np.ndarray  # the model's restoration pasted into the hole, uint8
    hole: np.ndarray  # boolean (128, 128)
    hole_kind: str  # "white" or "box"
    to_frame: np.ndarray
    covers: np.ndarray = None  # the photo's painted-out pixels this face restores (bool)
    framed_by: str = "eyes"  # "box": by the painted box itself; "eyes": by the eyes



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
            framed_by = "eyes" if to_frame is None else "box"
            if to_frame is None:
                to_frame = similarity([face.points[k] for k in ALIGN_ON] + [(xs.mean(), ys.mean())],
                                      eyes + [hole_centre(template["hole_box"])])
            frame = framed_face(gray, to_frame, template["face"])
            seen, outside = unmix_paint(frame, painted, to_frame, box,
                                        paint_spread(gray, painted))
            region, kind, covers = box | outside, "white", painted
        elif hole == "white":
            framed.append(None)
            continue
        else:
            to_frame, region, kind, covers = face.to_frame, box, "box", None
            frame = seen = framed_face(gray, to_frame, template["face"])
            framed_by = "eyes"
        framed.append((frame, np.where(box, 255, seen).astype(np.uint8), region, kind,
                       to_frame, covers, framed_by))
    ready = [f for f in framed if f is not None]
    if not ready:
        return framed
    # Pasted as the model gives it. Shifting the hole so that its edge meets the face
    # (a harmonic field matching the prediction to the face around the box, or one
    # offset) cost box RMSE on close-ups (0.202 -> 0.209 / 0.204 when the photo cuts the
    # box; 0.146 -> 0.154 / 0.148 on tight crops): the model's edge is right more often
    # than the ring of unmixed paint around it.
    restored = restore(generator, np.stack([f[1] for f in ready]),
                       holes=np.stack([box] * len(ready)), flip_average=flip_average)
    restored = iter(np.round(restored * 255).astype(np.uint8))
    return [None if f is None else RestoredFace(f[0], f[1], next(restored), *f[2:])
            for f in framed]


def blend_back(rgb, colour, restored_faces, grain=True):
    """The photo with each restored hole mapped back at the photo's own resolution: a
    gray photo as a gray (H, W) array, a colour photo as RGB.

    The hole's pixels are replaced, its edge blended over the ~1 px the warp spreads it.
    ``grain``: the hole is given the fine detail of the skin around it, which a face
    enlarged from 128 pixels lacks (``grain.add_grain``).
    Colour photos: the model restores brightness only, so the hole gets the restored
    brightness (luma) and, for colour, the skin's colour from around the hole (chroma
    filled in from the hole's edge). Every pixel outside the hole keeps its value.
    """
    import cv2

    height, width = rgb.shape[:2]
    ycc = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb).astype(np.float32)
    alpha_all = np.zeros((height, width), np.float32)
    enlarged_holes = []  # where grain goes: the holes of faces shown above 128 px
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
        # A face not enlarged has the photo's detail already: grain on faces of 64-90 px
        # cost 2.3% box RMSE for no visible gain.
        if abs(np.linalg.det(back[:, :2])) > 1.0:
            enlarged_holes.append(alpha > 0.5)
    hole = alpha_all > 0
    if grain:
        for inside in enlarged_holes:
            ycc[..., 0] = add_grain(ycc[..., 0], inside, skin=~hole)
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
    notes: list = field(default_factory=list)  # how a face was framed, when unusual


def restore_photo(path, detector, generator, hole="auto", flip_average=False, grain=True):
    """Find, frame, restore and blend back every face of one photo (``grain``: with the
    skin's fine detail in the hole, ``blend_back``).

    Raises MouthganError naming the file when nothing of it can be restored: unreadable,
    no face, or every face too small, turned too far or (``hole="white"``) not painted.
    """
    rgb, colour = read_photo(path)
    gray = luma(rgb)
    regions = white_regions(gray)
    template = detector.template
    faces = detector.find(hide_white(rgb, regions, template["mouth"]))
    notes = []
    if hole != "box":
        # A painted box no found face claims: the detector missed its face (a close-up,
        # too little around it) or took a part of it for a small face of its own. Where
        # faces were found, only a box whose face holds one of them is taken (a white
        # sign of the hole's shape elsewhere in the photo is no mouth).
        claimed = {label for f in faces if not f.problem
                   for label in painted_over_mouth(regions, f, template)}
        by_box = faces_of_painted_boxes(regions, template, skip=claimed)
        if faces:
            by_box = [b for b in by_box if any(within(f, b) for f in faces)]
        if by_box:
            faces = by_box + [f for f in faces if not any(within(f, b) for b in by_box)]
            notes = [f"face {faces.index(b) + 1} at ({b.centre[0]:.0f}, {b.centre[1]:.0f}): "
                     "no face found over this painted box; framed by the box alone, upright"
                     for b in by_box]
    if not faces:
        raise MouthganError(f"{path}: no face found")
    usable = [f for f in faces if not f.problem]
    skipped = [f"face {i + 1} at ({f.centre[0]:.0f}, {f.centre[1]:.0f}): {f.problem}"
               for i, f in enumerate(faces) if f.problem]
    results = restore_faces(gray, regions, usable, generator, template, hole, flip_average)
    for face, result in zip(usable, results):
        if result is not None and result.hole_kind == "white" and result.framed_by == "eyes":
            notes.append(f"face {faces.index(face) + 1} at ({face.centre[0]:.0f}, "
                         f"{face.centre[1]:.0f}): the paint over its mouth is not the "
                         "training box, or the eyes disagree with it on its size or turn; "
                         "framed by the eyes and the paint's centre")
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
    return RestoredPhoto(Path(path), rgb, colour, blend_back(rgb, colour, restored, grain),
                         restored, skipped, notes)


def within(face, other):
    """Whether ``face``'s centre lies in ``other``'s frame: part of the same face."""
    x, y = other.to_frame @ [*face.centre, 1.0]
    return 0 <= x < IMAGE_SIZE and 0 <= y < IMAGE_SIZE


def faces_of_painted_boxes(regions, template, skip=()):
    """A face for each painted region shaped like the training hole (whole, or cut by the
    photo's edge), framed by that box alone, taken as upright: for a face the detector
    cannot find (a close-up with too little around it), the box the user painted still
    says where the face's mouth is, how large and how turned."""
    found = []
    for label in range(1, int(regions.max()) + 1):
        if label in skip:
            continue
        region = regions == label
        ys, xs = np.nonzero(region)
        top, bottom, left, right = template["hole_box"]
        # Upright framings at the scales the visible region suggests (its area; its
        # width or height, when the photo's edge cuts the other side).
        for scale in (np.sqrt((right - left) * (bottom - top) / len(xs)),
                      (right - left) / (xs.max() + 1 - xs.min()),
                      (bottom - top) / (ys.max() + 1 - ys.min())):
            upright = np.array([[scale, 0.0, 0.0], [0.0, scale, 0.0]])
            to_frame = painted_box_framing(region, upright, template)
            if to_frame is not None:
                break
        if to_frame is None:
            continue
        back = np.vstack([to_frame, [0, 0, 1]])
        back = np.linalg.inv(back)[:2]
        points = {k: back @ [*v, 1.0] for k, v in template["points"].items()}
        found.append(Face(points, 0.0, to_frame))
    return found


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
            framed.append(framed_face(gray, face.to_frame, template["face"]))
    return framed, skipped
