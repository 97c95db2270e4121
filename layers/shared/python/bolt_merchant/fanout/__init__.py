"""The outbox publisher and the FIFO consumers (confirmation email, fulfilment hand-off)."""

# Imported here, before any module of this package loads pydantic, on purpose: Powertools' batch utility imports
# two dozen of its parser models (SQS, DynamoDB, Kinesis, Kafka records) for type hints alone whenever pydantic is
# already loaded, ~25 ms of every worker's cold start (BENCHMARKS.md). tests/unit/test_layer_imports.py checks it.
import aws_lambda_powertools.utilities.batch  # noqa: F401
