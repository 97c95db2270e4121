"""The one Logger, Metrics and Tracer every function uses (service name comes from POWERTOOLS_SERVICE_NAME)."""

import logging
from collections.abc import Callable
from typing import Any, cast

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

LambdaHandler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]

logger = Logger()
metrics = Metrics()
tracer = Tracer()

# Failed batch records are logged (with their traceback) through our JSON logger; it stands in for the
# logging.Logger that Powertools' batch processors call. Record failures carry ids and error codes, never payloads.
FAILURE_LOGGER = cast(logging.Logger, logger)


def count(name: str) -> None:
    """One more of `name` in this invocation's metrics."""
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
