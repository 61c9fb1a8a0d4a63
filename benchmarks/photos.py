"""The photo path (scripts/restore.py) against the aligned path, on faces whose truth is
known: Validation faces, mouth painted white, placed into larger photos (enlarged,
turned a few degrees, shifted, on a textured backdrop, edges faded).

    python benchmarks/photos.py [--model runs/latest] [--faces 60] [--write]
                                [--picture PHOTO OUT.png]

For each placed face: was it found; the RMSE over the handout's box, in the face's own
128x128 frame, of (a) the restored photo mapped back to that frame, (b) the aligned
path (the model on the 128x128 white image, as image_to_csv.py runs it), both against
the real face; (c) the real face placed and mapped back the same way, unrestored: what
the two resamplings alone cost; and the time per photo. Pixel values 0..1.

``--picture PHOTO OUT.png`` also paints the handout's box over the mouth of a real photo
(where the framing puts it), restores it, and writes [photo, painted, restored by each
``--model``] cropped to the face: the README's picture, from a public-domain photo (NASA's portrait of Eileen
Collins, which scikit-image ships as ``skimage/data/astronaut.png``).
"""

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from mouthgan.util import cli  # noqa: E402
from results_file import write_section  # noqa: E402


def placements(n, seed=0):
    """(scale, angle, centre fraction x, y) of each placed face, drawn once per seed."""
    rng = np.random.default_rng(seed)
    return [(rng.uniform(1.2, 3.0), rng.uniform(-8, 8), rng.uniform(0.4, 0.6),
             rng.uniform(0.4, 0.6)) for _ in range(n)]


def measure(model, n_faces, data="NLP_data", seed=0, hole="auto"):
    from PIL import Image

    from mouthgan.data.faces import HOLE_BOX, load_folder
    from mouthgan.inference.generators import load_generator, run_flip_average
    from mouthgan.inference.predict import restore
    from mouthgan.inference.photos import (FaceDetector, box_mask, placed_photo,
                                           restore_photo, seen_in_frame)

    whites, stems = load_folder(Path(data) / "Validation" / "White", notes=lambda _: None)
    reals, _ = load_folder(Path(data) / "Validation" / "Real", notes=lambda _: None)
    whites, reals = whites[:n_faces], reals[:n_faces]
    generator = load_generator(model, runtime="auto")
    flip = run_flip_average(model)
    detector = FaceDetector()
    box = box_mask(HOLE_BOX)
    aligned = restore(generator, whites, flip_average=flip)
    rows, times, missed = [], [], []
    folder = Path("/tmp") / f"mouthgan-photos-bench-{seed}"
    folder.mkdir(exist_ok=True)
    for i, (white, real, where) in enumerate(zip(whites, reals, placements(n_faces, seed))):
        photo, to_photo = placed_photo(white, *where, seed=seed * 10_000 + i)
        path = folder / f"{stems[i]}.png"
        Image.fromarray(photo).save(path)
        unrestored, _ = placed_photo(real, *where, seed=seed * 10_000 + i)
        start = time.perf_counter()
        try:
            result = restore_photo(path, detector, generator, hole, flip)
        except Exception as exc:  # noqa: BLE001  a missed face is a figure here
            missed.append(f"{stems[i]} ({str(exc).split(': ', 1)[-1]})")
            continue
        times.append(time.perf_counter() - start)
        truth = real / 255.0
        photo_path = seen_in_frame(result.restored, to_photo)
        rmse = lambda a, b: float(np.sqrt(np.mean((a[box] - b[box]) ** 2)))  # noqa: E731
        rows.append((rmse(photo_path, truth), rmse(aligned[i], truth),
                     rmse(photo_path, aligned[i]), rmse(seen_in_frame(unrestored, to_photo), truth)))
    return np.array(rows), np.array(times), missed


def picture(models, photo, out):
    """[photo, painted, restored by each model], cropped around the face, as one PNG."""
    import tempfile

    import cv2
    from PIL import Image

    from mouthgan.inference.generators import load_generator, run_flip_average
    from mouthgan.inference.photos import FaceDetector, box_mask, read_photo, restore_photo

    detector = FaceDetector()
    rgb, _ = read_photo(photo)
    face = next(f for f in detector.find(rgb) if not f.problem)
    box = box_mask(detector.template["hole_box"]).astype(np.uint8)
    to_photo = cv2.invertAffineTransform(face.to_frame)
    painted = rgb.copy()
    painted[cv2.warpAffine(box, to_photo, rgb.shape[1::-1], flags=cv2.INTER_NEAREST) > 0] = 255
    results = []
    with tempfile.TemporaryDirectory() as folder:
        painted_file = Path(folder) / "painted.png"
        Image.fromarray(painted).save(painted_file)
        for model in models:
            results.append(restore_photo(painted_file, detector, load_generator(model),
                                         "white", run_flip_average(model)))
    # The crop: the frame's square, 1.3 times larger, in the photo.
    corners = np.array([[0, 0, 1], [128, 0, 1], [0, 128, 1], [128, 128, 1]], np.float64)
    xs, ys = (corners @ to_photo.T).T
    cx, cy, half = xs.mean(), ys.mean(), 0.65 * (xs.max() - xs.min())
    top, left = max(0, int(cy - half)), max(0, int(cx - half))
    bottom, right = int(cy + half), int(cx + half)
    restored = [r.restored if r.colour else np.stack([r.restored] * 3, -1) for r in results]
    panels = [image[top:bottom, left:right] for image in (rgb, painted, *restored)]
    gap = np.full((panels[0].shape[0], 6, 3), 255, np.uint8)
    strip = np.concatenate([part for panel in panels for part in (gap, panel)][1:], axis=1)
    Image.fromarray(strip).save(out)
    print(f"{out}: {strip.shape[1]}x{strip.shape[0]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", help="a run or .keras file (default "
                        "runs/latest); more than once: --picture shows each, the table "
                        "measures the first")
    parser.add_argument("--faces", type=int, default=60, help="placed faces (0: none)")
    parser.add_argument("--seed", type=int, default=0, help="draws the placements")
    parser.add_argument("--data", default="NLP_data")
    parser.add_argument("--write", action="store_true", help="update RESULTS.md")
    parser.add_argument("--picture", nargs=2, metavar=("PHOTO", "OUT"),
                        help="also write the README's picture of PHOTO restored")
    args = parser.parse_args()
    models = args.model or ["runs/latest"]
    cli.import_tensorflow()
    if args.picture:
        picture(models, *args.picture)
    if not args.faces:
        return
    rows, times, missed = measure(models[0], args.faces, args.data, args.seed)
    found = len(rows)
    isa = os.environ.get("ONEDNN_MAX_CPU_ISA")
    machine = (f"oneDNN limited to {isa}" if isa else "oneDNN unrestricted") + \
        f", {os.cpu_count()} cores"
    text = "\n".join([
        f"{found} of {args.faces} placed faces found (model `{models[0]}`). RMSE over "
        "the handout's box in the face's own frame, 0..1, mean over the faces found:",
        "",
        "| path | RMSE vs the real mouth |",
        "| --- | --- |",
        f"| photo path: found, framed, restored, blended back, mapped back | "
        f"{rows[:, 0].mean():.4f} |",
        f"| aligned path: the model on the 128x128 white image | {rows[:, 1].mean():.4f} |",
        f"| no restoration, the real mouth resampled twice (the floor) | "
        f"{rows[:, 3].mean():.4f} |",
        "",
        f"Photo path against aligned path: RMSE {rows[:, 2].mean():.4f} mean, "
        f"{np.percentile(rows[:, 2], 90):.4f} at the 90th percentile, "
        f"{rows[:, 2].max():.4f} at worst. Time per photo (detection, framing, "
        f"restoration, blending; {found} photos of "
        f"{int(128 * 1.2 * 1.8)}x{int(128 * 1.2 * 2.2)} to {int(128 * 3 * 1.8)}x"
        f"{int(128 * 3 * 2.2)} px; {machine}): median {np.median(times):.2f} s.",
    ] + ([f"\nNot found: {', '.join(missed)}."] if missed else []))
    print(text)
    if args.write:
        write_section("photos.py", "Your own photos (`benchmarks/photos.py`)", text)


if __name__ == "__main__":
    main()
