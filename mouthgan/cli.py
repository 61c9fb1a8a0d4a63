"""What every script shares: one clear line on a user mistake, quiet TensorFlow."""

import os
import sys

# TensorFlow's C++ start-up chatter (oneDNN notice, "no CUDA") buries the one line
# that matters. Python-side warnings and exceptions are unaffected.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from mouthgan import MouthganError  # noqa: E402


def skip_matplotlib():
    """Keras imports matplotlib.pyplot at start-up when it is installed, for plotting
    helpers the export never uses (~0.5 s of a ~5 s export). A ``None`` entry in
    ``sys.modules`` makes that import fail, which Keras handles. Only for scripts that
    never plot; call it before anything imports Keras."""
    for name in ("matplotlib", "matplotlib.pyplot"):
        sys.modules.setdefault(name, None)


def run(main, argv=None):
    """Call ``main(argv)``; turn a MouthganError into ``error: ...`` and exit 2."""
    try:
        code = main(argv)
    except MouthganError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(code or 0)
