"""The fused engine: the GAN as a ``keras.Model`` whose ``train_step`` updates D, then G
(the keras-io GAN pattern), driven by ``fit()``.

One training step (the handout's, for both engines):

1. take the step's ``batch_size`` random (real, white) pairs from the input pipeline
   (``mouthgan.data.batches``);
2. G turns the whites into fakes, in inference mode (the handout calls ``G.predict``);
   with ``--fakes shared``, D takes the fakes of G's training pass in step 4 instead,
   detached (pix2pix's own order: one forward pass of G fewer);
3. D learns: real pairs toward 1, then fake pairs toward 0 (MSE on the patch map),
   ``d_steps`` times;
4. G learns through "AM": D's verdict on G(white) toward 1 (MSE, D frozen) plus
   the L1 distance to the real image, weighted ``loss_weights``.

The realism levers change steps 3 and 4: the adversarial loss (``--gan-loss``), what D
sees of a fake (``--d-sees``), an R1 penalty on D (``--r1``), feature matching for G
(``--feature-matching``); spectral normalisation is D's own (``mouthgan.models.networks``).
A face network that is not the judge adds its view of G's output to G's loss
(``--face-features``, ``--face-landmarks``; ``mouthgan.training.face_loss``).
The limited-data levers transform every pair D sees (``--diffaugment``, ``--ada-target``;
``mouthgan.training.d_augment``) and hold D's verdicts near their moving averages
(``--lecam``).
"""

import keras
import tensorflow as tf

from mouthgan.data.batches import training_batches
from mouthgan.data.faces import IMAGE_SIZE
from mouthgan.training.engine import Engine, step_logs
from mouthgan.training.d_augment import Draw, ada_adjustment, step_seed, transforms_of
from mouthgan.training.face_loss import FaceNetwork, face_loss
from mouthgan.training.losses import (batch_mean, d_patch_loss, feature_distance,
                                      g_patch_loss, global_sum, lecam_penalty, patch_accuracy,
                                      patch_mean, pixel_weights, reconstruction_loss)
from mouthgan.models.networks import patch_shape
from mouthgan.training.optimizers import d_updates_per_step
from mouthgan.training.tf_private import NoSymbolicBuild


def update_ema(average, model, decay, step):
    """average <- d * average + (1 - d) * model, every weight (BatchNorm's moving
    statistics too, so they match the averaged kernels). The decay ramps up as
    (1 + step) / (10 + step), as tf.train.ExponentialMovingAverage's num_updates does,
    so the average forgets the random initial weights early on.

    Called inside the step; under a strategy it runs once, in cross-replica context
    (``merge_call``), the way Keras's optimizers update their mirrored slots: the model's
    weights are the same on every replica, so one update of each copy is the average's.
    """
    step = tf.cast(step, tf.float32)
    d = tf.minimum(decay, (1.0 + step) / (10.0 + step))
    pairs = list(zip(average.weights, model.weights))

    def assign_all(strategy=None):
        for a, w in pairs:
            value = d * a + (1.0 - d) * w
            if strategy is None:
                a.assign(value)
            else:
                strategy.extended.update(a.value, lambda var, v: var.assign(v), args=(value,))

    replica = tf.distribute.get_replica_context()
    if replica is None or not tf.distribute.has_strategy():
        assign_all()
    else:
        replica.merge_call(assign_all)


def lever_log_keys(config):
    """The step logs a run has beyond ``step_logs``'s, as its levers add them: ADA's
    probability, the face network's loss. history.csv gets a column for each."""
    return (("ada_p",) if config.ada_target else ()) + (
        ("g_face",) if config.face_features or config.face_landmarks else ())


# LeCam's moving averages of D's verdicts forget at this rate a step (the paper's 0.99).
LECAM_DECAY = 0.99


class Pix2Pix(NoSymbolicBuild, keras.Model, Engine):
    """The fused engine: one compiled call updates D, then G (keras-io's GAN pattern).

    ``fit()`` drives it, one epoch per training step, so every Keras callback works, on
    the dataset of ``batches.training_batches``; under a ``tf.distribute`` strategy
    (built in its scope) each replica takes its share of every batch.
    """

    def __init__(self, generator, discriminator, source, config, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.config = config
        self.source = source  # the training faces: a source of mouthgan.data.batches
        self.d_updates_per_step = d_updates_per_step(config)
        self.patch = patch_shape(discriminator)
        # With feature matching, D's verdict comes with the activations of its blocks
        # (the input of each convolution after the first), in the same pass.
        self.d_with_features = None
        if config.feature_matching:
            blocks = [layer.input for layer in discriminator.layers
                      if isinstance(layer, keras.layers.Conv2D)]
            self.d_with_features = keras.Model(discriminator.inputs,
                                               [*blocks, discriminator.output])
        # The limited-data levers' state, checkpointed with the run (Engine.checkpoint).
        # Every replica computes the same new value from globally reduced figures, so
        # the mean of their writes is that value.
        self.d_transforms = transforms_of(config)
        self.ada_probability = None
        if config.ada_target:
            self.ada_probability = tf.Variable(0.0, trainable=False, name="ada_probability",
                                               aggregation=tf.VariableAggregation.MEAN)
        self.lecam_averages = None
        if config.lecam:  # the moving averages of D's verdicts on real and fake pairs
            self.lecam_averages = tf.Variable([0.0, 0.0], trainable=False, name="lecam_averages",
                                              aggregation=tf.VariableAggregation.MEAN)
        self.face_network = None  # frozen; not part of the run's checkpoint
        if config.face_features or config.face_landmarks:
            self.face_network = FaceNetwork()
        self.ema_generator = None
        if config.ema:
            self.ema_generator = keras.models.clone_model(generator)
            self.ema_generator.set_weights(generator.get_weights())
        # Its parts are built models; nothing is left for fit() to build from a batch
        # (which it would try under a strategy, by calling this model).
        self.built = True

    def compile(self, d_optimizer, g_optimizer):
        # G's optimizer as the model's: what Keras's TensorBoard callback reports the
        # learning rate of. It is built on G's variables below, so fit() leaves it alone.
        super().compile(optimizer=g_optimizer)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        # Build the slots now, so a checkpoint can be restored before the first step.
        d_optimizer.build(self.discriminator.trainable_variables)
        g_optimizer.build(self.generator.trainable_variables)

    def train_step(self, batch):
        logs = self.update(*batch)
        strategy = self.distribute_strategy
        if strategy.num_replicas_in_sync > 1:
            # Each replica's losses are its share of the global batch's mean
            # (mouthgan.training.losses); every replica reports their sum, the mean.
            logs = tf.distribute.get_replica_context().all_reduce("sum", logs)
        if self.ada_probability is not None:  # the same on every replica: not summed
            logs["ada_p"] = tf.identity(self.ada_probability)
        if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
            # Keras 3 reduces multi-worker logs along a batch axis, which a scalar
            # lacks ("Invalid reduction dimension 0", tensorflow/tensorflow#72388).
            logs = {k: tf.reshape(v, [1]) for k, v in logs.items()}
        return logs

    def run(self, total_steps, callbacks):
        start, strategy = self.steps_done, self.distribute_strategy
        if strategy.num_replicas_in_sync > 1:
            batches = strategy.distribute_datasets_from_function(
                lambda context: training_batches(self.source, self.config, start, context))
        else:
            batches = training_batches(self.source, self.config, start)
        self.fit(batches, initial_epoch=start, epochs=total_steps, steps_per_epoch=1,
                 verbose=0, shuffle=False, callbacks=callbacks)

    def sample_batch(self):
        """(real, white[, hole mask]) of the next step, as tensors: the batch ``run``
        would take (the same function of the seed and the step)."""
        return self.source.batch_at(self.config, self.steps_done)

    def update(self, real, white, hole=None):
        """One step on a given batch: D on real then fake pairs, then G through AM."""
        G, D = self.generator, self.discriminator
        real, white = tf.convert_to_tensor(real), tf.convert_to_tensor(white)
        weights = (None if hole is None or self.config.hole_weight == 1.0
                   else pixel_weights(hole, self.config.hole_weight))
        w_adv, w_l1 = self.config.loss_weights
        ones = tf.ones((tf.shape(real)[0],) + self.patch)
        zeros = tf.zeros_like(ones)
        shared = self.config.fakes == "shared"
        # What D sees of every pair this step: as it is, or through one draw of the
        # limited-data transforms (the same for real pairs and fakes).
        seen_by_d = self._d_transform(tf.shape(real)[0])
        white_d = seen_by_d(white)

        with tf.GradientTape() as tape:
            if shared:  # pix2pix's order: G's one pass, D learns from it detached
                fake_for_g = G(white, training=True)
            with tape.stop_recording():
                fake = (tf.stop_gradient(fake_for_g) if shared
                        else G(white, training=False))  # the handout's G.predict
                seen = self._patches_that_see(
                    None if hole is None else seen_by_d(hole, geometry_only=True))
                d_real, d_fake, acc_real, acc_fake = self._d_updates(
                    seen_by_d(real), seen_by_d(self._as_d_sees(fake, white, hole)),
                    white_d, ones, zeros, seen)
            if not shared:
                fake_for_g = G(white, training=True)
            # D is frozen here. Keras 3 runs a frozen BatchNormalization in inference
            # mode, so the handout engine's AM judges fakes with D's moving statistics;
            # we do the same on purpose (train-mode statistics measured no better).
            judged = [seen_by_d(self._as_d_sees(fake_for_g, white, hole)), white_d]
            if self.d_with_features is None:
                verdict = D(judged, training=False)
            else:
                *fake_blocks, verdict = self.d_with_features(judged, training=False)
            g_adv = g_patch_loss(self.config.gan_loss, verdict, seen)
            g_l1 = reconstruction_loss(real, fake_for_g, weights, self.config.reconstruction)
            g_loss = w_adv * g_adv + w_l1 * g_l1
            if self.d_with_features is not None:
                *real_blocks, _ = self.d_with_features([seen_by_d(real), white_d],
                                                       training=False)
                g_loss += self.config.feature_matching * feature_distance(
                    real_blocks, fake_blocks)
            if self.face_network is not None:
                g_face = face_loss(self.face_network, real, fake_for_g,
                                   self.config.face_features, self.config.face_landmarks)
                g_loss += g_face
            # mixed_float16 (on a GPU): the loss scaled so float16 gradients do not
            # underflow; the optimizer unscales them. Other precisions: unchanged.
            scaled_loss = self.g_optimizer.scale_loss(g_loss)
        grads = tape.gradient(scaled_loss, G.trainable_variables)
        self.g_optimizer.apply(grads, G.trainable_variables)
        if self.ema_generator is not None:
            update_ema(self.ema_generator, G, self.config.ema, self.g_optimizer.iterations)

        logs = step_logs(d_real, d_fake, acc_real, acc_fake, g_loss, g_adv, g_l1)
        if self.face_network is not None:
            logs["g_face"] = g_face
        return logs

    def _d_transform(self, batch):
        """This step's transform of what D sees (``d_augment.Draw``), or the identity."""
        if not self.d_transforms:
            return lambda images, geometry_only=False: images
        probability = 1.0 if self.ada_probability is None else self.ada_probability
        return Draw(batch, IMAGE_SIZE, self.d_transforms, probability,
                    step_seed(self.config, self.d_optimizer.iterations))

    def _after_d_updates(self, acc_real, mean_real, mean_fake):
        """The limited-data levers' state after D's updates: ADA's probability moves by
        D's mean sign on the real patches (2 x their accuracy - 1); LeCam's averages take
        in D's mean verdicts."""
        if self.ada_probability is not None:
            real_sign = 2.0 * global_sum(acc_real) - 1.0
            self.ada_probability.assign(tf.clip_by_value(
                self.ada_probability + ada_adjustment(real_sign, self.config.ada_target),
                0.0, 1.0))
        if self.lecam_averages is not None:
            means = global_sum(tf.stack([mean_real, mean_fake]))
            self.lecam_averages.assign(LECAM_DECAY * self.lecam_averages
                                       + (1.0 - LECAM_DECAY) * means)

    def _as_d_sees(self, fake, white, hole):
        """The fake as D judges it: G's whole output, or (``--d-sees pasted``) pasted into
        the hole of the white image, as the restorer delivers it. Pasted, the face
        around the hole is the real one, so D can only tell fakes by the mouth and its
        seams, and G's adversarial gradient falls on the mouth (GLCIC's and DeepFill's
        discriminators judge the completed image)."""
        if self.config.d_sees == "output":
            return fake
        return hole * fake + (1.0 - hole) * white

    def _patches_that_see(self, hole):
        """With ``--d-sees pasted``, 1 for each patch of D's map centred on the hole or
        next to it, else 0: D's losses and accuracy count only those, a local critic of
        the mouth. Farther patches see mostly the same real face in a real and a fake
        pair; they can tell little, and would hold D's accuracy near a half whatever it
        learns. (Their receptive field, 94 pixels for the handout's D, still touches the
        hole, but a convolution's weight falls off from its centre.) None, every patch,
        when D sees G's whole output."""
        if self.config.d_sees == "output":
            return None
        cell = IMAGE_SIZE // self.patch[0]  # pixels a patch's centre moves per patch
        return tf.nn.max_pool2d(hole, 3 * cell, cell, "SAME")

    def _d_updates(self, real, fake, white, ones, zeros, seen):
        """D learns ``d_steps`` times: real pairs toward 1, fake pairs toward 0."""
        for _ in range(self.config.d_steps):
            if self.config.d_batch == "mixed":
                d_loss, d_acc, scores = self._d_update(tf.concat([real, fake], 0),
                                                       tf.concat([white, white], 0),
                                                       tf.concat([ones, zeros], 0), None, seen)
                d_real = d_fake = d_loss
                acc_real = acc_fake = d_acc
                half = tf.shape(scores)[0] // 2
                real_scores, fake_scores = scores[:half], scores[half:]
                real_acc_only = patch_accuracy(real_scores, ones, self.config.gan_loss, seen)
            else:
                d_real, acc_real, real_scores = self._d_update(real, white, ones, True, seen)
                d_fake, acc_fake, fake_scores = self._d_update(fake, white, zeros, False, seen)
                real_acc_only = acc_real
        self._after_d_updates(real_acc_only, patch_mean(real_scores), patch_mean(fake_scores))
        return d_real, d_fake, acc_real, acc_fake

    def _d_update(self, image, white, target, is_real, seen):
        """One update of D on real (``is_real``) or fake pairs, or on both (None: the
        first half real, the second fake), counting the patches ``seen`` of each pair
        (None: all)."""
        D, kind = self.discriminator, self.config.gan_loss
        with tf.GradientTape() as tape:
            if self.config.r1 and is_real is not False:
                scores, penalty = self._scores_and_r1(image, white, is_real is None)
            else:
                scores, penalty = D([image, white], training=True), 0.0
            penalty += self._lecam(scores, is_real, seen)
            if is_real is None:
                half = tf.shape(scores)[0] // 2
                loss = 0.5 * (d_patch_loss(kind, scores[:half], True, seen) +
                              d_patch_loss(kind, scores[half:], False, seen))
                if seen is not None:  # the same patches count in both halves
                    seen = tf.concat([seen, seen], 0)
            else:
                loss = d_patch_loss(kind, scores, is_real, seen)
            loss += penalty
        grads = tape.gradient(loss, D.trainable_variables)
        self.d_optimizer.apply(grads, D.trainable_variables)
        return loss, patch_accuracy(scores, target, kind, seen), scores

    def _lecam(self, scores, is_real, seen):
        """LeCam's term (``--lecam``): verdicts on real pairs pulled toward the moving
        average of those on fakes, and fakes' toward the reals' (None: the first half
        real, the second fake)."""
        if self.lecam_averages is None:
            return 0.0
        average_real, average_fake = tf.unstack(self.lecam_averages)
        if is_real is None:
            half = tf.shape(scores)[0] // 2
            return self.config.lecam * 0.5 * (
                lecam_penalty(scores[:half], average_fake, seen)
                + lecam_penalty(scores[half:], average_real, seen))
        return self.config.lecam * lecam_penalty(
            scores, average_fake if is_real else average_real, seen)

    def _scores_and_r1(self, image, white, mixed):
        """D's scores, and the R1 penalty: gamma / 2 x the mean squared norm of the
        gradient of each real pair's verdict (the mean of its patch scores) with respect
        to its image (``mixed``: the real pairs are the batch's first half). Taken inside
        D's tape, so D learns to keep its verdict flat around the real faces. The mean,
        not the sum, of the patches: the sum's slope is 64x larger on an 8x8 map, and
        gamma would mean something else for every map size."""
        with tf.GradientTape() as inner:
            inner.watch(image)
            scores = self.discriminator([image, white], training=True)
            real_scores = scores[:tf.shape(scores)[0] // 2] if mixed else scores
            # each example's verdict depends on its own image only: the sum's gradient
            # is every example's own
            total = tf.reduce_sum(tf.reduce_mean(real_scores, axis=[1, 2, 3]))
        slopes = inner.gradient(total, image)
        if mixed:
            slopes = slopes[:tf.shape(slopes)[0] // 2]
        penalty = batch_mean(tf.reduce_sum(tf.square(slopes), axis=[1, 2, 3]))
        return scores, 0.5 * self.config.r1 * penalty
