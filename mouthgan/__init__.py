"""mouthgan: the NLP-course mouth-restoration GAN, reproduced in Keras 3.

The package is layered, each subpackage importing only those before it in this list
(``tests/test_layout.py`` checks it, and that no module imports another in a cycle):

- ``config``: every setting of a run, its flags and presets;
- ``util``: the command-line plumbing, signals, the run directory;
- ``data``: faces on disk -> arrays and training batches;
- ``models``: the networks;
- ``inference``: a trained generator put to use: restore, the Kaggle CSV, photos,
  the web page, export;
- ``evaluation``: metrics, scores, realism, the report;
- ``training``: the trainer and its engines;
- ``lecture``: the lecture's DCGAN example, apart from the restorer;
- ``commands``: one module per command (``scripts/NAME.py``, ``mouthgan-NAME``).
"""

__version__ = "0.2.0"


class MouthganError(Exception):
    """A user-facing problem: bad input, a missing file, a bad flag.

    Scripts print its message as one line and exit non-zero; no traceback.
    The message should name the file or flag and say what is wrong.
    """
