"""FulfilmentQueue.fifo -> order submissions and cancellations at the stage's OMS, once per order and action."""

from bolt_merchant.fanout.consumers import fifo_consumer_function
from bolt_merchant.fanout.fulfilment import fulfil_order, fulfilment_once

lambda_handler = fifo_consumer_function(fulfil_order, fulfilment_once)
