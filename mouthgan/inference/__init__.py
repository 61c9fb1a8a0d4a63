"""Using a trained generator: loading one (``generators``, the models that ship with
the package in ``bundled``), predicting and pasting into the hole (``predict``), the
Kaggle CSV (``kaggle_csv``, NumPy only: the export path never needs TensorFlow), faces
in ordinary photos (``photos``), the local web page (``webapp``) and the export to
other runtimes (``deploy``).

May import: ``mouthgan.data``, ``mouthgan.models``, ``mouthgan.config``,
``mouthgan.util``; never ``mouthgan.training``.
"""
