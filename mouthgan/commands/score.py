"""Score a Kaggle CSV against answer images: the Kaggle RMSE, and more beside it.

    python scripts/score.py Predict.csv --answers NLP_data/Test/Real [--whites DIR] [--json]

RMSE over all values is the Kaggle metric. With the white images (default: the
answers' sibling White folder) it also reports RMSE inside and outside the hole and the
white-image baseline on the same answers, PSNR and SSIM (``tf.image``'s formulas; no
TensorFlow is loaded).
"""

import argparse
import json
import sys
from pathlib import Path

from mouthgan import MouthganError
from mouthgan.util import cli


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", help="the predictions, in the Kaggle format")
    parser.add_argument("--answers", default="NLP_data/Test/Real",
                        help="folder of the real images, in the CSV's column order (sorted)")
    parser.add_argument("--whites", default=None,
                        help="folder of the white images (default: <answers>/../White)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args(argv)

    from mouthgan.evaluation import metrics
    from mouthgan.data.faces import load_folder
    from mouthgan.inference.kaggle_csv import read_csv
    from mouthgan.data.holes import find_holes

    def note(message):  # stderr: --json output on stdout stays parseable
        print(message, file=sys.stderr)

    answers, names = load_folder(args.answers, notes=note)
    shape = answers.shape[1:]
    predicted = read_csv(args.csv, len(answers), shape).reshape(answers.shape)
    real01 = answers / 255.0

    whites_dir = Path(args.whites) if args.whites else Path(args.answers).parent / "White"
    result = {"csv": str(args.csv), "images": len(answers)}
    if whites_dir.is_dir():
        whites, white_names = load_folder(whites_dir, shape[0], notes=note)
        if white_names != names:
            raise MouthganError(f"{whites_dir}: names differ from {args.answers} "
                                f"({white_names[:3]} vs {names[:3]})")
        holes = find_holes(whites)
        result["prediction"] = metrics.report(predicted, real01, holes)
        result["white_baseline"] = metrics.report(whites / 255.0, real01, holes)
    else:
        result["prediction"] = {"rmse": metrics.rmse(predicted, real01),
                                "psnr": metrics.psnr(predicted, real01),
                                "ssim": metrics.ssim(predicted, real01)}

    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{args.csv}: {len(answers)} images")
    for label, key in (("prediction", "prediction"), ("white image (baseline)", "white_baseline")):
        if key in result:
            print(f"  {label:<24} " + "  ".join(_fmt(k, v) for k, v in result[key].items()))
    return 0


def _fmt(key, value):
    names = {"rmse": "RMSE (Kaggle)", "rmse_hole": "hole RMSE", "rmse_outside": "outside RMSE",
             "psnr": "PSNR", "ssim": "SSIM"}
    return f"{names[key]} {value:.5f}" if key != "psnr" else f"PSNR {value:.2f} dB"



def entry():
    """The console command ``mouthgan-score``."""
    cli.run(main)
