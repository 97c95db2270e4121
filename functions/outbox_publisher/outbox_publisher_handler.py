"""Orders table stream -> every outbox event to every consumer's SQS FIFO queue (group = order, dedup = event)."""

from bolt_merchant.fanout.publisher import outbox_publisher_function

lambda_handler = outbox_publisher_function()
