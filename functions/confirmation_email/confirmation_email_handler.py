"""ConfirmationEmailQueue.fifo -> one order confirmation email per order, through SES."""

from bolt_merchant.wiring.fanout import confirmation_once
from bolt_merchant.workers.batches import fifo_consumer_function
from bolt_merchant.workers.confirmation import confirm_order

lambda_handler = fifo_consumer_function(confirm_order, confirmation_once)
