"""What every command shares: the command-line plumbing (``cli``), stopping on a
signal without losing work (``signals``), and the run directory (``run_dir``).

May import: ``mouthgan`` (its error and version) and ``mouthgan.config`` only.
"""
