"""Shared layer of the Bolt checkout merchant backend.

domain/   pure business rules (no boto3, no os.environ)
models/   pydantic v2 models: what Bolt sends, what we answer, our catalog
adapters/ AWS and HTTP boundaries (DynamoDB, Secrets Manager, Bolt API)
http/     turning API Gateway proxy events into one domain call
hooks/    which Bolt event runs which domain call
wiring/   the adapters each function uses, built once per container
workers/  the outbox publisher and the fan-out consumers

A handler imports only the modules its function uses, so that cold starts load nothing else.
"""
