"""``python -m composite``: the same as the ``composite`` command."""

from composite.cli import run

run()
