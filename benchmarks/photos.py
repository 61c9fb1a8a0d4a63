"""The photo path (scripts/restore.py) against the aligned path, on faces whose truth is
known: Validation faces, mouth painted white, placed into larger photos (enlarged,
turned a few degrees, shifted, on a textured backdrop, edges faded).

    python benchmarks/photos.py [--model runs/latest] [--faces 60] [--write]

For each placed face: was it found; the RMSE over the handout's box, in the face's own
128x128 frame, of (a) the restored photo mapped back to that frame, (b) the aligned
path (the model on the 128x128 white image, as image_to_csv.py runs it), both against
the real face; (c) the real face placed and mapped back the same way, unrestored: what
the two resamplings alone cost; and the time per photo. Pixel values 0..1.
"""

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from mouthgan import cli  # noqa: E402
from results_file import write_section  # noqa: E402


def placements(n, seed=0):
    """(scale, angle, centre fraction x, y) of each placed face, drawn once per seed."""
    rng = np.random.default_rng(seed)
    return [(rng.uniform(1.2, 3.0), rng.uniform(-8, 8), rng.uniform(0.4, 0.6),
             rng.uniform(0.4, 0.6)) for _ in range(n)]


def measure(model, n_faces, data="NLP_data", seed=0, hole="auto"):
    from PIL import Image

    from mouthgan.data import HOLE_BOX, load_folder
    from mouthgan.inpaint import load_generator, restore, run_flip_average
    from mouthgan.photos import (FaceDetector, box_mask, placed_photo, restore_photo,
                                 seen_in_frame)

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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="runs/latest")
    parser.add_argument("--faces", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0, help="draws the placements")
    parser.add_argument("--data", default="NLP_data")
    parser.add_argument("--write", action="store_true", help="update RESULTS.md")
    args = parser.parse_args()
    cli.import_tensorflow()
    rows, times, missed = measure(args.model, args.faces, args.data, args.seed)
    found = len(rows)
    isa = os.environ.get("ONEDNN_MAX_CPU_ISA")
    machine = (f"oneDNN limited to {isa}" if isa else "oneDNN unrestricted") + \
        f", {os.cpu_count()} cores"
    text = "\n".join([
        f"{found} of {args.faces} placed faces found (model `{args.model}`). RMSE over "
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
