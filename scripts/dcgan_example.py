"""The lecture's Keras GAN example: 100-d noise -> 28x28 images (handout part 2).

The thin entry point of ``mouthgan.commands.dcgan_example``, installed as the command
``mouthgan-dcgan-example``; ``python scripts/dcgan_example.py --help`` lists its options.
"""

from mouthgan.util import cli  # first: quiet TensorFlow logging
from mouthgan.commands.dcgan_example import main

if __name__ == "__main__":
    cli.run(main)
