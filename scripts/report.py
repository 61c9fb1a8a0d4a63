"""Write the graded report of a training run: RUN_DIR/report.md and RUN_DIR/report.html.

The thin entry point of ``mouthgan.commands.report``, installed as the command
``mouthgan-report``; ``python scripts/report.py --help`` lists its options.
"""

from mouthgan.util import cli  # first: quiet TensorFlow logging
from mouthgan.commands.report import main

if __name__ == "__main__":
    cli.run(main)
