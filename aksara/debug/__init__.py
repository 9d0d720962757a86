"""Query debugging and monitoring, built on the database layer's query events."""

from aksara.db.querylog import SlowQuery, mask_params
from aksara.debug.capture import (
    CapturedQuery,
    QueryCapture,
    assert_max_queries,
    assert_num_queries,
    capture_queries,
)
from aksara.debug.metrics import metrics, reset_metrics
from aksara.debug.nplusone import (
    NPlusOneMiddleware,
    NPlusOneWarning,
    detect_n_plus_one,
    normalize_sql,
)
from aksara.debug.profile import QueryProfile, profile_queries

__all__ = [
    "CapturedQuery",
    "NPlusOneMiddleware",
    "NPlusOneWarning",
    "QueryCapture",
    "QueryProfile",
    "SlowQuery",
    "assert_max_queries",
    "assert_num_queries",
    "capture_queries",
    "detect_n_plus_one",
    "mask_params",
    "metrics",
    "normalize_sql",
    "profile_queries",
    "reset_metrics",
]
