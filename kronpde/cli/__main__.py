"""``python -m kronpde.cli``: the ``kronpde`` command."""

import sys

from kronpde.cli import main

sys.exit(main())
