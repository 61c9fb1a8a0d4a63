"""The commands: each module's ``main(argv)`` is one command, run by its thin entry
point ``scripts/NAME.py`` and installed as the console command ``mouthgan-NAME``
(``pyproject.toml``).

May import: anything in the package.
"""
