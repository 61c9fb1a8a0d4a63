"""Every private TensorFlow and Keras name the project uses, in one place.

Each is used because no public setting does the job (said at each); each is looked up
by name and checked to exist, so that a TensorFlow or Keras release that renames one
fails here, loudly, instead of quietly doing nothing (an assignment to a renamed class
attribute would create a new one, and a worker would wait for its peers forever).
``tests/test_private_api.py`` checks every name against the installed versions.
"""

import tensorflow as tf


def _collective_extended():
    from tensorflow.python.distribute import collective_all_reduce_strategy as collective

    return collective.CollectiveAllReduceExtended


def _eager_context():
    from tensorflow.python.eager import context

    return context.context()


def require(owner, name):
    """``owner.name``, or a RuntimeError saying the installed TensorFlow / Keras lacks it."""
    if not hasattr(owner, name):
        raise RuntimeError(f"{getattr(owner, '__name__', type(owner).__name__)}.{name} is "
                           "gone from this TensorFlow / Keras: mouthgan's multi-worker "
                           "training was written for TensorFlow 2.21 / Keras 3.15")
    return getattr(owner, name)


def run_without_coordination_service():
    """TensorFlow's coordination service waits for the workers in native code that holds
    Python's lock (no signal handler or thread runs until every worker has come) and takes
    SIGTERM for itself. No public setting turns it off: a configured, empty service keeps
    the strategy from configuring its own."""
    require(_eager_context(), "configure_coordination_service")(service_type="")


def set_start_barrier_timeout(seconds):
    """How long MultiWorkerMirroredStrategy waits for its peers when it starts: a class
    attribute TensorFlow reads then, with no public setting."""
    extended = _collective_extended()
    require(extended, "_check_health_initial_timeout")
    extended._check_health_initial_timeout = seconds


def set_health_check(interval, timeout):
    """How often MultiWorkerMirroredStrategy's health check asks each peer whether it is
    alive, and how long each of its three tries waits for the answer: class attributes
    TensorFlow reads when the check runs, with no public setting."""
    extended = _collective_extended()
    require(extended, "_check_health_interval")
    require(extended, "_check_health_timeout")
    extended._check_health_interval = interval
    extended._check_health_timeout = timeout


def abort_collectives(message):
    """End every blocked exchange now: it raises CancelledError in the waiting thread.
    ``tf.distribute`` has no public way to cancel a collective."""
    require(_eager_context(), "abort_collective_ops")(tf.errors.CANCELLED, message)


def stop_health_check(strategy):
    """End a multi-worker strategy's health-check thread while Python is whole: left to the
    strategy's ``__del__`` at exit, it prints a traceback of its own."""
    require(strategy.extended, "_stop_check_health_thread")()


class NoSymbolicBuild:
    """A mixin for a ``keras.Model`` built in its ``__init__``: Keras's fit() under a
    strategy averages a first batch over the replicas to build an unbuilt model, and under
    MultiWorkerMirroredStrategy that reduce fails (a PerReplica it cannot convert, Keras
    3.15). The hook is private (``Trainer._maybe_symbolic_build``)."""

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        return


def keras_symbolic_build_hook_exists():
    import keras

    return callable(getattr(keras.Model, "_maybe_symbolic_build", None))
