"""The template's queues, the Bolt secret and the demo catalog, created in the embedded AWS."""

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devstack.catalog import parse_catalog_file, write_catalog
from devstack.template import ROOT, LocalResolver, resources_of_type

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.literals import QueueAttributeNameType

DEMO_CATALOG = ROOT / "data" / "demo-catalog.json"

# CloudFormation queue properties that are plain SQS attributes (RedrivePolicy is handled apart).
_QUEUE_ATTRIBUTES: tuple["QueueAttributeNameType", ...] = (
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
    "VisibilityTimeout",
    "MessageRetentionPeriod",
    "DelaySeconds",
    "MaximumMessageSize",
    "ReceiveMessageWaitTimeSeconds",
    "SqsManagedSseEnabled",
)


def _attribute_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def create_queues(client: "SQSClient", template: Mapping[str, Any], resolver: LocalResolver) -> dict[str, str]:
    """Create every AWS::SQS::Queue of the template, dead-letter queues first. Returns logical id -> queue URL."""
    queues = resources_of_type(template, "AWS::SQS::Queue")
    urls: dict[str, str] = {}
    arns: dict[str, str] = {}
    for logical_id in sorted(queues, key=lambda lid: "RedrivePolicy" in queues[lid].get("Properties", {})):
        properties = queues[logical_id].get("Properties", {})
        name = resolver.queue_name(logical_id)
        url = client.create_queue(QueueName=name, Attributes=queue_attributes(properties, arns, resolver))["QueueUrl"]
        urls[logical_id] = url
        arns[logical_id] = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
    return urls


def queue_attributes(
    properties: Mapping[str, Any], created_arns: Mapping[str, str], resolver: LocalResolver
) -> dict["QueueAttributeNameType", str]:
    attributes: dict[QueueAttributeNameType, str] = {
        key: _attribute_text(resolver.resolve(properties[key])) for key in _QUEUE_ATTRIBUTES if key in properties
    }
    if "RedrivePolicy" in properties:
        policy = resolver.resolve(properties["RedrivePolicy"])
        target = properties["RedrivePolicy"]["deadLetterTargetArn"]
        if isinstance(target, dict) and "Fn::GetAtt" in target:
            # The ARN of the queue actually created: its name may have gained .fifo.
            policy["deadLetterTargetArn"] = created_arns[target["Fn::GetAtt"][0]]
        attributes["RedrivePolicy"] = json.dumps(policy)
    return attributes


def create_bolt_secret(client: "SecretsManagerClient", name: str, document: Mapping[str, str]) -> None:
    client.create_secret(Name=name, SecretString=json.dumps(dict(document)))


def load_catalog_file(client: "DynamoDBClient", table_name: str, path: Path = DEMO_CATALOG) -> int:
    """Write a catalog document into a table; returns the number of items written."""
    document = parse_catalog_file(path.read_text(encoding="utf-8"))
    return write_catalog(client, table_name, document)
