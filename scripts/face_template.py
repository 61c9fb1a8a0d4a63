"""Measure the training framing: where the detector finds eyes, nose and mouth corners

The thin entry point of ``mouthgan.commands.face_template``, installed as the command
``mouthgan-face-template``; ``python scripts/face_template.py --help`` lists its options.
"""

from mouthgan.util import cli  # first: quiet TensorFlow logging
from mouthgan.commands.face_template import main

if __name__ == "__main__":
    cli.run(main)
