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
from mouthgan.util import signals  # noqa: E402

# TensorFlow's start-up notices (the oneDNN note, the CUDA probe on a CPU machine) are
# logged before its C++ logging reads TF_CPP_MIN_LOG_LEVEL, so the variable cannot hide
# them: an INFO line ("I1202 05:23:15.000 ...") and absl's note about early messages.
STARTUP_NOTICE = re.compile(r"^(I\d{4} |WARNING: All log messages before absl::InitializeLog)")


# Lines TensorFlow's C++ writes at ERROR level on ordinary machines, with its logging
# not yet initialised so that TF_CPP_MIN_LOG_LEVEL does not reach them: the CUDA probe
# of a machine with CUDA libraries and no GPU, and Grappler's remapper giving up on one
# rewrite of the graph (it runs the graph unrewritten). A user reads "error" and thinks
# the run broke; neither is theirs to act on.
NATIVE_NOISE = re.compile(r"^E\d{4} .*(failed call to cuInit|remapper failed: "
                          r".*Mutation::Apply error)")


def filter_native_stderr():
    """Pass what C++ code writes to file descriptor 2 through a thread that drops the
    ``NATIVE_NOISE`` lines; Python's own ``sys.stderr`` writes straight to the terminal
    (a copy of the descriptor), so a message printed just before exit is never held up.
    At exit the descriptor is restored and what is pending is passed on; the function
    that does it is returned (None when nothing was filtered). Not when the user asked
    for TensorFlow's every line (TF_CPP_MIN_LOG_LEVEL=0)."""
    if not QUIET_TF:
        return None
    import atexit
    import threading

    sys.stderr.flush()
    terminal = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    sys.stderr = open(terminal, "w", buffering=1, encoding=sys.stderr.encoding,
                      errors="backslashreplace", closefd=False)

    def pass_on():
        with open(read_end, "rb") as native:
            for line in native:
                if not NATIVE_NOISE.match(line.decode(errors="replace")):
                    os.write(terminal, line)

    thread = threading.Thread(target=pass_on, name="native-stderr", daemon=True)
    thread.start()

    def restore():
        os.dup2(terminal, 2)  # the pipe's last writer closes: the thread reads its end
        thread.join(timeout=2)

    atexit.register(restore)
    return restore


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
    """Call ``main(argv)`` with SIGINT and SIGTERM handled (``mouthgan.util.signals``): a
    MouthganError prints ``error: ...`` and exits 2; a signal prints what was saved and
    exits 130 (SIGINT) or 143 (SIGTERM)."""
    signals.install()
    restore_stderr = filter_native_stderr()
    try:
        code = main(argv)
    except MouthganError as exc:
        print(f"error: {exc}", file=sys.stderr)
        leave(2, exc, restore_stderr)
    except signals.Interrupted as exc:
        print(str(exc), file=sys.stderr)
        leave(exc.exit_code, exc, restore_stderr)
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


def leave(code, exc, restore_stderr):
    """Exit with ``code``; at once, without Python's and TensorFlow's teardown, when the
    error says so (``exc.skip_teardown``: a multi-worker worker whose exchanges with a
    lost peer were aborted). That teardown can wait on the lost peer: an input
    pipeline's thread held the exit for 18-34 s after the worker's last line. What the
    run needs is written by then (history.csv is flushed every step, the last checkpoint
    is whole); TensorBoard's events of the last few steps, not yet flushed, are lost.
    Standard error is drained first."""
    if not getattr(exc, "skip_teardown", False):
        sys.exit(code)
    sys.stdout.flush()
    sys.stderr.flush()
    if restore_stderr is not None:
        restore_stderr()
    os._exit(code)
