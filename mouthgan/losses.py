"""The generator's reconstruction loss, weighted inside the white hole."""

import tensorflow as tf


def pixel_weights(hole, hole_weight):
    """Reconstruction weight per pixel: ``hole_weight`` inside the hole, 1 outside."""
    return 1.0 + (hole_weight - 1.0) * hole


def reconstruction_loss(real, fake, weights, kind="l1"):
    """Mean absolute (l1) or squared (l2) error, weighted per pixel when ``weights`` is
    given (normalised by the weights' sum, so the scale stays that of a plain mean and
    ``--loss-weights`` keeps its meaning)."""
    error = tf.abs(real - fake) if kind == "l1" else tf.square(real - fake)
    if weights is None:
        return tf.reduce_mean(error)
    return tf.reduce_sum(weights * error) / tf.reduce_sum(weights)
