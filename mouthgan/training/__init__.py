"""Training the GAN: the trainer (``trainer``, top to bottom), the two engines that
take a step (``pix2pix``, the fused default; ``handout_loop``, the handout's loop,
literally) behind one interface (``engine``) and built by ``engine_factory``, their losses and
optimizers, the callbacks, checkpoints, time budget and devices of a run.

May import: ``mouthgan.evaluation`` and everything below it.
"""
