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
DEV_STAGE_SECRET = "bolt-merchant/dev"  # noqa: S105 - the name of samconfig.toml's dev stage secret
ORDERS_TABLE_PLACEHOLDER = "REPLACE_WITH_OrdersTableName_OUTPUT"


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
def _routes() -> dict[str, list[ApiRoute]]:
    template = load_template()
    return {
        spec.code_uri.name: spec.routes
        for spec in function_specs(template, LocalResolver(template, "local"))
        if spec.routes
    }


def route_of(function_dir: str, path: str | None = None) -> ApiRoute:
    """The API route template.yaml declares for functions/<function_dir>/ (its first one unless `path` is given)."""
    routes = _routes().get(function_dir, [])
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


Line = tuple[str, str, int, int]  # sku, name, quantity, unit price in cents

# The demo cart every checkout and webhook event refers to. Bolt only knows it by its order_reference, so tests (and
# a developer using `sam local invoke`) store a cart with this id and these lines first; see tests/functions/seed.py.
DEMO_CART_ID = "c_demo0001"
DEMO_LINES: tuple[Line, ...] = (
    ("TOTE-BLUE", "Canvas Tote (Blue)", 2, 2400),
    ("MUG-12OZ", "Stoneware Mug 12oz", 1, 1600),
)
DEMO_SUBTOTAL = sum(quantity * price for _, _, quantity, price in DEMO_LINES)  # 6400
STANDARD_SHIPPING = ("standard", "Standard (5-7 days)", 599)  # under the 7500 free-shipping threshold
# California (US-CA, 7.25 %), half up per line: 4800 -> 348, 1600 -> 116. California does not tax shipping.
DEMO_TAX = 464
DEMO_TOTAL = DEMO_SUBTOTAL + STANDARD_SHIPPING[2] + DEMO_TAX  # 7463
DISCOUNT_DESCRIPTIONS = {"WELCOME10": "$10 off your first order", "ONEUSE": "Single-use code"}


def demo_cart(amount_objects: bool = False) -> dict[str, Any]:
    """Two canvas totes and a mug: $64.00, under the free-shipping threshold, all taxable."""
    amount = money if amount_objects else (lambda cents: cents)
    return {
        "order_reference": DEMO_CART_ID,
        "display_id": "",
        "currency": {"currency": "USD", "currency_symbol": "$"} if amount_objects else "USD",
        "total_amount": amount(DEMO_SUBTOTAL),
        "tax_amount": amount(0),
        "items": [_item(line, amount) for line in DEMO_LINES],
        "billing_address": _billing_address(),
        "shipments": None,
        "discounts": [],
        "discount_code": "",
        "metadata": {"cart_id": DEMO_CART_ID},
    }


def _item(line: Line, amount: Any) -> dict[str, Any]:
    sku, name, quantity, price = line
    return {
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


def order_token_for(cart_id: str) -> str:
    """A stand-in for the 64-hex-digit order token Bolt issued for the cart."""
    return hashlib.sha256(f"bolt-order-token/{cart_id}".encode()).hexdigest()


def order_cart(
    cart_id: str = DEMO_CART_ID,
    lines: tuple[Line, ...] = DEMO_LINES,
    *,
    shipping: tuple[str, str, int] | None = STANDARD_SHIPPING,
    tax: int = DEMO_TAX,
    discounts: tuple[tuple[str, int], ...] = (),
    total: int | None = None,
) -> dict[str, Any]:
    """Bolt's cart as order.create and the transaction webhooks carry it (amounts as objects, §3.3): the shopper's
    items, the shipping option they chose (None for digital-only carts), the tax, any discounts, and the total
    (computed unless given)."""
    subtotal = sum(quantity * price for _, _, quantity, price in lines)
    discount_total = sum(amount for _, amount in discounts)
    cost = shipping[2] if shipping else 0
    shipments = []
    if shipping is not None:
        reference, service, _ = shipping
        shipments.append(
            {
                "shipping_address": SF_ADDRESS,
                "shipping_method": "unknown",
                "service": service,
                "cost": money(cost),
                "reference": reference,
            }
        )
    return {
        "order_reference": cart_id,
        "display_id": "",
        "currency": {"currency": "USD", "currency_symbol": "$"},
        "subtotal_amount": money(subtotal),
        "total_amount": money(subtotal - discount_total + cost + tax if total is None else total),
        "tax_amount": money(tax),
        "shipping_amount": money(cost),
        "discount_amount": money(discount_total),
        "billing_address": _billing_address(),
        "items": [_item(line, money) for line in lines],
        "shipments": shipments,
        "discounts": [
            {
                "code": code,
                "reference": code,
                "amount": money(amount),
                "description": DISCOUNT_DESCRIPTIONS.get(code, code),
                "discount_category": "coupon",
            }
            for code, amount in discounts
        ],
        "metadata": {"cart_version": "1"},
    }


def order_create(cart: Mapping[str, Any]) -> dict[str, Any]:
    """order.create's data: Bolt's order (token + cart)."""
    return {"currency": "USD", "order": {"token": order_token_for(str(cart["order_reference"])), "cart": dict(cart)}}


def discount_apply(code: str, cart: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """discounts.code.apply's data: the code and the cart with the shipping option chosen so far."""
    return {
        "discount_code": code,
        "cart": dict(cart or order_cart()),
        "customer_name": "Ren\u00e9e Dupr\u00e9",
        "customer_email": SF_ADDRESS["email"],
        "customer_phone": SF_ADDRESS["phone"],
    }


def cart_update(
    cart_id: str = DEMO_CART_ID,
    *,
    add: tuple[tuple[str, int], ...] = (),
    remove: tuple[tuple[str, int], ...] = (),
    codes_to_add: tuple[str, ...] = (),
    codes_to_remove: tuple[str, ...] = (),
) -> dict[str, Any]:
    """cart.update's data (§3.7): the cart, and items and discount codes to add or remove."""
    return {
        "cart": {"order_reference": cart_id, "currency": "USD", "shipments": [], "metadata": {"cart_version": "1"}},
        "add_items": [{"product_id": sku, "quantity": quantity, "currency": "USD"} for sku, quantity in add],
        "remove_items": [{"product_id": sku, "quantity": quantity} for sku, quantity in remove],
        "discount_codes_to_add": list(codes_to_add),
        "discount_codes_to_remove": list(codes_to_remove),
    }


# ---------------------------------------------------------------- transaction webhooks (reference §4)

WEBHOOK_DATE_MS = REQUEST_TIME_EPOCH_MS
# What Bolt's transaction `status` is when each webhook type is sent (§4.1).
TRANSACTION_STATUS = {
    "pending": "pending",
    "auth": "authorized",
    "capture": "completed",
    "payment": "completed",
    "credit": "completed",
    "void": "cancelled",
    "failed_payment": "failed",
    "rejected_reversible": "rejected_reversible",
    "rejected_irreversible": "rejected_irreversible",
}


def payment_id(cart_id: str = DEMO_CART_ID) -> str:
    """The Bolt payment transaction id ("TA...") for the cart's checkout."""
    return f"TA-{cart_id}"


def payment_reference(cart_id: str = DEMO_CART_ID) -> str:
    return f"REF-{cart_id}"


def capture_id(number: int, cart_id: str = DEMO_CART_ID) -> str:
    return f"CA-{cart_id}-{number}"


def credit_id(number: int, cart_id: str = DEMO_CART_ID) -> str:
    """A refund is its own cc_credit transaction, with its own id and reference."""
    return f"TC-{cart_id}-{number}"


def transaction_webhook(
    hook_type: str,
    *,
    cart_id: str = DEMO_CART_ID,
    cart: Mapping[str, Any] | None = None,
    amount: int = DEMO_TOTAL,
    captures: tuple[tuple[str, int], ...] = (),
    credit: str | None = None,
    currency: str = "USD",
) -> dict[str, Any]:
    """A v2 webhook {type, object: "transaction", data: transaction} (§4.2, §4.3) for the cart's payment.

    captures: (capture id, amount) of every capture the transaction has so far, as Bolt lists them in `captures`.
    For `credit`, the transaction is the refund (cc_credit, id `credit`) and `amount` the refunded amount; it points
    to the payment through source_transaction.
    """
    cart_document = dict(cart or order_cart(cart_id))
    transaction: dict[str, Any] = {
        "id": payment_id(cart_id),
        "type": "cc_payment",
        "date": WEBHOOK_DATE_MS,
        "reference": payment_reference(cart_id),
        "status": TRANSACTION_STATUS.get(hook_type, "completed"),
        "processor": "vantiv",
        "amount": {"amount": amount, "currency": currency, "currency_symbol": "$"},
        "authorization": {"status": "succeeded", "reason": "none"},
        "captures": [
            {"id": capture, "status": "succeeded", "amount": {**money(cents), "currency": currency}}
            for capture, cents in captures
        ],
        "order": {"token": order_token_for(str(cart_document["order_reference"])), "cart": cart_document},
        "source_transaction": None,
        "refunded_amount": money(0),
    }
    if hook_type == "credit":
        refund = credit or credit_id(1, cart_id)
        transaction.update(
            id=refund,
            type="cc_credit",
            reference=f"REF-{refund}",
            credit={"status": "succeeded"},
            source_transaction={"id": payment_id(cart_id), "reference": payment_reference(cart_id)},
            captures=[],
        )
    return {"type": hook_type, "object": "transaction", "data": transaction}


def legacy_transaction_webhook(
    hook_type: str, *, cart_id: str = DEMO_CART_ID, amount: int = DEMO_TOTAL
) -> dict[str, Any]:
    """The legacy (v1) flat webhook: `order` is our cart id, amounts plain cents (§4.2)."""
    return {
        "id": payment_id(cart_id),
        "reference": payment_reference(cart_id),
        "order": cart_id,
        "type": hook_type,
        "amount": amount,
        "currency": "USD",
        "status": TRANSACTION_STATUS.get(hook_type, "completed"),
        "display_id": "",
        "source_transaction_id": None,
        "source_transaction_reference": None,
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
    payload: dict[str, Any] | None
    secret: str | None = DEV_SIGNING_SECRET
    from_bolt: bool = True  # False: the storefront's own API, called by our web front end (no Bolt signature)
    route_path: str | None = None
    path_parameters: dict[str, str] | None = None

    @property
    def body(self) -> bytes | None:
        return None if self.payload is None else php_style_json(self.payload)

    @property
    def signed_with_dev_secret(self) -> bool:
        return self.from_bolt and self.secret == DEV_SIGNING_SECRET

    @property
    def path(self) -> Path:
        return Path(self.function_dir) / f"{self.name}.json"

    def event(self) -> dict[str, Any]:
        body = self.body
        headers = bolt_headers(body or b"", self.secret) if self.from_bolt else {"Content-Type": "application/json"}
        return hook_event(
            self.function_dir,
            body,
            headers=headers,
            request_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"bolt-merchant/{self.function_dir}/{self.name}")),
            route_path=self.route_path,
            path_parameters=self.path_parameters,
        )


# The totes at the price a shopper's open checkout still shows after the catalog price went up to 2400.
STALE_TOTES: Line = ("TOTE-BLUE", "Canvas Tote (Blue)", 2, 2000)


def _checkout_cases() -> list[EventCase]:
    create = order_create(order_cart())
    apply_welcome = discount_apply("WELCOME10")
    add_mug = cart_update(add=(("MUG-12OZ", 1),))
    return [
        # discounts.code.apply (legacy endpoint /bolt/discounts/apply accepts both forms)
        EventCase("discounts", "universal_welcome10", universal("discounts.code.apply", apply_welcome)),
        EventCase("discounts", "legacy_welcome10", legacy("discounts.code.apply", apply_welcome)),
        EventCase("discounts", "unknown_code", universal("discounts.code.apply", discount_apply("NOSUCHCODE"))),
        EventCase("discounts", "expired_code", universal("discounts.code.apply", discount_apply("EXPIRED5"))),
        EventCase("discounts", "bad_signature", universal("discounts.code.apply", apply_welcome), WRONG_SECRET),
        # order.create: the demo cart with standard shipping to San Francisco
        EventCase("order_create", "universal_valid", universal("order.create", create)),
        EventCase("order_create", "legacy_valid", legacy("order.create", create)),
        EventCase(
            "order_create",
            "price_changed",
            universal("order.create", order_create(order_cart(lines=(STALE_TOTES, DEMO_LINES[1])))),
        ),
        EventCase("order_create", "bad_signature", universal("order.create", create), WRONG_SECRET),
        # cart.update
        EventCase("cart_update", "add_item", universal("cart.update", add_mug)),
        EventCase("cart_update", "remove_item", universal("cart.update", cart_update(remove=(("TOTE-BLUE", 1),)))),
        EventCase("cart_update", "add_discount", universal("cart.update", cart_update(codes_to_add=("WELCOME10",)))),
        EventCase(
            "cart_update", "remove_missing_item", universal("cart.update", cart_update(remove=(("HOODIE-M", 1),)))
        ),
        EventCase("cart_update", "legacy_add_item", legacy("cart.update", add_mug)),
        # the universal endpoint: one of each event it serves, and one it does not
        EventCase("universal", "order_create", universal("order.create", create)),
        EventCase("universal", "discounts_code_apply", universal("discounts.code.apply", apply_welcome)),
        EventCase("universal", "cart_update", universal("cart.update", add_mug)),
        EventCase(
            "universal",
            "order_shipping",
            universal("order.shipping", {"cart": demo_cart(), "shipping_address": SF_ADDRESS}),
        ),
        EventCase(
            "universal",
            "order_tax",
            universal(
                "order.tax",
                {
                    "cart": demo_cart(),
                    "shipping_address": SF_ADDRESS,
                    "shipping_option": {"reference": "standard", "service": "Standard (5-7 days)", "cost": 599},
                },
            ),
        ),
        EventCase(
            "universal",
            "order_shipping_and_tax",
            universal("order.shipping_and_tax", {"cart": demo_cart(), "shipping_address": SF_ADDRESS}),
        ),
        EventCase("universal", "unknown_event", universal("order.refund", {"cart": demo_cart()})),
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
            path_parameters={"cart_id": DEMO_CART_ID},
        ),
    ]


def _webhook_cases() -> list[EventCase]:
    full_capture = ((capture_id(1), DEMO_TOTAL),)
    money_types: dict[str, dict[str, Any]] = {
        "pending": transaction_webhook("pending"),
        "auth": transaction_webhook("auth"),
        "capture": transaction_webhook("capture", captures=full_capture),
        "payment": transaction_webhook("payment", captures=full_capture),
        "credit": transaction_webhook("credit", amount=1500),
        "void": transaction_webhook("void"),
        "failed_payment": transaction_webhook("failed_payment"),
        "rejected_reversible": transaction_webhook("rejected_reversible"),
        "rejected_irreversible": transaction_webhook("rejected_irreversible"),
    }
    cases = [EventCase("transaction_webhook", name, payload) for name, payload in money_types.items()]
    cases += [
        EventCase("transaction_webhook", "legacy_auth", legacy_transaction_webhook("auth")),
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
            {"type": "risk_insights", "object": "transaction", "data": {"id": payment_id(), "risk_score": 12}},
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
    for function_dir, logical_id in _orders_table_users():
        if function_dir in function_dirs:
            document[logical_id] = {"ORDERS_TABLE_NAME": ORDERS_TABLE_PLACEHOLDER}
    return document


@cache
def _orders_table_users() -> tuple[tuple[str, str], ...]:
    """(function folder, logical id) of every function template.yaml gives the orders table."""
    template = load_template()
    return tuple(
        (spec.code_uri.name, spec.logical_id)
        for spec in function_specs(template, LocalResolver(template, "local"))
        if "ORDERS_TABLE_NAME" in spec.environment
    )


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
