"""Docker-free local stack: embedded AWS (moto), the template's resources and routes, the real handlers."""

import sys
from pathlib import Path

# What Lambda mounts at /opt/python: every devstack entry point imports bolt_merchant.
_SHARED_LAYER = str(Path(__file__).resolve().parent.parent / "layers" / "shared" / "python")
if _SHARED_LAYER not in sys.path:
    sys.path.insert(0, _SHARED_LAYER)
