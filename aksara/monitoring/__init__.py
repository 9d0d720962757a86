"""Monitoring in production: Prometheus metrics (``METRICS``) and the query profile of
slow requests (``SLOW_REQUEST_MS``)."""

from aksara.monitoring.access import MetricsAccess
from aksara.monitoring.metrics import AksaraMetrics, get_metrics, is_multiprocess, render_metrics
from aksara.monitoring.middleware import MonitoringMiddleware
from aksara.monitoring.multiprocess import (
    collecting_metrics,
    mark_dead_workers,
    multiprocess_metrics,
)
from aksara.monitoring.slow import format_request_profile, slow_request_logger

__all__ = [
    "AksaraMetrics",
    "MetricsAccess",
    "MonitoringMiddleware",
    "collecting_metrics",
    "format_request_profile",
    "get_metrics",
    "is_multiprocess",
    "mark_dead_workers",
    "multiprocess_metrics",
    "render_metrics",
    "slow_request_logger",
]
