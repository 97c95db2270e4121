"""The catalog table's keys, and its items as plain values: what the catalog and the order stores share."""

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

SETTINGS_KEY = "SETTINGS"
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def product_key(sku: str) -> str:
    return f"PRODUCT#{sku}"


def discount_key(code: str) -> str:
    return f"DISCOUNT#{code}"


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; ours are whole numbers."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _plain(_deserializer.deserialize(value)) for key, value in item.items()}


def to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _serializer.serialize(value) for key, value in values.items() if value is not None}
