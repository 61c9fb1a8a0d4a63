"""How the restorers hold up on faces unlike the training faces: the Validation faces
under the changes real photos bring, the hole painted where the handout paints it.

    python benchmarks/shift.py --model default=RUN[,RUN...] [--model best=RUN,...]
                               [--model "default x3=RUN+RUN+RUN"] [--write]

Each row changes the real Validation faces (gamma, contrast, brightness, blur, lower
resolution brought back to 128, sensor noise, JPEG, a few pixels of shift, a little
scale, a few degrees of rotation), then paints the handout's box white on them: that is
the input, the changed real face the answer. Scored as the Kaggle CSV is: RMSE over all
pixels, 0..1, prediction pasted into the box. Several runs of one model (its seeds) give
their mean; runs joined by + are one restorer, the mean of their predictions (an
ensemble); identity is the white image itself, Telea is OpenCV's classical inpainting
(radius 10).
"""

import argparse
import io
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from mouthgan.util import cli  # noqa: E402
from results_file import write_section  # noqa: E402


def _pil_round_trip(face, scale):
    from PIL import Image

    small = Image.fromarray(face).resize((int(128 * scale),) * 2, Image.BICUBIC)
    return np.asarray(small.resize((128, 128), Image.BICUBIC))


def _jpeg(face, quality):
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(face).save(buffer, format="JPEG", quality=quality)
    return np.asarray(Image.open(buffer))


def _affine(face, shift=0.0, scale=1.0, angle=0.0):
    import cv2

    matrix = cv2.getRotationMatrix2D((63.5, 63.5), angle, scale)
    matrix[:, 2] += shift
    return cv2.warpAffine(face, matrix, (128, 128), flags=cv2.INTER_CUBIC,
                          borderMode=cv2.BORDER_REPLICATE)


def _blur(face, sigma):
    import cv2

    return cv2.GaussianBlur(face, (0, 0), sigma)


def _noise(face, sigma, seed):
    rng = np.random.default_rng(seed)
    return face.astype(np.float32) + rng.normal(0, sigma, face.shape)


def _tone(face, gamma=1.0, contrast=1.0, brightness=0.0):
    x = (face.astype(np.float32) / 255.0) ** gamma * 255.0
    x = (x - x.mean()) * contrast + x.mean() + brightness
    return x


# name -> how one face (uint8 (128, 128)) changes; index i seeds what is random
SHIFTS = {
    "none": lambda f, i: f,
    "gamma 0.7": lambda f, i: _tone(f, gamma=0.7),
    "gamma 1.4": lambda f, i: _tone(f, gamma=1.4),
    "contrast 0.7": lambda f, i: _tone(f, contrast=0.7),
    "contrast 1.3": lambda f, i: _tone(f, contrast=1.3),
    "brightness -30": lambda f, i: _tone(f, brightness=-30),
    "brightness +30": lambda f, i: _tone(f, brightness=30),
    "blur sigma 1": lambda f, i: _blur(f, 1.0),
    "from 64 px": lambda f, i: _pil_round_trip(f, 0.5),
    "noise sigma 8": lambda f, i: _noise(f, 8, i),
    "JPEG q60": lambda f, i: _jpeg(f, 60),
    "JPEG q30": lambda f, i: _jpeg(f, 30),
    "shift 4 px": lambda f, i: _affine(f, shift=(4, 3) if i % 2 else (-4, -3)),
    "scale 1.08": lambda f, i: _affine(f, scale=1.08),
    "scale 0.93": lambda f, i: _affine(f, scale=0.93),
    "rotation 5": lambda f, i: _affine(f, angle=5 if i % 2 else -5),
}


def shifted_set(reals, name):
    """(whites, truths) uint8 (n, 128, 128) for one row: the changed faces, painted."""
    from mouthgan.data.faces import HOLE_BOX

    top, bottom, left, right = HOLE_BOX
    truths = np.stack([np.clip(np.round(SHIFTS[name](face, i)), 0, 255).astype(np.uint8)
                       for i, face in enumerate(reals)])
    whites = truths.copy()
    whites[:, top:bottom, left:right] = 255
    return whites, truths


def scores(reals, predictors):
    """{row: {predictor: RMSE}} over every row of SHIFTS."""
    from mouthgan.data.faces import HOLE_BOX
    from mouthgan.inference.photos.framing import box_mask

    holes = box_mask(HOLE_BOX)
    table = {}
    for name in SHIFTS:
        whites, truths = shifted_set(reals, name)
        truth = truths.astype(np.float32) / 255.0
        table[name] = {}
        for label, predict in predictors.items():
            restored = predict(whites, holes)
            table[name][label] = float(np.sqrt(np.mean((restored - truth) ** 2)))
    return table


def predictors_from(models):
    """identity, Telea, and each named model (the mean score of its runs)."""
    import cv2

    from mouthgan.inference.generators import load_generators, runs_flip_average
    from mouthgan.inference.predict import restore

    def identity(whites, holes):
        return whites.astype(np.float32) / 255.0

    def telea(whites, holes):
        mask = holes.astype(np.uint8)
        return np.stack([cv2.inpaint(w, mask, 10, cv2.INPAINT_TELEA) for w in whites]) / 255.0

    predictors = {"identity (white image)": identity, "Telea": telea}
    for name, runs in models.items():
        for k, members in enumerate(runs):
            # Keras, not the NumPy runtime: the wide G runs 16 x 282 faces here
            generator = load_generators(members, runtime="keras")
            predictors[(name, k)] = (
                lambda whites, holes, g=generator, f=runs_flip_average(members):
                restore(g, whites, holes=np.stack([holes] * len(whites)), flip_average=f))
    return predictors


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", default=[], metavar="NAME=RUN[,RUN...]",
                        help="a model's runs (its seeds), their scores averaged; RUN+RUN+... "
                        "is one restorer that averages those runs' predictions (an "
                        "ensemble); repeat for more models")
    parser.add_argument("--data", default="NLP_data")
    parser.add_argument("--write", action="store_true", help="update RESULTS.md")
    args = parser.parse_args()
    models = {}
    for spec in args.model:
        name, _, runs = spec.partition("=")
        models[name] = [group.split("+") for group in runs.split(",")]
    cli.import_tensorflow()
    from mouthgan.data.faces import load_folder

    reals, _ = load_folder(Path(args.data) / "Validation" / "Real", notes=lambda _: None)
    table = scores(reals, predictors_from(models))
    columns = ["identity (white image)", "Telea"] + list(models)

    def cell(row, column):
        if column in models:
            values = [row[(column, k)] for k in range(len(models[column]))]
            return np.mean(values), (f"{np.mean(values):.4f}" + (
                f" ({min(values):.4f}-{max(values):.4f})" if len(values) > 1 else ""))
        return row[column], f"{row[column]:.4f}"

    lines = ["| change | " + " | ".join(
        c + (f" ({len(models[c])} run{'s' * (len(models[c]) > 1)})" if c in models else "")
        for c in columns) + " |",
        "|" + " --- |" * (len(columns) + 1)]
    means = {c: [] for c in columns}
    for name, row in table.items():
        cells = []
        for c in columns:
            value, text = cell(row, c)
            cells.append(text)
            if name != "none":
                means[c].append(value)
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("| **mean of the changes** | " + " | ".join(
        f"**{np.mean(means[c]):.4f}**" for c in columns) + " |")
    text = "\n".join(
        [f"{len(reals)} Validation faces per row; Kaggle RMSE (all pixels, pasted), 0..1. "
         "A model's cell is the mean over its runs (lowest-highest).", ""] + lines)
    print(text)
    if args.write:
        write_section("shift.py", "Faces unlike the training faces (`benchmarks/shift.py`)",
                      text)


if __name__ == "__main__":
    main()
