"""Where a run trains, resolved on the machine it starts on: the ``tf.distribute``
strategy (``--distribute``, ``--devices``) and the generator's arithmetic
(``--precision auto``).

The resolved values replace ``auto`` in the run's config.json, so the settings say what
ran. A resumed run resolves them anew: a run trained on 2 replicas resumes on 1.
"""

import dataclasses
import json
import os
import re
import signal

import tensorflow as tf

from mouthgan import MouthganError
from mouthgan.config import cpu_has_amx


def visible_gpus():
    return tf.config.list_physical_devices("GPU")


def resolve_precision(precision):
    """``auto`` -> mixed_float16 on a GPU (its float16 units, with loss scaling),
    mixed_bfloat16 on a CPU with AMX (its bfloat16 matrix units), else float32."""
    if precision != "auto":
        return precision
    if visible_gpus():
        return "mixed_float16"
    return "mixed_bfloat16" if cpu_has_amx() else "float32"


def resolve_distribute(config):
    """``auto`` -> mirrored where more than one GPU is visible (and the fused engine
    trains), else none."""
    if config.distribute != "auto":
        return config.distribute
    return "mirrored" if len(visible_gpus()) > 1 and config.engine == "fused" else "none"


def resolve(config):
    """The config with ``auto`` precision and distribution resolved on this machine."""
    return dataclasses.replace(config, precision=resolve_precision(config.precision),
                               distribute=resolve_distribute(config))


# What a worker sees of a peer that is gone: its exchanges aborted (the health check, or
# a stop signal), timed out, or unreachable.
PEER_ERRORS = (tf.errors.CancelledError, tf.errors.UnavailableError,
               tf.errors.DeadlineExceededError)


# TensorFlow's health check asks every peer, every HEALTH_CHECK_EVERY seconds, whether it
# is alive: three tries, each waiting HEALTH_CHECK_TIMEOUT seconds for the answer, and
# each holding Python's lock while it waits. TensorFlow's own 30 s and 10 s froze a
# worker with a stuck peer for 30 s at a time: its stop-signal watcher and its main
# thread (on its way out of an aborted exchange) could not run, and a SIGTERM ended it
# 43 s after it came instead of 20. A live peer answers in milliseconds (its server
# answers without Python); 3 x 5 s still outlasts a network hiccup.
HEALTH_CHECK_EVERY = 10
HEALTH_CHECK_TIMEOUT = 5


def multi_worker_strategy(cluster, peer_timeout):
    """MultiWorkerMirroredStrategy whose waits for the other workers end: at start after
    ``peer_timeout`` seconds (TensorFlow's barrier before its health checks; a
    MouthganError); in a run when TensorFlow's health check (every HEALTH_CHECK_EVERY s;
    a peer that does not answer it in 3 tries of HEALTH_CHECK_TIMEOUT s) finds a peer gone
    or stuck, which aborts the exchanges: the training loop sees one of ``PEER_ERRORS``.

    Without TensorFlow's coordination service: it waits for the workers in native code
    that holds Python's lock, so that no signal handler and no thread of this process
    runs until every worker has come, and it takes SIGTERM for itself (as a preemption
    notice). The exchanges and the health check need no coordination service.
    """
    from mouthgan.training import tf_private

    workers = [a for addresses in cluster["cluster"].values() for a in addresses]
    print(f"multi-worker: worker {cluster['task']['index']} of {len(workers)} "
          f"({', '.join(workers)}); waiting at most {peer_timeout:g} s for the others "
          "(--peer-timeout)", flush=True)
    tf_private.run_without_coordination_service()
    tf_private.set_start_barrier_timeout(peer_timeout)
    tf_private.set_health_check(HEALTH_CHECK_EVERY, HEALTH_CHECK_TIMEOUT)
    # No timeout on each exchange (CommunicationOptions.timeout_seconds): TensorFlow
    # keeps a sleeping thread of its own for each timed exchange, for the whole timeout,
    # and a run of a few hundred steps ran out of threads ("Resource temporarily
    # unavailable", abort). A peer that stops answering is the health check's to find.
    try:
        return tf.distribute.MultiWorkerMirroredStrategy()
    except RuntimeError as exc:
        if "Timeout waiting for the cluster" not in str(exc):
            raise
    raise MouthganError(f"no answer from the other workers within {peer_timeout:g} s "
                        "(--peer-timeout): start the same command on every worker TF_CONFIG "
                        f"names ({', '.join(workers)})")


def abort_exchanges(signum):
    """Make a worker's waits for its peers end now, on a stop signal the training loop
    could not take up (``mouthgan.util.signals.unblock_on_stop``): a blocked exchange
    raises CancelledError in the main thread, which then runs the signal's handler."""
    from mouthgan.training import tf_private

    tf_private.abort_collectives(f"{signal.Signals(signum).name}: stopped while waiting for a peer")


def stop_health_check(strategy):
    """End TensorFlow's health-check thread of a multi-worker strategy while Python is
    whole: left to the strategy's ``__del__`` at exit, it prints a traceback of its own."""
    from mouthgan.training import tf_private

    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        tf_private.stop_health_check(strategy)


def make_strategy(config):
    """The strategy of a resolved config; None for one device.

    Call it before TensorFlow runs its first operation: splitting the CPU into logical
    devices (``--devices /cpu:0 /cpu:1``) must happen before the runtime starts.
    """
    if config.distribute == "none":
        return None
    if config.distribute == "multi-worker":
        if not os.environ.get("TF_CONFIG"):
            raise MouthganError("--distribute multi-worker needs TF_CONFIG (the cluster's "
                                "workers and this one's index): see docs/training.md")
        try:
            cluster = json.loads(os.environ["TF_CONFIG"])
            cluster["cluster"], cluster["task"]["index"]
        except (ValueError, KeyError, TypeError) as exc:
            raise MouthganError(f"TF_CONFIG is not a cluster description ({exc})")
        strategy = multi_worker_strategy(cluster, config.peer_timeout)
    else:
        devices = list(config.devices) or None
        if devices:
            split_cpu_for(devices)
        elif not visible_gpus():
            raise MouthganError("--distribute mirrored found no GPU; name the devices "
                                "with --devices (e.g. /cpu:0 /cpu:1)")
        strategy = tf.distribute.MirroredStrategy(devices)
    replicas = strategy.num_replicas_in_sync
    if config.batch_size % replicas:
        raise MouthganError(f"--batch-size {config.batch_size} does not split over "
                            f"{replicas} replicas: use a multiple of {replicas}")
    return strategy


def split_cpu_for(devices):
    """Make the logical CPU devices ``devices`` names ("/cpu:1" needs two)."""
    indices = [int(m.group(1)) for d in devices
               if (m := re.fullmatch(r"/?(?:device:)?cpu:(\d+)", d.strip().lower()))]
    if not indices:
        return
    wanted = max(indices) + 1
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(wanted)])
    except RuntimeError:  # TensorFlow has started: fine if the devices exist already
        # (listing logical devices starts the runtime, so it is asked only now)
        if len(tf.config.list_logical_devices("CPU")) < wanted:
            raise MouthganError(f"cannot split the CPU into {wanted} devices once "
                                "TensorFlow has started; start a new process") from None
