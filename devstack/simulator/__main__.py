"""python -m devstack.simulator (see devstack/simulator/cli.py)."""

import sys

from devstack.simulator.cli import main

sys.exit(main())
