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
# With Tracing: Active the Tracer is on in Lambda. Tracer() would patch every library the X-Ray SDK supports,
# importing requests, sqlite3 and the probes for a dozen others in every function at init; only botocore (every
# AWS call) is used everywhere, and requests is patched by the modules that load it (trace_requests()).
tracer = Tracer(patch_modules=("botocore",))

# Failed batch records are logged (with their traceback) through our JSON logger; it stands in for the
# logging.Logger that Powertools' batch processors call. Record failures carry ids and error codes, never payloads.
FAILURE_LOGGER = cast(logging.Logger, logger)


def trace_requests() -> None:
    """HTTP calls through requests become X-Ray subsegments, as botocore's do; called where requests is imported
    (on first use), and a no-op when tracing is off or requests is already patched."""
    tracer.patch(("requests",))


def count(name: str) -> None:
    """One more of `name` in this invocation's metrics."""
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
