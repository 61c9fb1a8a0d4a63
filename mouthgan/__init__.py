"""mouthgan: the NLP-course mouth-restoration GAN, reproduced in Keras 3.

Data flows one way: files (``data``) -> arrays -> models (``models``) ->
training (``training``) -> predictions (``inpaint``) -> CSV (``export``) / report.
"""

__version__ = "0.2.0"


class MouthganError(Exception):
    """A user-facing problem: bad input, a missing file, a bad flag.

    Scripts print its message as one line and exit non-zero; no traceback.
    The message should name the file or flag and say what is wrong.
    """
