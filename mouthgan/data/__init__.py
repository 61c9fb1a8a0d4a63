"""The data: faces on disk to arrays and training batches.

``faces`` reads the NLP_data layout (Training, Validation, Test; Real and White),
``holes`` finds the painted hole of a white face, ``batches`` is the ``tf.data``
pipeline of training pairs (held in memory or streamed), ``records`` the TFRecord
shards for slow storage, ``sample_data`` builds the default data from CelebA faces.

May import: ``mouthgan`` (its error), ``mouthgan.config``, ``mouthgan.util``.
"""
