"""Structured logs and CloudWatch metrics, shared by every function (Powertools, no X-Ray SDK at import)."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit, single_metric

NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "MeterReadings")
logger = Logger()


def count(name: str, dimension: str, value: str, amount: int = 1) -> None:
    """One metric with its own dimension (readings by channel, rejections by reason), written at once.

    Each metric has its own dimension, so they cannot share one batch of Powertools' Metrics.
    """
    with single_metric(name=name, unit=MetricUnit.Count, value=amount, namespace=NAMESPACE) as metric:
        metric.add_dimension(name=dimension, value=value)
