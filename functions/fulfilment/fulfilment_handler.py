"""FulfilmentQueue.fifo -> order submissions and cancellations at the stage's OMS, once per order and action."""

from bolt_merchant.wiring.fanout import fulfilment_once
from bolt_merchant.workers.batches import fifo_consumer_function
from bolt_merchant.workers.fulfilment import fulfil_order

lambda_handler = fifo_consumer_function(fulfil_order, fulfilment_once)
