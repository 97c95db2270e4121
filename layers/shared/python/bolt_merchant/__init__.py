"""Shared layer of the Bolt checkout merchant backend.

domain/   pure business rules (no boto3, no os.environ)
models/   pydantic v2 models: what Bolt sends, what we answer, our catalog
adapters/ AWS and HTTP boundaries (DynamoDB, Secrets Manager, Bolt API)
http/     turning API Gateway proxy events into one domain call
"""
