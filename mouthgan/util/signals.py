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

- Python runs a handler in the main thread, between two bytecodes: a main thread blocked
  in native code (a collective waiting for a peer that is gone) never runs it.
  ``unblock_on_stop`` watches for the signal from another thread and, when the main
  thread has not taken it up in time, makes the blocking call return.

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
    """The signal a loop was asked to stop by, or None; read it at step boundaries. The
    loop sets ``taken`` when it has acted on it."""

    def __init__(self):
        self.signum = None
        self.taken = False

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


@contextmanager
def unblock_on_stop(abort, grace):
    """Within the block, a stop signal that the main thread has not taken up within
    ``grace`` seconds calls ``abort(signum)`` from a watcher thread; ``abort`` must make
    the blocking call return (TensorFlow: abort the collectives), and the main thread
    then runs the handler as usual.

    The watcher hears the signal through Python's wakeup fd: Python's own C-level
    handler writes the signal's number there at once, whatever the main thread is doing.
    A no-op off the main thread, where no wakeup fd can be set.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    previous = signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    done = threading.Event()

    def watch():
        while True:
            try:
                data = os.read(read_end, 64)
            except OSError:
                return
            numbers = [n for n in data if n in STOP_SIGNALS]
            if done.is_set() or not data:
                return
            # Outside a training loop the handler has nothing to save and acts at once;
            # a main thread that has not acted in a second is blocked.
            if not numbers or done.wait(grace if _active else 1.0):
                continue
            if not (_active and _active[-1].taken):
                abort(numbers[0])

    watcher = threading.Thread(target=watch, name="unblock-on-stop", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        signal.set_wakeup_fd(previous)
        os.close(write_end)  # the watcher's read ends
        watcher.join(timeout=2)
        os.close(read_end)
