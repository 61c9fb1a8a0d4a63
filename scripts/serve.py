"""A local web page that restores the mouth in photos: drop photos, get each face

The thin entry point of ``mouthgan.commands.serve``, installed as the command
``mouthgan-serve``; ``python scripts/serve.py --help`` lists its options.
"""

from mouthgan.util import cli  # first: quiet TensorFlow logging
from mouthgan.commands.serve import main

if __name__ == "__main__":
    cli.run(main)
