"""The losses of a training step, each the mean over the global batch.

Under a ``tf.distribute`` strategy each replica sees its share of the batch and the
optimizer sums the replicas' gradients, so each replica's loss must be its share of the
global mean (``tf.nn.compute_average_loss``), not the mean of its own share: that is
how N replicas x B/N take the same step as 1 device x B. On one device these are the
plain means.
"""

import tensorflow as tf


def batch_mean(per_example):
    """This replica's share of the global batch's mean of ``per_example`` (b,)."""
    return tf.nn.compute_average_loss(per_example)


def patch_mse(scores, target):
    """D's and AM's adversarial loss: mean squared distance of the patch map to 1 / 0."""
    return batch_mean(tf.reduce_mean(tf.square(scores - target), axis=[1, 2, 3]))


def patch_accuracy(scores, target):
    """The share of patches D classifies right (score > 0.5 is "real")."""
    right = tf.cast((scores > 0.5) == (target > 0.5), tf.float32)
    return batch_mean(tf.reduce_mean(right, axis=[1, 2, 3]))


def pixel_weights(hole, hole_weight):
    """Reconstruction weight per pixel: ``hole_weight`` inside the hole, 1 outside."""
    return 1.0 + (hole_weight - 1.0) * hole


def reconstruction_loss(real, fake, weights, kind="l1"):
    """Mean absolute (l1) or squared (l2) error, weighted per pixel when ``weights`` is
    given (normalised by the weights' sum over the global batch, so the scale stays that
    of a plain mean and ``--loss-weights`` keeps its meaning)."""
    error = tf.abs(real - fake) if kind == "l1" else tf.square(real - fake)
    if weights is None:
        return batch_mean(tf.reduce_mean(error, axis=[1, 2, 3]))
    total_weight = tf.reduce_sum(weights)
    replica = tf.distribute.get_replica_context()
    if replica is not None and replica.num_replicas_in_sync > 1:
        total_weight = replica.all_reduce("sum", total_weight)
    return tf.reduce_sum(weights * error) / total_weight
