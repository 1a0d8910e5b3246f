"""``python -m kronpde``: the ``kronpde`` command."""

from kronpde.app.cli import run

run()
