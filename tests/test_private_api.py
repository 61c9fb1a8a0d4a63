"""The private TensorFlow and Keras names the project relies on (all of them live in
mouthgan/training/tf_private.py) still exist in the installed versions, and a missing one
fails loudly instead of doing nothing."""

import keras
import pytest
import tensorflow as tf

from mouthgan.training import tf_private


def test_every_private_name_exists_in_the_installed_tensorflow_and_keras():
    from tensorflow.python.distribute import collective_all_reduce_strategy as collective
    from tensorflow.python.eager import context

    extended = collective.CollectiveAllReduceExtended
    assert isinstance(extended._check_health_initial_timeout, (int, float))
    assert isinstance(extended._check_health_interval, (int, float))
    assert isinstance(extended._check_health_timeout, (int, float))
    assert callable(extended._stop_check_health_thread)
    assert callable(context.context().configure_coordination_service)
    assert callable(context.context().abort_collective_ops)
    assert tf_private.keras_symbolic_build_hook_exists()
    # The mixin really overrides Keras's hook in the fused engine.
    from mouthgan.training.pix2pix import Pix2Pix

    assert Pix2Pix._maybe_symbolic_build is tf_private.NoSymbolicBuild._maybe_symbolic_build
    assert keras.Model._maybe_symbolic_build is not Pix2Pix._maybe_symbolic_build


def test_a_renamed_private_name_fails_instead_of_creating_a_new_one(monkeypatch):
    from tensorflow.python.distribute import collective_all_reduce_strategy as collective

    extended = collective.CollectiveAllReduceExtended
    monkeypatch.delattr(extended, "_check_health_initial_timeout")
    with pytest.raises(RuntimeError, match="_check_health_initial_timeout is gone"):
        tf_private.set_start_barrier_timeout(5)
    assert not hasattr(extended, "_check_health_initial_timeout")


def test_the_start_barrier_timeout_is_set_on_the_class(monkeypatch):
    from tensorflow.python.distribute import collective_all_reduce_strategy as collective

    extended = collective.CollectiveAllReduceExtended
    monkeypatch.setattr(extended, "_check_health_initial_timeout",
                        extended._check_health_initial_timeout)
    tf_private.set_start_barrier_timeout(7)
    assert extended._check_health_initial_timeout == 7
    assert tf.__version__  # the module imports TensorFlow itself


def test_the_health_check_s_rhythm_is_set_on_the_class(monkeypatch):
    from tensorflow.python.distribute import collective_all_reduce_strategy as collective

    extended = collective.CollectiveAllReduceExtended
    for name in ("_check_health_interval", "_check_health_timeout"):
        monkeypatch.setattr(extended, name, getattr(extended, name))
    tf_private.set_health_check(11, 4)
    assert (extended._check_health_interval, extended._check_health_timeout) == (11, 4)
    monkeypatch.delattr(extended, "_check_health_timeout")
    with pytest.raises(RuntimeError, match="_check_health_timeout is gone"):
        tf_private.set_health_check(11, 4)
