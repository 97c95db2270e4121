"""ConfirmationEmailQueue.fifo -> one order confirmation email per order, through SES."""

from bolt_merchant.fanout.confirmation import confirm_order, confirmation_once
from bolt_merchant.fanout.consumers import fifo_consumer_function

lambda_handler = fifo_consumer_function(confirm_order, confirmation_once)
