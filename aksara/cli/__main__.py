"""``python -m aksara.cli``: the ``aksara`` command."""

import sys

from aksara.cli import main

sys.exit(main())
