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


def global_sum(value):
    """A replica's share summed over the replicas (itself on one device)."""
    replica = tf.distribute.get_replica_context()
    if replica is None or replica.num_replicas_in_sync == 1:
        return value
    return replica.all_reduce("sum", value)


def patch_mean(values, weights=None):
    """This replica's share of the batch mean of each example's mean over its patch map,
    or (``weights``, 1 or 0 a patch) over the patches that count."""
    if weights is None:
        return batch_mean(tf.reduce_mean(values, axis=[1, 2, 3]))
    counted = tf.maximum(tf.reduce_sum(weights, axis=[1, 2, 3]), 1.0)
    return batch_mean(tf.reduce_sum(values * weights, axis=[1, 2, 3]) / counted)


def patch_mse(scores, target, weights=None):
    """D's and AM's adversarial loss: mean squared distance of the patch map to 1 / 0."""
    return patch_mean(tf.square(scores - target), weights)


# The adversarial losses on D's patch map (``--gan-loss``). lsgan is the handout's MSE
# toward 1 / 0. hinge (SAGAN, BigGAN) stops pushing a patch once D is sure of it by a
# margin, so a D that already wins spends its capacity on the patches it does not; G's
# loss is the raw score, whose gradient never saturates. nonsaturating is the original
# GAN's cross-entropy on logits, G maximising log D(fake).


def d_patch_loss(kind, scores, real, weights=None):
    """D's loss on a batch of real (``real=True``) or fake patch maps; ``weights``: only
    the patches that count (``patch_mean``)."""
    if kind == "lsgan":
        return patch_mse(scores, 1.0 if real else 0.0, weights)
    if kind == "hinge":
        margin = tf.nn.relu(1.0 - scores) if real else tf.nn.relu(1.0 + scores)
        return patch_mean(margin, weights)
    labels = tf.ones_like(scores) if real else tf.zeros_like(scores)
    entropy = tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=scores)
    return patch_mean(entropy, weights)


def g_patch_loss(kind, scores, weights=None):
    """G's adversarial loss: D's verdict on its fakes, toward "real"."""
    if kind == "lsgan":
        return patch_mse(scores, 1.0, weights)
    if kind == "hinge":
        return patch_mean(-scores, weights)
    return d_patch_loss("nonsaturating", scores, True, weights)


def patch_accuracy(scores, target, kind="lsgan", weights=None):
    """The share of patches D classifies right: "real" above 0.5 for lsgan's targets
    1 / 0, above 0 for the losses on logits or margins."""
    threshold = 0.5 if kind == "lsgan" else 0.0
    right = tf.cast((scores > threshold) == (target > 0.5), tf.float32)
    return patch_mean(right, weights)


def feature_distance(real_blocks, fake_blocks):
    """pix2pixHD's feature matching: the mean over D's blocks of the L1 distance between
    its activations on the fakes and on the real pairs (those held fixed)."""
    distances = [batch_mean(tf.reduce_mean(tf.abs(tf.stop_gradient(r) - f), axis=[1, 2, 3]))
                 for r, f in zip(real_blocks, fake_blocks)]
    return tf.add_n(distances) / len(distances)


def lecam_penalty(scores, anchor, weights=None):
    """LeCam's regulariser for one side (Tseng et al. 2021): the mean squared distance of
    D's verdicts on one kind of pair to the moving average of its verdicts on the other.
    A D with few faces can otherwise push real and fake verdicts apart without bound."""
    return patch_mean(tf.square(scores - tf.stop_gradient(anchor)), weights)


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
    return tf.reduce_sum(weights * error) / global_sum(tf.reduce_sum(weights))
