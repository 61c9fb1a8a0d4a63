"""Restore the mouth in your own photos: every face found, framed as the training faces

The thin entry point of ``mouthgan.commands.restore``, installed as the command
``mouthgan-restore``; ``python scripts/restore.py --help`` lists its options.
"""

from mouthgan.util import cli  # first: quiet TensorFlow logging
from mouthgan.commands.restore import main

if __name__ == "__main__":
    cli.run(main)
