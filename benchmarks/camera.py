"""A "new camera" made from the Validation faces, which anyone can rebuild: each face
downscaled to 70-90 px and back, through one camera's tone curve, with sensor noise and
JPEG, framed a few pixels and degrees off; then the mouth box painted. Scored aligned
(Kaggle RMSE, identity, mouth LMD) for Telea and each --model, and fine-tuning on it:
each model continued (``train.py --init``) on the faces of the first half of the people
and scored on the other half.

    python benchmarks/camera.py [--model bundled:default bundled:photo]
                                [--fine-tune bundled:default] [--minutes 10] [--write]
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
    text = ("\n".join(lines) + "\n\nThe new camera: each Validation face downscaled to "
            "70-90 px and back (bicubic), gamma 1.15, contrast 0.9, +6 grey levels, noise "
            "sigma 4, shifted up to 2 px, scaled 0.97-1.03, turned up to 3 degrees, JPEG "
            "quality 60; then the handout's box painted. Identity and mouth LMD as in the "
            "realism section; the people of the second half are never seen in "
            "fine-tuning.")
    if args.write:
        write_section("camera.py", "A new camera (`benchmarks/camera.py`)", text)


if __name__ == "__main__":
    main()
