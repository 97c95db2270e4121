"""What the publisher and the consumers share: failure logging, metrics, the FIFO consumer's handler."""

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from bolt_merchant.models.orders import OutboxEvent
from bolt_merchant.observability import logger, metrics, tracer

if TYPE_CHECKING:
    from bolt_merchant.adapters.idempotency import OncePerKey

LambdaHandler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]
# Failed records are logged (with their traceback) through our JSON logger; it stands in for a logging.Logger,
# which is all the processors call. Record failures carry ids and error codes only, never payloads.
FAILURE_LOGGER = cast(logging.Logger, logger)


def count(name: str) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


def fifo_consumer_function(
    record_handler: Callable[[SQSRecord], None], once: Callable[[], "OncePerKey"]
) -> LambdaHandler:
    """A FIFO queue consumer: a failed record holds back only the later records of its own order (group)."""
    processor = SqsFifoPartialProcessor(skip_group_on_error=True, logger=FAILURE_LOGGER)

    @logger.inject_lambda_context(clear_state=True)
    @tracer.capture_lambda_handler(capture_response=False)
    @metrics.log_metrics
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        once().register_lambda_context(context)
        return dict(
            process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
        )

    return cast(LambdaHandler, lambda_handler)


def queued_event(record: SQSRecord) -> OutboxEvent:
    event = OutboxEvent.model_validate_json(record.body)  # an unparseable body fails this record only
    logger.append_keys(event_id=event.event_id, order_id=event.order_id)
    return event
