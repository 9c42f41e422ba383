"""``python -m optuna_naap.cli``."""

import sys

from optuna_naap.cli import main

sys.exit(main())
