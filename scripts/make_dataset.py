"""Build the default data (992 aligned CelebA faces) into NLP_data/.

The thin entry point of ``mouthgan.commands.make_dataset``, installed as the command
``mouthgan-make-dataset``; ``python scripts/make_dataset.py --help`` lists its options.
"""

from mouthgan.util import cli  # first: quiet TensorFlow logging
from mouthgan.commands.make_dataset import main

if __name__ == "__main__":
    cli.run(main)
