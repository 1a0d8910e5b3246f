"""``python -m kronpde``: the ``kronpde`` command."""

import sys

from kronpde.app.cli import main

sys.exit(main())
