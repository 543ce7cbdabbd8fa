"""``python -m simulation.cli``: the ``terrinum`` command."""

import sys

from simulation.cli.main import main

sys.exit(main())
