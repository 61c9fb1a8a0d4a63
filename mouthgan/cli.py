"""What every script shares: one clear line on a user mistake or a signal, quiet
TensorFlow start-up."""

import os
import re
import sys
import tempfile

# TensorFlow's C++ log off unless the user chose a level: on a CPU machine it says a
# failed CUDA probe and grappler's internal retries at ERROR level, none of it the
# user's to act on; a real failure reaches Python as an exception. Python's warnings
# (Keras's and ours) are untouched.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# Start-up notices are INFO lines: hidden unless the user asked for INFO (level 0).
QUIET_TF = os.environ["TF_CPP_MIN_LOG_LEVEL"] != "0"

from mouthgan import MouthganError  # noqa: E402
from mouthgan import signals  # noqa: E402

# TensorFlow's start-up notices (the oneDNN note, the CUDA probe on a CPU machine) are
# logged before its C++ logging reads TF_CPP_MIN_LOG_LEVEL, so the variable cannot hide
# them: an INFO line ("I1202 05:23:15.000 ...") and absl's note about early messages.
STARTUP_NOTICE = re.compile(r"^(I\d{4} |WARNING: All log messages before absl::InitializeLog)")


def import_tensorflow():
    """Import TensorFlow and Keras with their start-up notices hidden (unless the user
    set TF_CPP_MIN_LOG_LEVEL=0); every other line they print, warnings and errors, is
    passed on. C++ writes to file descriptor 2 directly, so that is what is captured."""
    if not QUIET_TF or "tensorflow" in sys.modules:
        import keras  # noqa: F401
        import tensorflow  # noqa: F401
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import keras  # noqa: F401
            import tensorflow  # noqa: F401
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            for line in captured.read().decode(errors="replace").splitlines(keepends=True):
                if not STARTUP_NOTICE.match(line):
                    sys.stderr.write(line)


def skip_matplotlib():
    """Keras imports matplotlib.pyplot at start-up when it is installed, for plotting
    helpers the export never uses (~0.5 s of a ~5 s export). A ``None`` entry in
    ``sys.modules`` makes that import fail, which Keras handles. Only for scripts that
    never plot; call it before anything imports Keras."""
    for name in ("matplotlib", "matplotlib.pyplot"):
        sys.modules.setdefault(name, None)


def run(main, argv=None):
    """Call ``main(argv)`` with SIGINT and SIGTERM handled (``mouthgan.signals``): a
    MouthganError prints ``error: ...`` and exits 2; a signal prints what was saved and
    exits 130 (SIGINT) or 143 (SIGTERM)."""
    signals.install()
    try:
        code = main(argv)
    except MouthganError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except signals.Interrupted as exc:
        print(str(exc), file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:  # a handler someone else installed raised it
        print("SIGINT: stopped", file=sys.stderr)
        sys.exit(130)
    except OSError as exc:
        # A file the system would not read or write (no space, no permission, a file
        # where a folder should be): the file and the reason, not a traceback.
        if exc.filename is None:
            raise
        print(f"error: {exc.filename}: {exc.strerror or exc}", file=sys.stderr)
        sys.exit(2)
    except MemoryError:
        print("error: out of memory; try a smaller --batch-size", file=sys.stderr)
        sys.exit(2)
    sys.exit(code or 0)
