"""Score a Kaggle CSV against answer images: the Kaggle RMSE, and more beside it.

The thin entry point of ``mouthgan.commands.score``, installed as the command
``mouthgan-score``; ``python scripts/score.py --help`` lists its options.
"""

from mouthgan.util import cli  # first: quiet TensorFlow logging
from mouthgan.commands.score import main

if __name__ == "__main__":
    cli.run(main)
