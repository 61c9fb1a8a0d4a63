"""Write a data folder's training pairs as sharded TFRecords, for slow or remote storage.

    python scripts/make_tfrecords.py --data NLP_data --out NLP_records [--shards 8]
    python scripts/train.py --data NLP_records

The pairs are read as training reads them (gray, 128x128), stored as PNGs with their
hole's box, and dealt round-robin into the shards; Validation/ and Test/ are copied
beside them. Training from records reads each epoch's pairs in a seeded order through
a shuffle buffer (docs/training.md).
"""

import argparse
from pathlib import Path

from mouthgan import MouthganError
from mouthgan.util import cli


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="NLP_data", help="data folder (default: NLP_data)")
    parser.add_argument("--out", required=True, help="the new records folder")
    parser.add_argument("--shards", type=int, default=8, help="files to deal the pairs into")
    args = parser.parse_args(argv)
    if args.shards < 1:
        raise MouthganError(f"--shards must be >= 1, got {args.shards}")
    if not Path(args.data).is_dir():
        raise MouthganError(f"{args.data}: data folder not found")
    cli.import_tensorflow()
    from mouthgan.data.records import write_records

    count, shards = write_records(args.data, args.out, args.shards)
    print(f"{args.out}: {count} training pairs in {shards} shards")
    return 0



def entry():
    """The console command ``mouthgan-make-tfrecords``."""
    cli.run(main)
