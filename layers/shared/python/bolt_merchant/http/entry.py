"""Lambda entry points: one resolver per function, Powertools observability around it."""

from collections.abc import Callable
from typing import Any, Protocol, cast

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from bolt_merchant.http.bolt_hooks import BoltHookEndpoint, Hook
from bolt_merchant.observability import logger, metrics, tracer
from bolt_merchant.wiring.bolt import signed_reader

LambdaHandler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]
BOLT_TRACE_HEADER = "X-Bolt-Trace-Id"


def api_function(app: APIGatewayRestResolver) -> LambdaHandler:
    """The Lambda handler serving `app`, with correlation ids, traces and metrics."""

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
    @tracer.capture_lambda_handler(capture_response=False)
    @metrics.log_metrics
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return app.resolve(event, context)

    return cast(LambdaHandler, lambda_handler)


class SignedEndpoint(Protocol):
    def answer(self, event: APIGatewayProxyEvent) -> Response[Any]: ...


def bolt_hook_function(path: str, *hooks: Hook) -> LambdaHandler:
    """A function answering Bolt-signed POSTs on `path` for the given hook events."""
    return signed_function(path, BoltHookEndpoint(hooks, signed_reader()))


def signed_function(path: str, bolt_endpoint: SignedEndpoint) -> LambdaHandler:
    """A function answering Bolt-signed POSTs on `path` with `bolt_endpoint`."""
    app = APIGatewayRestResolver()

    @app.post(path)
    def answer() -> Any:
        trace_id = app.current_event.headers.get(BOLT_TRACE_HEADER)
        if trace_id:
            logger.append_keys(bolt_trace_id=trace_id[:64])
        return bolt_endpoint.answer(app.current_event)

    return api_function(app)
