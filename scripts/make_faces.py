"""Make training faces from your own photos, in the data layout train.py reads.

The thin entry point of ``mouthgan.commands.make_faces``, installed as the command
``mouthgan-make-faces``; ``python scripts/make_faces.py --help`` lists its options.
"""

from mouthgan.util import cli  # first: quiet TensorFlow logging
from mouthgan.commands.make_faces import main

if __name__ == "__main__":
    cli.run(main)
