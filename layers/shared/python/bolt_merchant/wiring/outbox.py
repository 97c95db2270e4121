"""The outbox publisher's SQS client and the consumer queues it feeds."""

from bolt_merchant.adapters.outbox_publisher import SqsFanout, sqs_client
from bolt_merchant.adapters.settings import settings
from bolt_merchant.wiring import per_container


@per_container
def outbox_publisher() -> SqsFanout:
    config = settings()
    queues = [config.require("confirmation_queue_url"), config.require("fulfilment_queue_url")]
    return SqsFanout(sqs_client(), queues)
