"""Measuring a generator: the image metrics (``metrics``), the scores of a run
(``scores``), the realism measures of face networks (``realism``), the bundled models'
cards (``model_card``), and the pictures and write-up of a run (``plots``, ``report``).

May import: ``mouthgan.inference`` and everything below it; never
``mouthgan.training``.
"""
