"""Powertools logging, metrics and tracing, configured once per process.

The logger and metrics are cheap and built on first use; the X-Ray tracer (aws_xray_sdk, slow to
import) is built only by the functions that trace, never on the API's import path.
"""

from __future__ import annotations

from functools import lru_cache

SERVICE = "civicbridge"
NAMESPACE = "CivicBridge"


@lru_cache(maxsize=1)
def logger():
    from aws_lambda_powertools import Logger

    return Logger(service=SERVICE)


@lru_cache(maxsize=1)
def metrics():
    from aws_lambda_powertools import Metrics

    return Metrics(namespace=NAMESPACE, service=SERVICE)


@lru_cache(maxsize=1)
def tracer():
    from aws_lambda_powertools import Tracer

    return Tracer(service=SERVICE)


def count(name: str, value: int = 1) -> None:
    from aws_lambda_powertools.metrics import MetricUnit

    metrics().add_metric(name=name, unit=MetricUnit.Count, value=value)


def flush_metrics() -> None:
    """Emit the request's metrics (EMF), if it recorded any."""
    current = metrics()
    if current.metric_set:
        current.flush_metrics()


def tracing_enabled() -> bool:
    """In Lambda with X-Ray on, unless Powertools' own switch turns tracing off (locally, in tests)."""
    import os

    if os.environ.get("POWERTOOLS_TRACE_DISABLED", "").lower() in ("1", "true"):
        return False
    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME") and os.environ.get("_X_AMZN_TRACE_ID"))


def traced(name: str):
    """A subsegment around one API route; the tracer is imported on the first traced request only."""
    from contextlib import nullcontext

    if not tracing_enabled():
        return nullcontext()
    return tracer().provider.in_subsegment(f"## {name}")
