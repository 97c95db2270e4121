"""Write the signed API Gateway events in events/ (for `sam local invoke -e` and the handler tests).

    python -m devstack.make_events

Each event is a REST proxy event for the function's route in template.yaml, stage "dev", with a body built and signed
by devstack/bolt_payloads.py the way Bolt signs it: base64(HMAC-SHA256(dev signing secret, exact body bytes)). The
output is deterministic (fixed request ids and times, sorted keys), so re-running it changes nothing and a test can
check that events/ never drifts. Also writes events/env.local.json for `sam local invoke --env-vars
events/env.local.json`.
"""

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from devstack import bolt_payloads as bolt
from devstack.apigw import rest_proxy_event
from devstack.settings import DEFAULT_SIGNING_SECRET
from devstack.template import ROOT, ApiRoute, FunctionSpec, LocalResolver, function_specs, load_template

EVENTS_DIR = ROOT / "events"
ENV_FILE_NAME = "env.local.json"
STAGE = "dev"

# Local-only secret (devstack/settings.py): never used by a deployed stage, which reads its own from Secrets Manager.
DEV_SIGNING_SECRET = DEFAULT_SIGNING_SECRET
WRONG_SECRET = "not-the-signing-secret"  # noqa: S105 - deliberately wrong, for the bad-signature event

CATALOG_TABLE_PLACEHOLDER = "REPLACE_WITH_CatalogTableName_OUTPUT"
DEV_STAGE_SECRET = "bolt-merchant/dev"  # noqa: S105 - the name of samconfig.toml's dev stage secret
ORDERS_TABLE_PLACEHOLDER = "REPLACE_WITH_OrdersTableName_OUTPUT"

SF_ADDRESS, universal = bolt.SF_ADDRESS, bolt.universal


@cache
def _specs() -> tuple[FunctionSpec, ...]:
    template = load_template()
    return tuple(function_specs(template, LocalResolver(template, "local")))


def route_of(function_dir: str, path: str | None = None) -> ApiRoute:
    """The API route template.yaml declares for functions/<function_dir>/ (its first one unless `path` is given)."""
    routes = [route for spec in _specs() if spec.code_uri.name == function_dir for route in spec.routes]
    for route in routes:
        if path is None or route.path == path:
            return route
    raise LookupError(f"template.yaml declares no API route {path or ''} for functions/{function_dir}/")


def hook_event(
    function_dir: str,
    body: bytes | None,
    *,
    headers: Mapping[str, str] | None = None,
    request_id: str | None = None,
    binary: bool = False,
    route_path: str | None = None,
    path_parameters: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A REST proxy event as API Gateway would deliver `body` to the function's route (nothing added to headers).

    route_path picks one of the function's routes (template form, e.g. /storefront/carts/{cart_id}/...);
    path_parameters fill its {placeholders}.
    """
    route = route_of(function_dir, route_path)
    path = route.path
    for name, value in (path_parameters or {}).items():
        path = path.replace("{" + name + "}", value)
    event = rest_proxy_event(
        route.method,
        route.path,
        path,
        body,
        headers=headers,
        path_parameters=path_parameters,
        stage=STAGE,
        binary=binary,
    )
    event["requestContext"]["requestId"] = request_id or str(uuid.uuid5(uuid.NAMESPACE_URL, f"{function_dir}"))
    event["requestContext"]["requestTimeEpoch"] = bolt.FIXED_TIME_MS
    return event


def _schema_invalid() -> dict[str, Any]:
    cart = bolt.hook_cart()
    cart["items"][0]["unit_price"] = "24.00"  # a string: amounts are integer cents
    address = {**SF_ADDRESS, "country_code": "USA", "postal_code": "CANARY-94102-0000-0000"}
    return universal("order.shipping", bolt.shipping_request(cart, address=address))


@dataclass(frozen=True)
class EventCase:
    function_dir: str
    name: str
    payload: dict[str, Any] | None
    secret: str = DEV_SIGNING_SECRET
    from_bolt: bool = True  # False: the storefront's own API, called by our web front end (no Bolt signature)
    route_path: str | None = None
    path_parameters: dict[str, str] | None = None

    @property
    def body(self) -> bytes | None:
        return None if self.payload is None else bolt.php_style_json(self.payload)

    @property
    def signed_with_dev_secret(self) -> bool:
        return self.from_bolt and self.secret == DEV_SIGNING_SECRET

    @property
    def path(self) -> Path:
        return Path(self.function_dir) / f"{self.name}.json"

    def event(self) -> dict[str, Any]:
        body = self.body
        headers = (
            bolt.bolt_headers(body or b"", self.secret) if self.from_bolt else {"Content-Type": "application/json"}
        )
        return hook_event(
            self.function_dir,
            body,
            headers=headers,
            request_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"bolt-merchant/{self.function_dir}/{self.name}")),
            route_path=self.route_path,
            path_parameters=self.path_parameters,
        )


# The totes at the price a shopper's open checkout still shows after the catalog price went up to 2400.
STALE_TOTES = bolt.Line("TOTE-BLUE", "Canvas Tote (Blue)", 2, 2000)
STANDARD = dict(zip(("reference", "service", "cost"), bolt.STANDARD_SHIPPING, strict=True))  # the option chosen


def _checkout_cases() -> list[EventCase]:
    create = bolt.order_create(bolt.order_cart())
    apply_welcome = bolt.discount_apply("WELCOME10")
    add_mug = bolt.cart_update(add=(("MUG-12OZ", 1),))
    return [
        # discounts.code.apply (legacy endpoint /bolt/discounts/apply accepts both forms)
        EventCase("discounts", "universal_welcome10", universal("discounts.code.apply", apply_welcome)),
        EventCase("discounts", "legacy_welcome10", bolt.legacy("discounts.code.apply", apply_welcome)),
        EventCase("discounts", "unknown_code", universal("discounts.code.apply", bolt.discount_apply("NOSUCHCODE"))),
        EventCase("discounts", "expired_code", universal("discounts.code.apply", bolt.discount_apply("EXPIRED5"))),
        EventCase("discounts", "bad_signature", universal("discounts.code.apply", apply_welcome), WRONG_SECRET),
        # order.create: the demo cart with standard shipping to San Francisco
        EventCase("order_create", "universal_valid", universal("order.create", create)),
        EventCase("order_create", "legacy_valid", bolt.legacy("order.create", create)),
        EventCase(
            "order_create",
            "price_changed",
            universal("order.create", bolt.order_create(bolt.order_cart(lines=(STALE_TOTES, bolt.DEMO_LINES[1])))),
        ),
        EventCase("order_create", "bad_signature", universal("order.create", create), WRONG_SECRET),
        # cart.update
        EventCase("cart_update", "add_item", universal("cart.update", add_mug)),
        EventCase("cart_update", "remove_item", universal("cart.update", bolt.cart_update(remove=(("TOTE-BLUE", 1),)))),
        EventCase(
            "cart_update", "add_discount", universal("cart.update", bolt.cart_update(codes_to_add=("WELCOME10",)))
        ),
        EventCase(
            "cart_update", "remove_missing_item", universal("cart.update", bolt.cart_update(remove=(("HOODIE-M", 1),)))
        ),
        EventCase("cart_update", "legacy_add_item", bolt.legacy("cart.update", add_mug)),
        # the universal endpoint: one of each event it serves, and one it does not
        EventCase("universal", "order_create", universal("order.create", create)),
        EventCase("universal", "discounts_code_apply", universal("discounts.code.apply", apply_welcome)),
        EventCase("universal", "cart_update", universal("cart.update", add_mug)),
        EventCase("universal", "order_shipping", universal("order.shipping", bolt.shipping_request())),
        EventCase("universal", "order_tax", universal("order.tax", bolt.tax_request(STANDARD))),
        EventCase("universal", "order_shipping_and_tax", universal("order.shipping_and_tax", bolt.shipping_request())),
        EventCase("universal", "unknown_event", universal("order.refund", {"cart": bolt.hook_cart()})),
        # the storefront's own API (not Bolt's): create a cart (client prices are ignored), then its order token
        EventCase(
            "storefront",
            "create_cart",
            {
                "currency": "USD",
                "items": [
                    {"sku": "TOTE-BLUE", "quantity": 2, "unit_price": 1},
                    {"sku": "MUG-12OZ", "quantity": 1},
                ],
            },
            from_bolt=False,
            route_path="/storefront/carts",
        ),
        EventCase(
            "storefront",
            "order_token",
            None,
            from_bolt=False,
            route_path="/storefront/carts/{cart_id}/bolt-order-token",
            path_parameters={"cart_id": bolt.DEMO_CART_ID},
        ),
    ]


def _webhook_cases() -> list[EventCase]:
    full_capture = ((bolt.capture_id(1), bolt.DEMO_TOTAL),)
    money_types: dict[str, dict[str, Any]] = {
        "pending": bolt.transaction_webhook("pending"),
        "auth": bolt.transaction_webhook("auth"),
        "capture": bolt.transaction_webhook("capture", captures=full_capture),
        "payment": bolt.transaction_webhook("payment", captures=full_capture),
        "credit": bolt.transaction_webhook("credit", amount=1500),
        "void": bolt.transaction_webhook("void"),
        "failed_payment": bolt.transaction_webhook("failed_payment"),
        "rejected_reversible": bolt.transaction_webhook("rejected_reversible"),
        "rejected_irreversible": bolt.transaction_webhook("rejected_irreversible"),
    }
    cases = [EventCase("transaction_webhook", name, payload) for name, payload in money_types.items()]
    cases += [
        EventCase("transaction_webhook", "legacy_auth", bolt.legacy_transaction_webhook("auth")),
        EventCase(
            "transaction_webhook",
            "newsletter_subscription",
            {
                "type": "newsletter_subscription",
                "object": "newsletter",
                "data": {"email": SF_ADDRESS["email"], "subscribed": True},
            },
        ),
        EventCase(
            "transaction_webhook",
            "risk_insights",
            {"type": "risk_insights", "object": "transaction", "data": {"id": bolt.payment_id(), "risk_score": 12}},
        ),
        EventCase("transaction_webhook", "bad_signature", money_types["auth"], WRONG_SECRET),
        EventCase(
            "transaction_webhook",
            "schema_invalid",
            {"type": "auth", "object": "transaction", "data": {**money_types["auth"]["data"], "amount": "74.63"}},
        ),
        EventCase(
            "credit_card_webhook",
            "credit_card_deleted",
            {"type": "credit_card_deleted", "object": "credit_card", "data": {"id": "CCdemo0001", "last4": "1111"}},
        ),
        EventCase(
            "credit_card_webhook",
            "bad_signature",
            {"type": "credit_card_deleted", "object": "credit_card", "data": {"id": "CCdemo0001"}},
            WRONG_SECRET,
        ),
    ]
    return cases


def cases() -> list[EventCase]:
    shipping_data = bolt.shipping_request()
    legacy_data = bolt.shipping_request(bolt.hook_cart(amount_objects=True), token="0" * 64)
    store_sf = {"reference": "store-sf", "service": "Union Square Store", "cost": 0}
    return [
        EventCase("shipping", "universal_valid", universal("order.shipping", shipping_data)),
        EventCase("shipping", "legacy_valid", bolt.legacy("order.shipping", legacy_data)),
        EventCase("shipping", "bad_signature", universal("order.shipping", shipping_data), secret=WRONG_SECRET),
        EventCase("shipping", "schema_invalid", _schema_invalid()),
        EventCase("tax", "delivery_option", universal("order.tax", bolt.tax_request(STANDARD))),
        EventCase("tax", "pickup_store_sf", universal("order.tax", bolt.tax_request(store_sf, pickup=True))),
        EventCase(
            "tax",
            "unknown_option",
            universal("order.tax", bolt.tax_request({"reference": "teleport", "service": "Teleport", "cost": 1})),
        ),
        EventCase("shipping_and_tax", "valid", universal("order.shipping_and_tax", shipping_data)),
        *_checkout_cases(),
        *_webhook_cases(),
    ]


def env_vars() -> dict[str, dict[str, str]]:
    """`sam local invoke --env-vars` file: "Parameters" applies to every function, a function's logical id adds
    to it for that function (SAM only sets variables the template declares for the function; the others are
    silently dropped). The orders table only goes to the functions that declare it. The functions read the
    deployed dev stage's tables and Bolt secret."""
    document = {
        "Parameters": {
            "BOLT_SECRET_NAME": DEV_STAGE_SECRET,
            "CATALOG_TABLE_NAME": CATALOG_TABLE_PLACEHOLDER,
        }
    }
    function_dirs = {case.function_dir for case in cases()}
    for spec in _specs():
        if spec.code_uri.name in function_dirs and "ORDERS_TABLE_NAME" in spec.environment:
            document[spec.logical_id] = {"ORDERS_TABLE_NAME": ORDERS_TABLE_PLACEHOLDER}
    return document


def render(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=True) + "\n"


def rendered_files() -> dict[Path, str]:
    """Every file this script writes, relative to events/, with its exact content."""
    files = {case.path: render(case.event()) for case in cases()}
    files[Path(ENV_FILE_NAME)] = render(env_vars())
    return files


def write_files(files: Mapping[Path, str], directory: Path) -> list[Path]:
    """Each text at its path relative to `directory`, in the order given; the paths written."""
    written = []
    for relative, text in files.items():
        target = directory / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written


def write(directory: Path = EVENTS_DIR) -> list[Path]:
    return write_files(dict(sorted(rendered_files().items())), directory)


def main() -> None:
    for path in write():
        print(path.relative_to(ROOT))


if __name__ == "__main__":
    main()
