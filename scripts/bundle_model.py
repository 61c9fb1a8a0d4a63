"""Ship a run's generator inside the package: mouthgan/inference/weights/NAME.keras (weights in

The thin entry point of ``mouthgan.commands.bundle_model``, installed as the command
``mouthgan-bundle-model``; ``python scripts/bundle_model.py --help`` lists its options.
"""

from mouthgan.util import cli  # first: quiet TensorFlow logging
from mouthgan.commands.bundle_model import main

if __name__ == "__main__":
    cli.run(main)
