"""Stopping on SIGINT (Ctrl-C) and SIGTERM (Slurm, Kubernetes, cloud preemption) without
losing work.

Why handlers of our own, and why they only set a flag:

- A shell without job control (CI runners, ``nohup``, ``cmd &`` in a script) starts
  background commands with SIGINT *ignored*, and Python keeps an inherited ignore: Ctrl-C
  or ``kill -INT`` then never reaches a Python program that relies on its default
  ``KeyboardInterrupt``. ``signal.signal`` replaces whatever disposition was inherited.
- A ``KeyboardInterrupt`` raised while TensorFlow or Keras code runs can be swallowed on
  the way up, and one raised halfway through writing a checkpoint leaves half a
  checkpoint. A flag that the training loop reads at each step boundary is reliable.

Outside a training loop (importing TensorFlow, reading the data) there is nothing to
save, so the handler raises ``Interrupted`` at once. Inside ``stop_requests()`` it only
records the first signal; the loop stops at its next step boundary, saves, and raises
``Interrupted`` itself. A second signal while that save runs is noted and the save
finishes: never a half-written checkpoint.
"""

import os
import signal
import threading
from contextlib import contextmanager

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(Exception):
    """A run stopped on a signal. The message says what was saved and how to go on; a
    script exits with 128 + the signal's number (130 for SIGINT, 143 for SIGTERM), as a
    shell reports a command a signal ended."""

    def __init__(self, signum, message):
        super().__init__(message)
        self.signum = signum

    @property
    def exit_code(self):
        return 128 + self.signum


class StopRequest:
    """The signal a loop was asked to stop by, or None; read it at step boundaries."""

    def __init__(self):
        self.signum = None

    def __bool__(self):
        return self.signum is not None

    @property
    def name(self):
        return signal.Signals(self.signum).name if self.signum else None


_active = []  # the StopRequest of each stop_requests() block in force, innermost last


def _handle(signum, frame):
    if not _active:
        raise Interrupted(signum, f"{signal.Signals(signum).name}: stopped")
    request = _active[-1]
    # os.write, not print: the handler may run while the main thread is inside a print,
    # and a buffered stream refuses to be entered twice.
    if request.signum is None:
        request.signum = signum
        os.write(2, f"\n{signal.Signals(signum).name}: stopping after this step and "
                    "saving a checkpoint...\n".encode())
    else:
        os.write(2, f"\n{signal.Signals(signum).name}: still saving; stopping as soon as "
                    "the checkpoint is complete\n".encode())


def install():
    """Take over SIGINT and SIGTERM, whatever this process inherited (an ignored SIGINT
    included); return the previous handlers for ``restore``. A no-op off the main thread,
    where Python allows no handlers."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    for s in STOP_SIGNALS:
        signal.signal(s, _handle)
    return previous


def restore(previous):
    for s, handler in previous.items():
        signal.signal(s, handler)


@contextmanager
def stop_requests():
    """Within the block, SIGINT and SIGTERM only set the yielded ``StopRequest``.

    The handlers are installed here when nobody installed them (a library caller, a
    test) and put back after; the scripts install them for their whole life
    (``mouthgan.util.cli.run``).
    """
    previous = {} if signal.getsignal(signal.SIGINT) is _handle else install()
    request = StopRequest()
    _active.append(request)
    try:
        yield request
    finally:
        _active.remove(request)
        restore(previous)
