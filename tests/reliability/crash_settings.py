"""Settings of the served crash app: the database a test names in ``AKSARA_CRASH_DATABASE``."""

from __future__ import annotations

import os

AKSARA = {
    "DATABASE_URL": os.environ["AKSARA_CRASH_DATABASE"],
    "DATABASE_POOL": {"min_size": 1, "max_size": 5},
}
