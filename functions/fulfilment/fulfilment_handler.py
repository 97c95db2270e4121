"""FulfilmentQueue.fifo -> order submissions and cancellations at the stage's OMS, once per order and action."""

from bolt_merchant import wiring, workers

lambda_handler = workers.fifo_consumer_function(workers.fulfil_order, wiring.fulfilment_once)
