"""The networks: the handout's U-Net generator and Patch-GAN discriminator and their
larger versions (``networks``), the speed layers they are built from (``layers``,
``phases``), and the generator's forward pass in NumPy alone (``numpy_generator``).

May import: ``mouthgan.data`` (the image size), ``mouthgan.config``, ``mouthgan.util``.
"""
