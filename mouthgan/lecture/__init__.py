"""The lecture's example, not part of the restorer: the DCGAN of the handout's
part 2 (``dcgan``, 100-d noise -> a 28x28 image), trained with the restorer's
machinery.

May import: ``mouthgan.training`` and everything below it.
"""
