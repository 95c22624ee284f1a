"""Powertools logging, metrics and tracing, configured once per process.

The logger and metrics are cheap and built on first use. The X-Ray tracer is not: Powertools' `Tracer`
imports aws_xray_sdk and builds a botocore client even when tracing is off. `tracer()` therefore hands
out a stand-in whose decorators check `tracing_enabled()` on each call and build the real `Tracer` only
on the first traced invocation; with tracing off, aws_xray_sdk is never imported.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache, wraps
from typing import Any

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


class LazyTracer:
    """Powertools' `Tracer`, built when a traced invocation first needs it (never when tracing is off).

    `capture_lambda_handler` and `capture_method` decorate at import without building anything; any other
    attribute (e.g. `provider`) builds the real tracer and is read from it."""

    def __init__(self) -> None:
        self._real: Any = None

    @property
    def built(self) -> bool:
        return self._real is not None

    def real(self) -> Any:
        if self._real is None:
            from aws_lambda_powertools import Tracer

            self._real = Tracer(service=SERVICE)
        return self._real

    def capture_lambda_handler(self, handler: Callable[..., Any] | None = None, **options: Any) -> Any:
        return self._capture("capture_lambda_handler", handler, options)

    def capture_method(self, method: Callable[..., Any] | None = None, **options: Any) -> Any:
        return self._capture("capture_method", method, options)

    def _capture(self, decorator: str, fn: Callable[..., Any] | None, options: dict[str, Any]) -> Any:
        if fn is None:
            return lambda f: self._capture(decorator, f, options)
        traced_fn: Callable[..., Any] | None = None

        @wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            nonlocal traced_fn
            if not tracing_enabled():
                return fn(*args, **kwargs)
            if traced_fn is None:
                traced_fn = getattr(self.real(), decorator)(fn, **options)
            return traced_fn(*args, **kwargs)

        return wrapper

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real(), name)


@lru_cache(maxsize=1)
def tracer() -> LazyTracer:
    return LazyTracer()


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
    """A subsegment around one API route or step; the tracer is built on the first traced call only."""
    from contextlib import nullcontext

    if not tracing_enabled():
        return nullcontext()
    return tracer().provider.in_subsegment(f"## {name}")
