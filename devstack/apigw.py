"""Build API Gateway REST (v1) proxy events the way API Gateway hands them to Lambda."""

import base64
import time
import uuid
from collections.abc import Mapping
from typing import Any


def match_route(template_path: str, path: str) -> dict[str, str] | None:
    """'/storefront/carts/{cart_id}' vs '/storefront/carts/c_1' -> {'cart_id': 'c_1'}; None if no match."""
    pattern = template_path.strip("/").split("/")
    actual = path.strip("/").split("/")
    if len(pattern) != len(actual):
        return None
    params = {}
    for expected, got in zip(pattern, actual, strict=True):
        if expected.startswith("{") and expected.endswith("}"):
            if not got:
                return None
            params[expected[1:-1]] = got
        elif expected != got:
            return None
    return params


def rest_proxy_event(
    method: str,
    resource: str,
    path: str,
    body: bytes | None,
    *,
    headers: Mapping[str, str] | None = None,
    path_parameters: Mapping[str, str] | None = None,
    query: Mapping[str, str] | None = None,
    stage: str = "local",
    binary: bool = False,
) -> dict[str, Any]:
    """A REST proxy event. Text bodies are passed as UTF-8 strings, binary ones (or non-UTF-8) base64-encoded."""
    header_map = dict(headers or {})
    encoded = False
    text: str | None = None
    if body is not None:
        if not binary:
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                binary = True
        if binary:
            text = base64.b64encode(body).decode("ascii")
            encoded = True
    now = time.time()
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method.upper(),
        "headers": header_map or None,
        "multiValueHeaders": {k: [v] for k, v in header_map.items()} or None,
        "queryStringParameters": dict(query) if query else None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": dict(path_parameters) if path_parameters else None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method.upper(),
            "path": f"/{stage}{path}",
            "stage": stage,
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(now * 1000),
            "protocol": "HTTP/1.1",
            "identity": {"sourceIp": "127.0.0.1", "userAgent": header_map.get("User-Agent")},
            "accountId": "123456789012",
            "apiId": "local",
        },
        "body": text,
        "isBase64Encoded": encoded,
    }
