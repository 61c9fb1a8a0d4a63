"""Predict the test images and write the Kaggle CSV (the handout's image_to_csv.py).

The thin entry point of ``mouthgan.commands.image_to_csv``, installed as the command
``mouthgan-image-to-csv``; ``python scripts/image_to_csv.py --help`` lists its options.
"""

from mouthgan.util import cli  # first: quiet TensorFlow logging
from mouthgan.commands.image_to_csv import main

if __name__ == "__main__":
    cli.run(main)
