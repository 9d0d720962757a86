"""Monitoring in production: Prometheus metrics (``METRICS``), the query profile of slow
requests (``SLOW_REQUEST_MS``) and the health probes (``HEALTH``)."""

from aksara.monitoring.access import MetricsAccess
from aksara.monitoring.health import HealthMiddleware, health_logger, readiness
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
    "HealthMiddleware",
    "MetricsAccess",
    "MonitoringMiddleware",
    "collecting_metrics",
    "format_request_profile",
    "get_metrics",
    "health_logger",
    "is_multiprocess",
    "mark_dead_workers",
    "multiprocess_metrics",
    "readiness",
    "render_metrics",
    "slow_request_logger",
]
