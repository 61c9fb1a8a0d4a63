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
