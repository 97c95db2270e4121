"""Write the signed API Gateway events in events/ (for `sam local invoke -e` and the handler tests).

    python -m devstack.make_events

Each event is a REST proxy event for the function's route in template.yaml, stage "dev", with a body signed the way
Bolt signs it: base64(HMAC-SHA256(dev signing secret, exact body bytes)). The output is deterministic (fixed request
ids and times, sorted keys), so re-running it changes nothing and a test can check that events/ never drifts.
Also writes events/env.local.json for `sam local invoke --env-vars events/env.local.json`.
"""

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from devstack.apigw import rest_proxy_event
from devstack.settings import DEFAULT_PENDING_SECRET, DEFAULT_SIGNING_SECRET
from devstack.template import ROOT, ApiRoute, LocalResolver, function_specs, load_template

EVENTS_DIR = ROOT / "events"
ENV_FILE_NAME = "env.local.json"
STAGE = "dev"

# Local-only secrets (devstack/settings.py): never used by a deployed stage, which reads its own from Secrets Manager.
DEV_SIGNING_SECRET = DEFAULT_SIGNING_SECRET
DEV_PENDING_SECRET = DEFAULT_PENDING_SECRET
WRONG_SECRET = "not-the-signing-secret"  # noqa: S105 - deliberately wrong, for the bad-signature event

SIGNATURE_HEADER = "X-Bolt-Hmac-Sha256"
REQUEST_TIME_EPOCH_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z: fixed so the files are reproducible
CATALOG_TABLE_PLACEHOLDER = "REPLACE_WITH_CatalogTableName_OUTPUT"


def sign(body: bytes, secret: str) -> str:
    """What Bolt puts in X-Bolt-Hmac-Sha256 (written out here, independently of the layer's signing module)."""
    return base64.b64encode(hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()).decode("ascii")


def php_style_json(payload: Mapping[str, Any]) -> bytes:
    """Compact JSON with \\uXXXX escapes and escaped slashes, as PHP's json_encode writes it.

    '/' can only occur inside JSON strings, so escaping every one keeps the document equal while making the bytes
    differ from what json.dumps(json.loads(body)) would give: verification must use the raw bytes.
    """
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=True).replace("/", "\\/").encode("ascii")


@cache
def _routes() -> dict[str, ApiRoute]:
    template = load_template()
    routes = {}
    for spec in function_specs(template, LocalResolver(template, "local")):
        if spec.routes:
            routes[spec.code_uri.name] = spec.routes[0]
    return routes


def route_of(function_dir: str) -> ApiRoute:
    """The API route template.yaml declares for functions/<function_dir>/."""
    try:
        return _routes()[function_dir]
    except KeyError:
        raise LookupError(f"template.yaml declares no API route for functions/{function_dir}/") from None


def hook_event(
    function_dir: str,
    body: bytes | None,
    *,
    headers: Mapping[str, str] | None = None,
    request_id: str | None = None,
    binary: bool = False,
) -> dict[str, Any]:
    """A REST proxy event as API Gateway would deliver `body` to the function's route (nothing added to headers)."""
    route = route_of(function_dir)
    event = rest_proxy_event(route.method, route.path, route.path, body, headers=headers, stage=STAGE, binary=binary)
    event["requestContext"]["requestId"] = request_id or str(uuid.uuid5(uuid.NAMESPACE_URL, f"{function_dir}"))
    event["requestContext"]["requestTimeEpoch"] = REQUEST_TIME_EPOCH_MS
    return event


def bolt_headers(body: bytes, secret: str | None = DEV_SIGNING_SECRET) -> dict[str, str]:
    """Headers of a Bolt hook request; secret=None leaves the signature out."""
    headers = {"Content-Type": "application/json", "X-Bolt-Trace-Id": "local-example-trace"}
    if secret is not None:
        headers[SIGNATURE_HEADER] = sign(body, secret)
    return headers


# ---------------------------------------------------------------- payloads (demo catalog SKUs, see data/)


def money(cents: int) -> dict[str, Any]:
    """The object form of an amount (order.create style); Bolt also sends plain integers."""
    return {"amount": cents, "currency": "USD", "currency_symbol": "$"}


SF_ADDRESS: dict[str, Any] = {
    "street_address1": "1 Market St",
    "locality": "San Francisco",
    "region": "California",
    "postal_code": "94102",
    "country_code": "US",
    "country": "United States",
    "first_name": "Ren\u00e9e",
    "last_name": "Dupr\u00e9",
    "email": "renee@example.com",
    "phone": "4155550100",
}


def _billing_address() -> dict[str, Any]:
    """Bolt's order.create fixtures name these email_address and phone_number; the models accept both."""
    address = {key: value for key, value in SF_ADDRESS.items() if key not in ("email", "phone")}
    return {**address, "email_address": SF_ADDRESS["email"], "phone_number": SF_ADDRESS["phone"]}


def demo_cart(amount_objects: bool = False) -> dict[str, Any]:
    """Two canvas totes and a mug: $64.00, under the free-shipping threshold, all taxable."""
    amount = money if amount_objects else (lambda cents: cents)
    items = [
        ("TOTE-BLUE", "Canvas Tote (Blue)", 2, 2400),
        ("MUG-12OZ", "Stoneware Mug 12oz", 1, 1600),
    ]
    return {
        "order_reference": "c_demo0001",
        "display_id": "",
        "currency": {"currency": "USD", "currency_symbol": "$"} if amount_objects else "USD",
        "total_amount": amount(sum(q * p for _, _, q, p in items)),
        "tax_amount": amount(0),
        "items": [
            {
                "reference": sku,
                "sku": sku,
                "name": name,
                "quantity": quantity,
                "unit_price": amount(price),
                "total_amount": amount(quantity * price),
                "type": "physical",
                "taxable": True,
                "image_url": "https://shop.example.com/img/" + sku.lower() + ".png",
                "properties": [],
            }
            for sku, name, quantity, price in items
        ],
        "billing_address": _billing_address(),
        "shipments": None,
        "discounts": [],
        "discount_code": "",
        "metadata": {"cart_id": "c_demo0001"},
    }


def universal(event: str, data: Mapping[str, Any]) -> dict[str, Any]:
    return {"event": event, "data": dict(data)}


def legacy(event: str, data: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": event, **data}


def _schema_invalid() -> dict[str, Any]:
    cart = demo_cart()
    cart["items"][0]["unit_price"] = "24.00"  # a string: amounts are integer cents
    address = {**SF_ADDRESS, "country_code": "USA", "postal_code": "CANARY-94102-0000-0000"}
    return universal("order.shipping", {"cart": cart, "shipping_address": address})


@dataclass(frozen=True)
class EventCase:
    function_dir: str
    name: str
    payload: dict[str, Any]
    secret: str | None = DEV_SIGNING_SECRET

    @property
    def body(self) -> bytes:
        return php_style_json(self.payload)

    @property
    def path(self) -> Path:
        return Path(self.function_dir) / f"{self.name}.json"

    def event(self) -> dict[str, Any]:
        body = self.body
        return hook_event(
            self.function_dir,
            body,
            headers=bolt_headers(body, self.secret),
            request_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"bolt-merchant/{self.function_dir}/{self.name}")),
        )


def cases() -> list[EventCase]:
    shipping_data = {"cart": demo_cart(), "shipping_address": SF_ADDRESS}
    legacy_data = {"order_token": "0" * 64, "cart": demo_cart(amount_objects=True), "shipping_address": SF_ADDRESS}

    def tax_data(**choice: Any) -> dict[str, Any]:
        return {**shipping_data, **choice}

    return [
        EventCase("shipping", "universal_valid", universal("order.shipping", shipping_data)),
        EventCase("shipping", "legacy_valid", legacy("order.shipping", legacy_data)),
        EventCase("shipping", "bad_signature", universal("order.shipping", shipping_data), secret=WRONG_SECRET),
        EventCase("shipping", "schema_invalid", _schema_invalid()),
        EventCase(
            "tax",
            "delivery_option",
            universal(
                "order.tax",
                tax_data(shipping_option={"reference": "standard", "service": "Standard (5-7 days)", "cost": 599}),
            ),
        ),
        EventCase(
            "tax",
            "pickup_store_sf",
            universal(
                "order.tax",
                tax_data(ship_to_store_option={"reference": "store-sf", "service": "Union Square Store", "cost": 0}),
            ),
        ),
        EventCase(
            "tax",
            "unknown_option",
            universal(
                "order.tax", tax_data(shipping_option={"reference": "teleport", "service": "Teleport", "cost": 1})
            ),
        ),
        EventCase("shipping_and_tax", "valid", universal("order.shipping_and_tax", shipping_data)),
    ]


def env_vars() -> dict[str, dict[str, str]]:
    """`sam local invoke --env-vars` file: "Parameters" applies to every function (SAM only sets variables the
    template declares for the function; the others are silently dropped)."""
    return {
        "Parameters": {
            "ENVIRONMENT": "local",
            "BOLT_SECRET_NAME": "",
            "BOLT_SIGNING_SECRET": DEV_SIGNING_SECRET,
            "BOLT_SIGNING_SECRET_PENDING": DEV_PENDING_SECRET,
            "CATALOG_TABLE_NAME": CATALOG_TABLE_PLACEHOLDER,
        }
    }


def render(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=True) + "\n"


def rendered_files() -> dict[Path, str]:
    """Every file this script writes, relative to events/, with its exact content."""
    files = {case.path: render(case.event()) for case in cases()}
    files[Path(ENV_FILE_NAME)] = render(env_vars())
    return files


def write(directory: Path = EVENTS_DIR) -> list[Path]:
    written = []
    for relative, text in sorted(rendered_files().items()):
        target = directory / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written


def main() -> None:
    for path in write():
        print(path.relative_to(ROOT))


if __name__ == "__main__":
    main()
