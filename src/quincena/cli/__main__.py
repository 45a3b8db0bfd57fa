"""`python -m quincena.cli`: the same as the `quincena` command."""

import sys

from quincena.cli import main

sys.exit(main())
