"""The paint: finding the painted-out regions of a photo, hiding them from the detector,
telling which lie over a face's mouth, framing a face by a painted box, and taking the
paint the framing's warp mixes into the face back out.
"""

import numpy as np

from mouthgan.inference.photos.framing import box_mask, hole_centre, warp

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
# A region cut by the photo's edge is paint only when it looks painted: straight-sided
# (fills this much of its turned bounding rectangle), cut by at most two sides (a box at
# a corner; a sky touches three), and at most this share of the photo (a box painted
# over the mouth of a face larger than the photo covers ~20% of it).
CUT_MAX_SIDES = 2
CUT_MAX_SHARE = 0.3
# A turned box cut by a straight edge of the photo misses a wedge of its rectangle: at 8
# degrees, cut through its middle, it fills ~87% of it.
CUT_MIN_FILL = 0.8
# The spreads of the paint's edge that ``paint_spread`` tells apart (photo pixels).
PAINT_SPREADS = (0.0, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0)
HOLE_ASPECT = 28 / 40  # the hole's short side over its long side
MIN_SPREAD_SIDE = 40


def white_regions(gray):
    """The painted-out parts of a gray photo (uint8) as a label image (0: not painted;
    1, 2, ...: one painted region each): blobs of near-white pixels that fill most of
    their box. A blob the photo's edge cuts counts only when it looks painted
    (``looks_painted``): in a close-up the box is often cut by the photo's edge, but so
    are a bright wall and the sky."""
    import cv2

    height, width = gray.shape
    regions = np.zeros(gray.shape, np.int32)
    for level in (WHITE, LIGHT):
        bright = ((gray >= level) & (regions == 0)).astype(np.uint8)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(bright, connectivity=4)
        keep, last = np.zeros(count, np.int32), int(regions.max())
        for i in range(1, count):
            x, y, w, h, area = stats[i]
            if area < MIN_WHITE_AREA or area < MIN_WHITE_FILL * w * h:
                continue
            if cut_sides((x, y, w, h), gray.shape) and not looks_painted(labels == i):
                continue
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


def cut_sides(bounds, shape):
    """Which sides of the photo ("top", "bottom", "left", "right") a region whose bounding
    box is ``bounds`` (x, y, w, h) touches."""
    x, y, w, h = bounds
    height, width = shape[:2]
    return {side for side, touches in (("top", y == 0), ("bottom", y + h == height),
                                       ("left", x == 0), ("right", x + w == width)) if touches}


def bounds_of(region):
    """The bounding box (x, y, w, h) of a region (bool)."""
    ys, xs = np.nonzero(region)
    return xs.min(), ys.min(), xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min()


def looks_painted(region):
    """Whether a region (bool, the photo's size) cut by the photo's edge is paint: cut by
    at most CUT_MAX_SIDES sides, at most CUT_MAX_SHARE of the photo, and straight-sided
    (filling CUT_MIN_FILL of its turned bounding rectangle)."""
    import cv2

    ys, xs = np.nonzero(region)
    if len(cut_sides(bounds_of(region), region.shape)) > CUT_MAX_SIDES or \
            len(xs) > CUT_MAX_SHARE * region.size:
        return False
    (_, _), (side_a, side_b), _ = cv2.minAreaRect(np.stack([xs, ys], 1).astype(np.float32))
    return len(xs) >= CUT_MIN_FILL * (side_a + 1) * (side_b + 1)


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



def painted_over_mouth(regions, face, template):
    """The painted regions (labels of ``white_regions``) that lie over this face's
    mouth: their centres fall, in the face's eye framing, within 10 px of the hole box;
    or within 30 px when the region is itself a box of the hole's shape, size and turn
    (``painted_box_framing``): when the photo cuts the face, its eyes frame it less
    well, and a box cut by the photo's edge has its visible centre off the hole's."""
    import cv2

    if not regions.any():
        return []
    hole = box_mask(template["hole_box"]).astype(np.uint8)
    near = cv2.dilate(hole, np.ones((21, 21), np.uint8)) > 0
    wide = cv2.dilate(hole, np.ones((61, 61), np.uint8)) > 0
    found = []
    for label in range(1, int(regions.max()) + 1):
        region = regions == label
        ys, xs = np.nonzero(region)
        if not len(xs):
            continue
        x, y = face.to_frame @ [xs.mean(), ys.mean(), 1.0]
        if not (0 <= x < near.shape[1] and 0 <= y < near.shape[0]):
            continue
        if near[int(y), int(x)] or (wide[int(y), int(x)] and painted_box_framing(
                region, face.to_frame, template) is not None):
            found.append(label)
    return found



def painted_box_framing(painted, eye_framing, template):
    """The similarity (2x3, photo -> frame) that lays a painted region (bool, the photo's
    size) onto the training hole, when the region is a filled rectangle of the hole's
    aspect whose size and direction agree with ``eye_framing``; else None. A region the
    photo's edge cuts is the visible part of such a rectangle (``cut_box_framing``).

    The region's centre goes to the hole's centre, its long axis (second moments) along
    the hole's width, and its pixel count to the hole's area."""
    import cv2

    ys, xs = np.nonzero(painted)
    if len(xs) < MIN_WHITE_AREA:
        return None
    if cut_sides(bounds_of(painted), painted.shape):
        return cut_box_framing(painted, eye_framing, template)
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
    axis = facing(vectors[:, 1], eye_framing)
    scale = np.sqrt(width * height / len(xs))  # frame pixels per photo pixel
    return checked_box_framing(centre, axis, scale, eye_framing, template)


def eye_direction(eye_framing):
    """The face's left-to-right in the photo (a unit vector), as the eyes' framing says."""
    direction = np.linalg.inv(eye_framing[:, :2]) @ [1.0, 0.0]
    return direction / np.linalg.norm(direction)


def facing(axis, eye_framing):
    """``axis`` (a unit vector in the photo), turned to point the way the eyes' framing
    says the face's left-to-right runs."""
    return -axis if np.dot(axis, eye_direction(eye_framing)) < 0 else axis


def checked_box_framing(centre, axis, scale, eye_framing, template):
    """The similarity putting ``centre`` (photo) on the hole's centre, ``axis`` along the
    frame's x, ``scale`` frame pixels per photo pixel; None when the eyes disagree."""
    eye_axis = eye_direction(eye_framing)
    eye_scale = np.sqrt(abs(np.linalg.det(eye_framing[:, :2])))
    angle = np.degrees(np.arctan2(axis[1], axis[0]) - np.arctan2(eye_axis[1], eye_axis[0]))
    if (abs(scale / eye_scale - 1) > BOX_SCALE_TOLERANCE
            or abs((angle + 180) % 360 - 180) > BOX_ANGLE_TOLERANCE):
        return None
    cos, sin = axis * scale
    linear = np.array([[cos, sin], [-sin, cos]])  # turns the axis onto +x, then scales
    return np.hstack([linear, (hole_centre(template["hole_box"]) - linear @ centre)[:, None]])


def cut_box_framing(painted, eye_framing, template):
    """The framing of a painted box the photo's edge cuts: the visible part of a rectangle
    of the hole's aspect whose missing part lies outside the photo.

    The rectangle's direction comes from its sides the photo shows (the edge pixels not on
    the photo's border); its size from the two opposite sides the photo shows, if any
    (else the eyes say it); its centre from the sides it shows, half a box in from each.
    None when the visible part is no such rectangle, or disagrees with the eyes."""
    import cv2

    ys, xs = np.nonzero(painted)
    height, width = painted.shape
    inner = cv2.erode(painted.astype(np.uint8), np.ones((3, 3), np.uint8),
                      borderType=cv2.BORDER_REPLICATE) > 0
    by, bx = np.nonzero(painted & ~inner)
    shown = (by > 0) & (by < height - 1) & (bx > 0) & (bx < width - 1)
    if shown.sum() < 10:
        return None
    (_, _), _, angle = cv2.minAreaRect(np.stack([bx[shown], by[shown]], 1).astype(np.float32))
    # minAreaRect's angle names one side; the box's long side is that or 90 degrees on:
    # the one nearer the eyes' left-to-right.
    eye_axis = eye_direction(eye_framing)
    candidates = [np.radians(angle + k * 90) for k in range(4)]
    axis = max((np.array([np.cos(a), np.sin(a)]) for a in candidates),
               key=lambda v: np.dot(v, eye_axis))
    across = np.array([-axis[1], axis[0]])  # the box's downward direction
    origin = np.array([xs.mean(), ys.mean()])
    u = (np.stack([xs, ys], 1) - origin) @ axis
    v = (np.stack([xs, ys], 1) - origin) @ across
    on_border = (ys == 0) | (ys == height - 1) | (xs == 0) | (xs == width - 1)
    # A side is shown when most of the pixels along it are off the photo's border (a
    # shown side may end on the border where the cut crosses it).
    ends = {}
    for name, values, sign in (("u0", u, -1), ("u1", u, 1), ("v0", v, -1), ("v1", v, 1)):
        extreme = values.max() if sign > 0 else values.min()
        near = np.abs(values - extreme) <= 1.5
        # The side runs half a pixel beyond the centres of the pixels along it (their
        # mean: the extreme one alone is a staircase's corner, ~0.5 px further out).
        side = values[near & ~on_border].mean() if (near & ~on_border).any() else extreme
        ends[name] = (side + 0.5 * sign, on_border[near].mean() < 0.5)
    top, bottom, left, right = template["hole_box"]
    box_w, box_h = right - left, bottom - top
    (u0, u0_shown), (u1, u1_shown) = ends["u0"], ends["u1"]
    (v0, v0_shown), (v1, v1_shown) = ends["v0"], ends["v1"]
    eye_scale = np.sqrt(abs(np.linalg.det(eye_framing[:, :2])))
    if u0_shown and u1_shown:
        size = (u1 - u0) / box_w  # photo pixels per frame pixel
    elif v0_shown and v1_shown:
        size = (v1 - v0) / box_h
    else:
        size = 1 / eye_scale
    if (u1 - u0) > box_w * size * (1 + BOX_ASPECT_TOLERANCE) or \
            (v1 - v0) > box_h * size * (1 + BOX_ASPECT_TOLERANCE):
        return None  # larger than a box of that size: not the hole
    if len(xs) < CUT_MIN_FILL * (u1 - u0) * (v1 - v0):
        return None
    if not (u0_shown or u1_shown) or not (v0_shown or v1_shown):
        return None  # cut on two opposite sides: where it sits is unknown
    cu = u0 + box_w * size / 2 if u0_shown else u1 - box_w * size / 2
    cv = v0 + box_h * size / 2 if v0_shown else v1 - box_h * size / 2
    centre = origin + cu * axis + cv * across
    return checked_box_framing(centre, axis, 1 / size, eye_framing, template)


def paint_spread(gray, painted):
    """How far the paint's edge is spread in the photo (a Gaussian's sigma, photo pixels):
    0 for paint laid at the photo's own pixels; more when the photo was enlarged or
    blurred after it was painted (a face painted at 128 px and enlarged 3x spreads its
    white ~2 px into the face). Fitted to the brightness of the rings of pixels 1-5 px
    outside the paint against the face just beyond them (6-8 px): a blurred straight edge
    at distance d is 255 w + (1 - w) face, w = erfc((d - 1/2) / (sigma sqrt 2)) / 2. A
    spread is taken only where it explains at least half of what sharp paint leaves
    unexplained: the face's own shading beside the paint is no spread."""
    import cv2
    from math import erfc, sqrt

    # Only the rings matter: the paint and 9 px around it, not the whole photo.
    x, y, w, h = bounds_of(painted)
    near = np.s_[max(0, y - 9):y + h + 9, max(0, x - 9):x + w + 9]
    gray, painted = gray[near], painted[near]
    distance = cv2.distanceTransform((~painted).astype(np.uint8), cv2.DIST_L2, 3)
    rings = [gray[(distance > d - 0.5) & (distance <= d + 0.5)] for d in range(1, 9)]
    if any(len(ring) < 8 for ring in rings):
        return 0.0
    seen = np.array([np.median(ring) for ring in rings[:5]], np.float64)
    face = float(np.median(np.concatenate(rings[5:])))
    if face > 200:
        return 0.0  # paint on a light face: its spread cannot be told from the face

    def error(sigma):
        weight = np.array([0.5 * erfc((d - 0.5) / (sigma * sqrt(2))) if sigma else 0.0
                           for d in range(1, 6)])
        return float(np.sum((seen - (255 * weight + (1 - weight) * face)) ** 2))

    if seen[0] - face < 0.5 * (255 - face) or seen[0] - seen[1] < seen[1] - seen[2]:
        return 0.0
    # Only on a box of at least MIN_SPREAD_SIDE px across, and at most 4% of it: a face
    # painted at 128 px and enlarged 3x spreads 2 px of a side of 84; beside a box of 20
    # px on a face of 64-90 px, spreads of 3 px and 0.75 px were found in the face's
    # shading, and unmixing them cost those faces up to 1.8x Telea's RMSE.
    short_side = np.sqrt(painted.sum() * HOLE_ASPECT)
    if short_side < MIN_SPREAD_SIDE:
        return 0.0
    sharp = error(0.0)
    best = min((s for s in PAINT_SPREADS if s <= 0.04 * short_side), key=error)
    return best if error(best) < 0.5 * sharp else 0.0


def unmix_paint(frame, painted, to_frame, box, spread=0.0):
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
    mask = painted.astype(np.float32)
    if spread:
        mask = cv2.GaussianBlur(mask, (0, 0), spread)
    weight = np.minimum(warp(mask, to_frame, border=0), 1.0)
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
