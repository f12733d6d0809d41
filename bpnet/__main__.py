"""``python -m bpnet`` is the ``bpnet`` command."""

import sys

from .cli import main

sys.exit(main())
