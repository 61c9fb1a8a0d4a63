"""A "new camera" made from the Validation faces, which anyone can rebuild: each face
downscaled to 70-90 px and back, through one camera's tone curve, with sensor noise and
JPEG, framed a few pixels and degrees off; then the mouth box painted. Scored aligned
(Kaggle RMSE, identity, mouth LMD) for Telea and each --model; through the photo path
(each painted face at its camera's 70-90 px in a photo, restored by ``restore.py``'s
path, Telea inpainting the photo's painted pixels); and fine-tuning on it: each model
continued (``train.py --init``) on the faces of the first half of the people and scored
on the other half.

    python benchmarks/camera.py [--model bundled:default bundled:photo]
                                [--fine-tune bundled:default] [--minutes 10]
                                [--no-photos] [--write]
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_file import write_section  # noqa: E402
from shift import _affine, _jpeg, _noise, _pil_round_trip, _tone  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def new_camera(faces, seed=0):
    """The faces as another camera would give them (uint8 (n, 128, 128))."""
    rng = np.random.default_rng(seed)
    out = []
    for i, face in enumerate(faces):
        x = _pil_round_trip(face, rng.uniform(70, 90) / 128)
        x = np.clip(_tone(x, gamma=1.15, contrast=0.9, brightness=6), 0, 255).astype(np.uint8)
        x = np.clip(_noise(x, 4.0, seed * 100_000 + i), 0, 255).astype(np.uint8)
        x = _affine(x, shift=rng.uniform(-2, 2, 2), scale=rng.uniform(0.97, 1.03),
                    angle=rng.uniform(-3, 3))
        out.append(_jpeg(np.clip(x, 0, 255).astype(np.uint8), 60))
    return np.stack(out)


def painted(real):
    from mouthgan.data.faces import HOLE_BOX

    top, bottom, left, right = HOLE_BOX
    white = real.copy()
    white[:, top:bottom, left:right] = 255
    return white


def write_split(folder, real, names):
    from PIL import Image

    for role, images in (("Real", real), ("White", painted(real))):
        (folder / role).mkdir(parents=True)
        for name, image in zip(names, images):
            Image.fromarray(image).save(folder / role / f"{name}.png")


def through_photos(models, real, seed=0, case=None):
    """Each face placed at 70-90 px (its camera's size), turned up to 8 degrees, into a
    photo, the handout's box painted over its mouth in the photo, and restored there: by each model through the photo path, and by Telea
    inpainting the photo's painted pixels. Returns the faces found (indices) and, per
    restorer, each found face's frame as the restored photo shows it (0..1)."""
    import cv2
    from PIL import Image

    from mouthgan import MouthganError
    from mouthgan.data.faces import HOLE_BOX
    from mouthgan.inference.generators import load_generator, run_flip_average
    from mouthgan.inference.photos.detect import FaceDetector
    from mouthgan.inference.photos.framing import box_mask
    from placed_photos import inside_photo, placed_photo, seen_in_frame
    from mouthgan.inference.photos.pipeline import restore_photo

    from photos import make_photo, placements

    rng = np.random.default_rng(seed)
    if case is None:
        places = [(rng.uniform(70, 90) / 128, rng.uniform(-8, 8), rng.uniform(0.4, 0.6),
                   rng.uniform(0.4, 0.6)) for _ in real]
    else:  # close-ups: benchmarks/photos.py's windows of the face
        places = placements(len(real), seed, case)
    detector = FaceDetector()
    restorers = {m: (load_generator(m), run_flip_average(m)) for m in models}
    box = box_mask(HOLE_BOX).astype(np.uint8)
    frames, found = {"telea": [], **{m: [] for m in models}}, []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (face, where) in enumerate(zip(real, places)):
            photo, to_photo = (placed_photo(face, *where, seed=seed * 10_000 + i,
                                            paint=HOLE_BOX) if case is None else
                               make_photo(face, where, seed * 10_000 + i, case, paint=HOLE_BOX))
            path = Path(tmp) / f"{i}.png"
            Image.fromarray(photo).save(path)
            try:
                restored = {m: restore_photo(path, detector, g, "auto", flip).restored
                            for m, (g, flip) in restorers.items()}
            except MouthganError:
                continue
            found.append(i)
            hole = cv2.warpAffine(box, to_photo, photo.shape[::-1], flags=cv2.INTER_NEAREST)
            restored["telea"] = cv2.inpaint(photo, hole, 10, cv2.INPAINT_TELEA)
            for name, picture in restored.items():
                frame = seen_in_frame(picture, to_photo)
                # Outside the photo: the real face, so that only the box shown is scored.
                shown = inside_photo(photo.shape, to_photo)
                frames[name].append(np.where(shown, frame, face / 255.0))
    return found, {name: np.stack(f) for name, f in frames.items()}


def scores(judge, restored01):
    from mouthgan.evaluation.realism import to_uint8

    s = judge(to_uint8(restored01))
    return f"{s['rmse']:.4f} | {s['identity']:.3f} | {s['mouth_lmd']:.2f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", nargs="+", default=["bundled:default", "bundled:photo"])
    parser.add_argument("--fine-tune", nargs="*", default=["bundled:default"],
                        help="models to fine-tune on the first half and score on the second")
    parser.add_argument("--minutes", type=float, default=10.0, help="each fine-tuning's budget")
    parser.add_argument("--no-photos", action="store_true", help="skip the photo path's table")
    parser.add_argument("--close-ups", action="store_true",
                        help="the photo path's table on close-ups too (the photo 0.7-1.2x "
                             "the frame, cut on any side, as in benchmarks/photos.py)")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()

    from mouthgan.data.faces import load_dataset
    from mouthgan.data.holes import find_holes
    from mouthgan.evaluation.realism import RealismJudge
    from mouthgan.evaluation.report import telea_fill
    from mouthgan.inference.generators import load_generator, run_flip_average
    from mouthgan.inference.predict import restore
    from mouthgan.data.sample_data import default_cache_dir

    dataset = load_dataset(ROOT / "NLP_data", notes=lambda message: None)
    real = new_camera(dataset.validation.real)
    white = painted(real)
    half = len(real) // 2
    parts = {"all 282": slice(None), "second half (141)": slice(half, None)}
    judges = {k: RealismJudge(real[s], dataset.train.real, cache_dir=default_cache_dir())
              for k, s in parts.items()}
    holes = find_holes(white)
    lines = ["| restorer | faces | RMSE | identity ↓ | mouth LMD ↓ |", "| --- | --- | --- | --- | --- |"]

    def add(name, restored01, part):
        lines.append(f"| {name} | {part} | {scores(judges[part], restored01)} |")
        print(lines[-1], flush=True)

    telea = telea_fill(white, holes) / 255.0
    for part, s in parts.items():
        add("`cv2.inpaint` Telea", telea[s], part)
    for model in args.model:
        generator = load_generator(model)
        restored = restore(generator, white, holes, flip_average=run_flip_average(model))
        for part, s in parts.items():
            add(f"`{model}`", restored[s], part)
    photo_lines = []
    if not args.no_photos:
        from mouthgan.data.faces import HOLE_BOX
        from mouthgan.evaluation.realism import to_uint8
        from mouthgan.inference.photos.framing import box_mask

        for case in [None] + (["close-up"] if args.close_ups else []):
            found, frames = through_photos(args.model, real, case=case)
            box = box_mask(HOLE_BOX)
            truth = real[found] / 255.0
            judge = RealismJudge(real[found], dataset.train.real, cache_dir=default_cache_dir())
            box_rmse = {name: float(np.sqrt(np.mean((f[:, box] - truth[:, box]) ** 2)))
                        for name, f in frames.items()}
            where = ("each face placed at 70-90 px with a margin all round" if case is None
                     else "close-ups: each face enlarged 1.5-3.5x, the photo 0.7-1.2x its "
                          "frame, cut on any side (the frame outside the photo is scored as "
                          "the real face, for every restorer)")
            photo_lines += ["", f"Through the photo path, {where}: {len(found)} of {len(real)} "
                            "faces found; box RMSE over the handout's box in the face's frame, "
                            "the restored photo mapped back; identity and mouth LMD on that "
                            "frame.", "",
                            "| restorer | box RMSE | against Telea | identity ↓ | mouth LMD ↓ |",
                            "| --- | --- | --- | --- | --- |"]
            for name, f in frames.items():
                s = judge(to_uint8(f))
                label = "`cv2.inpaint` Telea, in the photo" if name == "telea" else f"`{name}`"
                photo_lines.append(f"| {label} | {box_rmse[name]:.4f} | "
                                   f"{1 - box_rmse[name] / box_rmse['telea']:+.1%} | "
                                   f"{s['identity']:.3f} | {s['mouth_lmd']:.2f} |")
                print(photo_lines[-1], flush=True)
    fine_tune_photo_lines = []
    for model in args.fine_tune or []:
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "camera"
            names = dataset.validation.names
            write_split(data / "Training", real[:half], names[:half])
            write_split(data / "Validation", real[half:], names[half:])
            run = Path(tmp) / "tuned"
            started = time.time()
            subprocess.run([sys.executable, str(ROOT / "scripts/train.py"), "--init", model,
                            "--data", str(data), "--time-budget", str(args.minutes),
                            "--batch-size", "16", "--run-dir", str(run), "--quiet"],
                           check=True, capture_output=True, cwd=tmp)
            minutes = (time.time() - started) / 60
            generator = load_generator(run)
            restored = restore(generator, white[half:], holes[half:],
                               flip_average=run_flip_average(run))
            add(f"`{model}` fine-tuned on the first half ({minutes:.1f} min, "
                f"`train.py --init {model} --time-budget {args.minutes:g} --batch-size 16`)",
                restored, "second half (141)")
            if not args.no_photos:
                # The fine-tuning's gain through the photo path: the second half's people
                # as close-ups, restored before and after.
                from mouthgan.data.faces import HOLE_BOX
                from mouthgan.inference.photos.framing import box_mask

                found, frames = through_photos([model, str(run)], real[half:], case="close-up")
                box, truth = box_mask(HOLE_BOX), real[half:][found] / 255.0
                rmse = {k: float(np.sqrt(np.mean((f[:, box] - truth[:, box]) ** 2)))
                        for k, f in frames.items()}
                fine_tune_photo_lines.append(
                    f"| `{model}` | {len(found)} of {len(real) - half} | {rmse['telea']:.4f} "
                    f"| {rmse[model]:.4f} ({1 - rmse[model] / rmse['telea']:+.1%}) "
                    f"| {rmse[str(run)]:.4f} ({1 - rmse[str(run)] / rmse['telea']:+.1%}) |")
                print(fine_tune_photo_lines[-1], flush=True)
    if fine_tune_photo_lines:
        photo_lines += ["", "Fine-tuning's gain through the photo path: the second half's "
                        "people as close-ups (as above), box RMSE and how much lower than "
                        "Telea's:", "", "| model | faces found | Telea | before fine-tuning "
                        "| after |", "| --- | --- | --- | --- | --- |"] + fine_tune_photo_lines
    text = ("\n".join(lines + photo_lines) + "\n\nThe new camera: each Validation face "
            "downscaled to 70-90 px and back (bicubic), gamma 1.15, contrast 0.9, +6 grey "
            "levels, noise sigma 4, shifted up to 2 px, scaled 0.97-1.03, turned up to 3 "
            "degrees, JPEG quality 60; then the handout's box painted. In the photos each "
            "face is placed at 70-90 px, turned up to 8 degrees, on a textured backdrop "
            "(as in `benchmarks/photos.py`), and the box painted over its mouth at the "
            "photo's pixels. \"Against Telea\": how much lower the box RMSE is than "
            "Telea's. Identity and mouth LMD as in the "
            "realism section; the people of the second half are never seen in fine-tuning.")
    if args.write:
        write_section("camera.py", "A new camera (`benchmarks/camera.py`)", text)


if __name__ == "__main__":
    main()
