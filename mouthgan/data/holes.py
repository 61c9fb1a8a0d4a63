"""Finding the painted hole: the white rectangle over the mouth of a face, as a mask
or a box, for one image, a stack, or every file of a streamed data set (cached).
"""

from pathlib import Path

import numpy as np

# Painted pixels are 255. The box is found from saturated pixels (a natural bright
# background is rarely saturated over a large rectangle), then grown over near-white
# lines: JPEG ringing pulls the box's edge below 255. A ring of face counted as hole
# costs little: it is just predicted.
SATURATED = 250
NEAR_WHITE = 235
MAX_GROWTH = 6  # pixels per side


def find_hole(white):
    """The painted rectangle of one uint8 image (H, W) as a boolean mask.

    The largest axis-aligned rectangle of saturated pixels, after setting aside
    background: a bright pixel whose straight bright run reaches the image border both
    along its row and along its column. The painted mouth sits inside the face, so its
    runs stop at the face in at least one direction even where a bright background
    touches the box. An image with no white pixel gets an empty mask.
    """
    white = np.asarray(white)
    near_white = white >= NEAR_WHITE
    background = _run_reaches_border(near_white, 1) & _run_reaches_border(near_white, 0)
    near_white &= ~background
    bright = (white >= SATURATED) & near_white
    height, width = bright.shape
    best_area, best = 0, None
    heights = np.zeros(width, dtype=np.int64)
    for row in range(height):
        # heights[c]: how many bright pixels stand in column c, ending at this row.
        heights = np.where(bright[row], heights + 1, 0)
        if not heights.any():
            continue
        stack = []  # (start column, height), heights increasing
        for col in range(width + 1):
            h = int(heights[col]) if col < width else 0
            start = col
            while stack and stack[-1][1] >= h:
                start, top_h = stack.pop()
                area = top_h * (col - start)
                # A rectangle on the image's edge is background: the mouth is inside.
                inside = row - top_h + 1 > 0 and row + 1 < height and start > 0 and col < width
                if area > best_area and inside:
                    best_area, best = area, (row - top_h + 1, row + 1, start, col)
            stack.append((start, h))
    mask = np.zeros_like(bright)
    if best is not None:
        top, bottom, left, right = _grow(near_white, *best)
        mask[top:bottom, left:right] = True
    return mask


def _grow(near_white, top, bottom, left, right):
    """Extend each side of the box while the next line is mostly near-white."""
    height, width = near_white.shape
    for _ in range(MAX_GROWTH):
        grown = False
        if top > 0 and near_white[top - 1, left:right].mean() >= 0.95:
            top, grown = top - 1, True
        if bottom < height and near_white[bottom, left:right].mean() >= 0.95:
            bottom, grown = bottom + 1, True
        if left > 0 and near_white[top:bottom, left - 1].mean() >= 0.95:
            left, grown = left - 1, True
        if right < width and near_white[top:bottom, right].mean() >= 0.95:
            right, grown = right + 1, True
        if not grown:
            break
    return top, bottom, left, right


def _run_reaches_border(bright, axis):
    """True where a straight run of bright pixels along ``axis`` reaches either end."""
    forward = np.cumprod(bright, axis=axis, dtype=np.int8)
    backward = np.flip(np.cumprod(np.flip(bright, axis), axis=axis, dtype=np.int8), axis)
    return (forward | backward).astype(bool)


def hole_box(white):
    """``find_hole`` as its box (top, bottom, left, right); zeros when there is none."""
    mask = find_hole(white)
    if not mask.any():
        return (0, 0, 0, 0)
    rows, cols = np.nonzero(mask.any(1))[0], np.nonzero(mask.any(0))[0]
    return (int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1)


def hole_boxes(white_files, cache_file=None, notes=print):
    """The hole box of each white image file, found once per file content and kept in
    ``cache_file`` (JSON, content hash -> box; default ~/.cache/mouthgan/holes.json), so
    a streamed run starts without finding 3 ms holes again. The boxes are what the
    input pipeline paints masks from: it runs no Python per image."""
    import hashlib
    import json

    from mouthgan.data.faces import read_images
    from mouthgan.data.sample_data import default_cache_dir
    from mouthgan.util.atomic import write_text

    cache_file = Path(cache_file or default_cache_dir() / "holes.json")
    try:
        cache = json.loads(cache_file.read_text())
    except (OSError, ValueError):
        cache = {}
    keys = [hashlib.sha1(Path(p).read_bytes()).hexdigest() for p in white_files]
    missing = sorted({k: p for k, p in zip(keys, white_files) if k not in cache}.items())
    if len(missing) > 1000:
        notes(f"finding the holes of {len(missing):,} white images (once; kept in "
              f"{cache_file})")
    for key, path in missing:
        cache[key] = hole_box(read_images([Path(path)], notes=lambda _: None)[0])
    if missing:
        try:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            write_text(cache_file, json.dumps(cache))
        except OSError:
            pass  # a cache only: without it the holes are found again next time
    return np.array([cache[k] for k in keys], np.int32).reshape(-1, 4)


def find_holes(whites):
    """find_hole for a stack (n, H, W) -> boolean masks (n, H, W)."""
    return np.stack([find_hole(w) for w in whites])
