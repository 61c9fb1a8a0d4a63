"""Train the mouth-restoration GAN: the handout's network and loop, on NLP_data/.

The thin entry point of ``mouthgan.commands.train``, installed as the command
``mouthgan-train``; ``python scripts/train.py --help`` lists its options.
"""

from mouthgan.util import cli  # first: quiet TensorFlow logging
from mouthgan.commands.train import main

if __name__ == "__main__":
    cli.run(main)
