"""ConfirmationEmailQueue.fifo -> one order confirmation email per order, through SES."""

from bolt_merchant import wiring, workers

lambda_handler = workers.fifo_consumer_function(workers.confirm_order, wiring.confirmation_once)
