"""Ship a run's generator inside the package: mouthgan/inference/weights/NAME.keras (weights in
float16) and its model card NAME.json, with the figures measured on the bundled file.

    python scripts/bundle_model.py RUN --name NAME --summary "what it is for"
                                   [--data NLP_data] [--no-realism]

The card holds the command that trained the run (its preset and the flags that differ
from it), the run's settings, its Validation and Test RMSE as bundled and before
halving, and (unless --no-realism) FFD, identity and mouth LMD on Validation.
"""

import argparse
from pathlib import Path

from mouthgan.util import cli


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="a finished run directory of scripts/train.py")
    parser.add_argument("--name", required=True, help="the bundled model's name")
    parser.add_argument("--summary", required=True, help="one phrase: what it is for")
    parser.add_argument("--data", default="NLP_data", help="the data to score it on")
    parser.add_argument("--no-realism", action="store_true",
                        help="skip the realism figures (they need the realism extra)")
    args = parser.parse_args(argv)

    from mouthgan.evaluation.model_card import write_bundle

    card = write_bundle(Path(args.run), args.name, args.summary, Path(args.data),
                        realism=not args.no_realism)
    print(f"{card['file']}: {card['size_bytes'] / 1e6:.1f} MB; Validation RMSE "
          f"{card['scores']['validation_rmse']:.4f} (float32: "
          f"{card['scores']['validation_rmse_float32']:.4f})")



def entry():
    """The console command ``mouthgan-bundle-model``."""
    cli.run(main)
