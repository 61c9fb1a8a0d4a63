"""Export a generator, with its paste into the mouth box, for another runtime:

The thin entry point of ``mouthgan.commands.export_model``, installed as the command
``mouthgan-export-model``; ``python scripts/export_model.py --help`` lists its options.
"""

from mouthgan.util import cli  # first: quiet TensorFlow logging
from mouthgan.commands.export_model import main

if __name__ == "__main__":
    cli.run(main)
