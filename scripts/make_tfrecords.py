"""Write a data folder's training pairs as sharded TFRecords, for slow or remote storage.

The thin entry point of ``mouthgan.commands.make_tfrecords``, installed as the command
``mouthgan-make-tfrecords``; ``python scripts/make_tfrecords.py --help`` lists its options.
"""

from mouthgan.util import cli  # first: quiet TensorFlow logging
from mouthgan.commands.make_tfrecords import main

if __name__ == "__main__":
    cli.run(main)
