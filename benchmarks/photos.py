"""The photo path (scripts/restore.py) against the aligned path, on faces whose truth is
known: Validation faces, mouth painted white, placed into photos larger and smaller than
the training frame (turned a few degrees, shifted, on a textured backdrop, edges faded).

    python benchmarks/photos.py [--model runs/latest] [--faces 60] [--seeds 0 1 2]
                                [--sizes large small] [--write] [--picture PHOTO OUT.png]

For each placed face: was it found; the RMSE over the handout's box, in the face's own
128x128 frame, of (a) the restored photo mapped back to that frame, (b) the aligned
path (the model on the 128x128 white image, as image_to_csv.py runs it), both against
the real face; (c) the real face placed and mapped back the same way, unrestored: what
the two resamplings alone cost; (d) the aligned path's restoration placed and mapped back
so: the best a photo of that size can show of it; and the time per photo. Pixel values
0..1.

``--picture PHOTO OUT.png`` also paints the handout's box over the mouth of a real photo
(where the framing puts it), restores it, and writes [photo, painted, restored by each
``--model``] cropped to the face: the README's picture, from a public-domain photo (NASA's portrait of Eileen
Collins, which scikit-image ships as ``skimage/data/astronaut.png``).
"""

import argparse
import os
import shutil
import tempfile
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from mouthgan.data.faces import HOLE_BOX  # noqa: E402
from mouthgan.util import cli  # noqa: E402
from results_file import write_section  # noqa: E402


# How large the placed faces are, as multiples of the 128-pixel frame: photos larger than
# the training faces (the frame shrunk into the model's size) and photos smaller than
# CelebA's (faces of 64-90 pixels, enlarged to the frame).
SIZES = {"large": (1.2, 3.0), "small": (0.5, 0.7)}
TOP, BOTTOM, LEFT, RIGHT = HOLE_BOX  # the handout's box in the frame


def _close_up(rng):
    # The photo 0.7-1.2x the frame on each side, shifted up to 20 px: cut on any side.
    h, w = rng.uniform(0.7, 1.2, 2) * 128
    cy, cx = 64 + rng.uniform(-20, 20, 2)
    return cy - h / 2, cy + h / 2, cx - w / 2, cx + w / 2


def _edge(rng):
    # One side of the photo 2 px outside the box to 8 px into it; the others take in the
    # face: its forehead to its chin, its cheeks.
    top, bottom, left, right = (rng.uniform(-10, 20), BOTTOM + rng.uniform(0, 20),
                                LEFT - rng.uniform(30, 50), RIGHT + rng.uniform(30, 50))
    cut = rng.uniform(-2, 8)
    side = rng.integers(3)
    if side == 0:
        bottom = BOTTOM - cut
    elif side == 1:
        left = LEFT + cut
    else:
        right = RIGHT - cut
    return top, bottom, left, right


def _larger(rng):
    # The photo inside the frame: 0.6-0.85 of it each way, the box mostly in it.
    h, w = rng.uniform(0.6, 0.85, 2) * 128
    bottom = min(128.0, BOTTOM + rng.uniform(-4, 12))
    cx = 64 + rng.uniform(-8, 8)
    return bottom - h, bottom, cx - w / 2, cx + w / 2


def _tight(rng):
    # A tight crop: 4-30 px of the frame off each side, the box inside with a margin.
    return (rng.uniform(16, 30), rng.uniform(116, 128), rng.uniform(4, 30),
            rng.uniform(98, 124))


# Close-ups as people bring them: the face fills the photo (window in the face's frame).
CROPS = {"close-up": _close_up, "edge": _edge, "larger": _larger, "tight": _tight}
CASE_LABELS = {"large": "1.2-3x, margin all round", "small": "64-90 px, margin all round",
               "close-up": "close-ups: photo 0.7-1.2x the frame, cut on any side",
               "edge": "box touching or cut by the photo's edge",
               "larger": "face larger than the photo (0.6-0.85 of the frame)",
               "tight": "tight crops, the box inside"}


def placements(n, seed=0, size="large"):
    """(scale, angle, centre fraction x, y) of each placed face, drawn once per seed; for
    a close-up case, (scale, angle, window in the frame)."""
    rng = np.random.default_rng(seed)
    if size in CROPS:
        return [(rng.uniform(1.5, 3.5), rng.uniform(-8, 8), CROPS[size](rng))
                for _ in range(n)]
    lo, hi = SIZES[size]
    return [(rng.uniform(lo, hi), rng.uniform(-8, 8), rng.uniform(0.4, 0.6),
             rng.uniform(0.4, 0.6)) for _ in range(n)]


def make_photo(real, where, seed, size, paint=None):
    from placed_photos import cropped_photo, placed_photo

    if size in CROPS:
        return cropped_photo(real, *where, seed=seed, paint=paint)
    return placed_photo(real, *where, seed=seed, paint=paint)


def measure(model, n_faces, data="NLP_data", seed=0, hole="auto", size="large", grain=True):
    """Per found face: box RMSE of the photo path, the aligned path, photo vs aligned,
    the real face and the aligned output at the photo's size, Telea in the photo, and the
    share of the frame inside the photo; the times; the faces missed."""
    import cv2
    from PIL import Image

    from mouthgan.data.faces import HOLE_BOX, load_folder
    from mouthgan.inference.generators import load_generator, run_flip_average
    from mouthgan.inference.predict import restore
    from mouthgan.inference.photos.detect import FaceDetector
    from mouthgan.inference.photos.framing import box_mask
    from mouthgan.inference.photos.pipeline import restore_photo
    from mouthgan.evaluation.metrics import texture_ratio
    from placed_photos import inside_photo, seen_in_frame

    whites, stems = load_folder(Path(data) / "Validation" / "White", notes=lambda _: None)
    reals, _ = load_folder(Path(data) / "Validation" / "Real", notes=lambda _: None)
    whites, reals = whites[:n_faces], reals[:n_faces]
    generator = load_generator(model, runtime="auto")
    flip = run_flip_average(model)
    detector = FaceDetector()
    box = box_mask(HOLE_BOX)
    aligned = restore(generator, whites, flip_average=flip)
    rows, times, missed = [], [], []
    folder = Path(tempfile.mkdtemp(prefix="mouthgan-photos-"))
    for i, (white, real, where) in enumerate(zip(whites, reals, placements(n_faces, seed, size))):
        photo, to_photo = make_photo(real, where, seed * 10_000 + i, size, paint=HOLE_BOX)
        unrestored, _ = make_photo(real, where, seed * 10_000 + i, size)
        inside = inside_photo(photo.shape, to_photo)
        scored = box & inside
        if not scored.any():
            continue  # the box is wholly outside the photo: nothing to restore
        path = folder / f"{stems[i]}.png"
        Image.fromarray(photo).save(path)
        start = time.perf_counter()
        try:
            result = restore_photo(path, detector, generator, hole, flip, grain)
        except Exception as exc:  # noqa: BLE001  a missed face is a figure here
            missed.append((stems[i], str(exc).split(": ", 1)[-1], inside.mean()))
            continue
        times.append(time.perf_counter() - start)
        truth = real / 255.0
        rmse = lambda a, b: float(np.sqrt(np.mean((a[scored] - b[scored]) ** 2)))  # noqa: E731
        photo_path = seen_in_frame(result.restored, to_photo)
        painted = (photo == 255).astype(np.uint8)
        telea = seen_in_frame(cv2.inpaint(photo, painted, 10, cv2.INPAINT_TELEA), to_photo)
        # The aligned path's restoration placed and mapped back the same way: the best a
        # photo of this size can show of it.
        aligned_placed, _ = make_photo(np.round(aligned[i] * 255).astype(np.uint8), where,
                                       seed * 10_000 + i, size)
        # Fine detail at the photo's own resolution: the restored box against the skin
        # around it, and the real photo's (about 1).
        in_photo = cv2.warpAffine(box.astype(np.uint8), to_photo, photo.shape[::-1],
                                  flags=cv2.INTER_NEAREST) > 0
        restored_gray = result.restored if result.restored.ndim == 2 else photo
        rows.append((rmse(photo_path, truth), rmse(aligned[i], truth),
                     rmse(photo_path, aligned[i]), rmse(seen_in_frame(unrestored, to_photo), truth),
                     rmse(seen_in_frame(aligned_placed, to_photo), truth), rmse(telea, truth),
                     inside.mean(), texture_ratio(restored_gray, in_photo),
                     texture_ratio(unrestored, in_photo)))
    shutil.rmtree(folder, ignore_errors=True)
    return np.array(rows).reshape(-1, 9), np.array(times), missed


def picture(models, photo, out):
    """The README's picture, two rows: the face (the frame's square 1.3x larger) and its
    mouth (the box with a third of its size around it) enlarged to the face's width,
    every pixel a square of pixels, so that the restoration is seen at the photo's own
    resolution. Columns: the photo, painted, Telea, restored by each model."""
    import tempfile

    import cv2
    from PIL import Image

    from mouthgan.inference.generators import load_generator, run_flip_average
    from mouthgan.inference.photos.detect import FaceDetector
    from mouthgan.inference.photos.framing import box_mask
    from mouthgan.inference.photos.images import read_photo
    from mouthgan.inference.photos.pipeline import restore_photo

    detector = FaceDetector()
    rgb, _ = read_photo(photo)
    face = next(f for f in detector.find(rgb) if not f.problem)
    hole_box = detector.template["hole_box"]
    box = box_mask(hole_box).astype(np.uint8)
    to_photo = cv2.invertAffineTransform(face.to_frame)
    hole = cv2.warpAffine(box, to_photo, rgb.shape[1::-1], flags=cv2.INTER_NEAREST) > 0
    painted = rgb.copy()
    painted[hole] = 255
    telea = cv2.inpaint(painted, hole.astype(np.uint8), 10, cv2.INPAINT_TELEA)
    results = []
    with tempfile.TemporaryDirectory() as folder:
        painted_file = Path(folder) / "painted.png"
        Image.fromarray(painted).save(painted_file)
        for model in models:
            results.append(restore_photo(painted_file, detector, load_generator(model),
                                         "white", run_flip_average(model)))
    restored = [r.restored if r.colour else np.stack([r.restored] * 3, -1) for r in results]
    columns = (rgb, painted, telea, *restored)

    def window(corners, grow):
        xs, ys = (np.c_[corners, np.ones(len(corners))] @ to_photo.T).T
        cx, cy = xs.mean(), ys.mean()
        half_x, half_y = grow * (xs.max() - xs.min()) / 2, grow * (ys.max() - ys.min()) / 2
        return (max(0, int(cy - half_y)), int(cy + half_y),
                max(0, int(cx - half_x)), int(cx + half_x))

    # The face: the frame's square, 1.3 times larger.
    top, bottom, left, right = window(np.array([[0, 0], [128, 0], [0, 128], [128, 128]]), 1.3)
    faces = [image[top:bottom, left:right] for image in columns]
    # The mouth: the box and a third of its size on every side, each pixel zoom x zoom.
    b_top, b_bottom, b_left, b_right = hole_box
    top, bottom, left, right = window(np.array([[b_left, b_top], [b_right, b_top],
                                                [b_left, b_bottom], [b_right, b_bottom]]),
                                      5 / 3)
    zoom = faces[0].shape[1] / (right - left)
    size = (faces[0].shape[1], round((bottom - top) * zoom))
    mouths = [cv2.resize(image[top:bottom, left:right], size, interpolation=cv2.INTER_NEAREST)
              for image in columns]
    width = max(faces[0].shape[1], mouths[0].shape[1])

    def row(panels):
        height = max(panel.shape[0] for panel in panels)
        padded = [np.pad(panel, ((0, height - panel.shape[0]), (0, width - panel.shape[1]),
                                 (0, 0)), constant_values=255) for panel in panels]
        gap = np.full((height, 6, 3), 255, np.uint8)
        return np.concatenate([part for panel in padded for part in (gap, panel)][1:], axis=1)

    upper, lower = row(faces), row(mouths)
    strip = np.concatenate([upper, np.full((6, upper.shape[1], 3), 255, np.uint8), lower])
    Image.fromarray(strip).save(out)
    print(f"{out}: {strip.shape[1]}x{strip.shape[0]}")


def close_up_picture(model, out, faces=(0, 8)):
    """Close-ups restored, one row per photo: [real, painted, Telea, restored by
    ``model``]; each photo a Validation face enlarged 3x, cut to frame rows 16-104 (the
    photo's bottom cuts the box) or to a tight crop (rows 24-118, columns 10-118)."""
    import cv2
    from PIL import Image

    from mouthgan.data.faces import HOLE_BOX, load_folder
    from mouthgan.inference.generators import load_generator, run_flip_average
    from mouthgan.inference.photos.detect import FaceDetector
    from mouthgan.inference.photos.pipeline import restore_photo
    from placed_photos import cropped_photo

    reals, _ = load_folder(Path("NLP_data") / "Validation" / "Real", notes=lambda _: None)
    detector, generator = FaceDetector(), load_generator(model)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for index in faces:
            for window in ((16, 104, 16, 112), (24, 118, 10, 118)):
                real, _ = cropped_photo(reals[index], 3.0, 0, window, seed=index)
                painted, _ = cropped_photo(reals[index], 3.0, 0, window, seed=index,
                                           paint=HOLE_BOX)
                path = Path(folder) / "close-up.png"
                Image.fromarray(painted).save(path)
                restored = restore_photo(path, detector, generator, "auto",
                                         run_flip_average(model)).restored
                telea = cv2.inpaint(painted, (painted == 255).astype(np.uint8), 10,
                                    cv2.INPAINT_TELEA)
                panels = [real, painted, telea, restored]
                gap = np.full((real.shape[0], 6), 255, np.uint8)
                rows.append(np.concatenate([x for panel in panels for x in (gap, panel)][1:], 1))
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 6), (0, width - r.shape[1])), constant_values=255) for r in rows]
    Image.fromarray(np.concatenate(rows)).save(out)
    print(f"{out}: {width}x{sum(r.shape[0] for r in rows)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", help="a run, .keras file or bundled:NAME "
                        "(default runs/latest); more than once: the table measures each, "
                        "--picture shows each")
    parser.add_argument("--faces", type=int, default=60, help="placed faces (0: none)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                        help="each draws the placements (and the backdrops) anew")
    parser.add_argument("--sizes", nargs="+", choices=list(CASE_LABELS),
                        default=list(CASE_LABELS), help="which cases (rows) to measure")
    parser.add_argument("--data", default="NLP_data")
    parser.add_argument("--grain", action=argparse.BooleanOptionalAction, default=True,
                        help="the photo path's grain in the restored hole (restore.py's "
                             "default); --no-grain measures without it")
    parser.add_argument("--write", action="store_true", help="update RESULTS.md")
    parser.add_argument("--picture", nargs=2, metavar=("PHOTO", "OUT"),
                        help="also write the README's picture of PHOTO restored")
    parser.add_argument("--close-up-picture", metavar="OUT",
                        help="also write docs/photos.md's picture of close-ups restored by "
                             "the first --model")
    args = parser.parse_args()
    models = args.model or ["runs/latest"]
    cli.import_tensorflow()
    if args.picture:
        picture(models, *args.picture)
    if args.close_up_picture:
        close_up_picture(models[0], args.close_up_picture)
    if not args.faces:
        return
    isa = os.environ.get("ONEDNN_MAX_CPU_ISA")
    machine = (f"oneDNN limited to {isa}" if isa else "oneDNN unrestricted") + \
        f", {os.cpu_count()} cores"
    lines = [
        f"{args.faces} Validation faces placed per seed and case. Box RMSE: over the "
        "handout's box (the part the photo shows) in the face's own frame, 0..1, mean over "
        "the faces found; the gap is the photo path's RMSE over the aligned path's on the "
        "same faces; Telea inpaints the photo's painted pixels; the worst face is the "
        "largest ratio of a face's photo-path RMSE to its Telea RMSE (and of the aligned "
        "path's, on the same faces: where the model itself loses to Telea). Texture: the RMS "
        "of the photo's fine detail (less its 1-px blur) inside the box over the same in "
        "the skin 3-12 px around it (`mouthgan.evaluation.metrics.texture_ratio`). A face the photo path "
        "does not find is listed below with the share of its frame inside the photo.",
        "",
        "| model | case | seed | found | photo path | aligned path | gap | Telea | under "
        "Telea | worst face / Telea | worst face, aligned path / Telea | real face at the "
        "photo's size (floor) | texture: photo path / real photo | s per photo (median) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    missed_all = []

    def row(rows, found, label, model, seed, times=None):
        ratio = rows[:, 0] / rows[:, 5]
        lines.append(
            f"| `{model}`{'' if args.grain else ' without grain'} | {label} | {seed} | "
            f"{found} | {rows[:, 0].mean():.4f} "
            f"| {rows[:, 1].mean():.4f} | {rows[:, 0].mean() / rows[:, 1].mean() - 1:+.1%} "
            f"| {rows[:, 5].mean():.4f} | {1 - rows[:, 0].mean() / rows[:, 5].mean():.1%} "
            f"| {ratio.max():.2f} | {(rows[:, 1] / rows[:, 5]).max():.2f} "
            f"| {rows[:, 3].mean():.4f} | {np.nanmean(rows[:, 7]):.2f} / {np.nanmean(rows[:, 8]):.2f} "
            f"| {'' if times is None else f'{np.median(times):.2f}'} |")
        print(lines[-1], flush=True)

    for model in models:
        for size in args.sizes:
            label = CASE_LABELS[size]
            every, found_all, eligible_all = [], 0, 0
            for seed in args.seeds:
                rows, times, missed = measure(model, args.faces, args.data, seed, size=size,
                                              grain=args.grain)
                found, eligible = len(rows), len(rows) + len(missed)
                every.append(rows)
                found_all, eligible_all = found_all + found, eligible_all + eligible
                missed_all += [f"`{model}`, {size}, seed {seed}: {m[0]} ({m[1]}; "
                               f"{m[2]:.0%} inside)" for m in missed]
                row(rows, f"{found} of {eligible}", label, model, seed, times)
            row(np.concatenate(every), f"{found_all} of {eligible_all}", label, model, "all")
    lines += [
        "",
        "Cases: faces placed into a textured backdrop 1.8 x 2.2 their size (\"margin all "
        "round\"), turned up to 8 degrees, edges faded; or, for the close-up cases, "
        "enlarged 1.5-3.5x, turned up to 8 degrees, and the photo cut to a window of the "
        "face's frame: 0.7-1.2x the frame shifted up to 20 px (close-ups); one side of "
        "the photo from 2 px outside the box to 8 px into it (edge); 0.6-0.85 of the frame "
        "(larger); 4-30 px in from each side with the box inside (tight). The box is "
        "painted at the photo's pixels before the cut. The photo path finds each face, "
        "frames it, restores it, blends it back, and the result is mapped back into the "
        f"face's frame. Times: detection, framing, restoration and blending ({machine})."]
    if missed_all:
        lines += ["", f"Not found: {'; '.join(missed_all)}."]
    text = "\n".join(lines)
    print(text)
    if args.write:
        write_section("photos.py", "Your own photos (`benchmarks/photos.py`)", text)


if __name__ == "__main__":
    main()
