"""What the reliability tests share: every AWS call the process makes, faults injected into them, the Bolt-signed
functions with a representative request each, and oracles (Bolt's failure shape, writes, log canaries).

AWS calls are observed (and faults injected) by wrapping botocore's BaseClient._make_api_call, so every client is
covered: the layer's DynamoDB client (core/aws.py), Powertools' Secrets Manager provider, the publisher's SQS
client, SES, and any client created later. Injected faults raise the service's own modeled exception (what botocore
raises after its retries), either instead of the call or after it ran (the write happened, the answer was lost).
"""

import copy
import json
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.client import BaseClient
from botocore.exceptions import ReadTimeoutError

from devstack import bolt_payloads
from devstack.template import function_specs, load_template
from tests.reliability.figures import FIGURES, Area

DYNAMODB_WRITES = frozenset(
    {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem", "ExecuteStatement"}
)
AWS_WRITES = {
    "dynamodb": DYNAMODB_WRITES,
    "sqs": frozenset({"SendMessage", "SendMessageBatch", "DeleteMessage", "DeleteMessageBatch"}),
    "ses": frozenset({"SendEmail", "SendRawEmail"}),
}

# ---------------------------------------------------------------- AWS calls and faults


@dataclass
class Call:
    service: str
    operation: str
    params: dict[str, Any]
    succeeded: bool = False  # False while running, or when it raised (a refused conditional write wrote nothing)

    @property
    def is_write(self) -> bool:
        return self.operation in AWS_WRITES.get(self.service, frozenset())


@dataclass
class Fault:
    """Make the next `times` calls of service.operation fail with `code` (before the call, or after it ran)."""

    service: str
    operation: str
    code: str = "ThrottlingException"
    times: int = 1
    after: bool = False  # the call runs (the write commits) and then its answer is lost
    status: int = 400
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. CancellationReasons
    exception: BaseException | None = None  # raised as is instead of a ClientError
    when: Callable[[dict[str, Any]], bool] = lambda _: True
    fired: int = 0

    def error(self, client: BaseClient, operation: str) -> BaseException:
        if self.exception is not None:
            return self.exception
        response: dict[str, Any] = {
            "Error": {"Code": self.code, "Message": f"injected {self.code}"},
            "ResponseMetadata": {"HTTPStatusCode": self.status},
            **self.extra,
        }
        modeled = client.exceptions.from_code(self.code)
        error: BaseException = modeled(response, operation)
        return error


OBSERVER = "_reliability_observer"


def observer(client: Any) -> Any:
    """Mark a client the test itself uses (to look at tables, play Lambda's pollers): its calls are neither
    recorded nor faulted, so only what the functions do is measured."""
    setattr(client, OBSERVER, True)
    return client


class AwsCalls:
    """Every botocore API call the functions make while installed (a test's own observer clients excepted);
    `watch()` scopes what a block of code made."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: list[Call] = []
        self.faults: list[Fault] = []

    def install(self, monkeypatch: Any) -> None:
        original = BaseClient._make_api_call
        recorder = self

        def _make_api_call(client: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
            if getattr(client, OBSERVER, False):
                return original(client, operation_name, api_params)
            service = client.meta.service_model.service_name
            call = Call(service, operation_name, copy.deepcopy(api_params))
            recorder._record(call)
            fault = recorder._take(service, operation_name, api_params)
            if fault is not None and not fault.after:
                raise fault.error(client, operation_name)
            result = original(client, operation_name, api_params)
            call.succeeded = True  # it reached AWS and was applied, whatever the caller hears next
            if fault is not None:
                raise fault.error(client, operation_name)
            return result

        monkeypatch.setattr(BaseClient, "_make_api_call", _make_api_call)

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    def _take(self, service: str, operation: str, params: dict[str, Any]) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if (
                    fault.service == service
                    and fault.operation == operation
                    and fault.fired < fault.times
                    and fault.when(params)
                ):
                    fault.fired += 1
                    return fault
        return None

    def inject(self, fault: Fault) -> Fault:
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    @contextmanager
    def watch(self) -> Iterator[list[Call]]:
        """The calls made (by any thread) while the block runs."""
        seen: list[Call] = []
        start = len(self.calls)
        try:
            yield seen
        finally:
            with self._lock:
                seen.extend(self.calls[start:])


def lost_answer(service: str, operation: str, times: int = 1, **kwargs: Any) -> Fault:
    """The call reaches AWS and commits, then the connection drops before the answer (botocore's ReadTimeoutError)."""
    error = ReadTimeoutError(endpoint_url=f"https://{service}.us-east-1.amazonaws.com")
    return Fault(service, operation, times=times, after=True, exception=error, **kwargs)


class Crash(Exception):
    """The function dies between two steps (Lambda then reports an invocation error; API Gateway answers 502)."""


# ---------------------------------------------------------------- the Bolt-signed functions


def signed_function_dirs() -> list[str]:
    """Every function with a /bolt/ route in template.yaml (all of them verify Bolt's signature)."""
    template = load_template()
    from devstack.template import LocalResolver

    specs = function_specs(template, LocalResolver(template, "test"))
    return sorted(spec.code_uri.name for spec in specs if any(route.path.startswith("/bolt/") for route in spec.routes))


WEBHOOKS = ("transaction_webhook", "credit_card_webhook")
# The carts the base payloads refer to: order.create and discounts use the demo cart (open), cart.update its own
# open cart, and the transaction webhook a cart whose order exists (prepare_signed_state stores them).
OPEN_CART = "c_reliability_open"
ORDERED_CART = "c_reliability_ordered"
CREDIT_CARD_EVENT = {"type": "credit_card_deleted", "object": "credit_card", "data": {"id": "CCdemo0001"}}


def shipping_request() -> dict[str, Any]:
    return {"cart": bolt_payloads.hook_cart(), "shipping_address": bolt_payloads.SF_ADDRESS}


def base_payload(function_dir: str) -> dict[str, Any]:
    """A request each signed function answers 200 to (order.create and cart.update need the demo cart stored)."""
    payloads: dict[str, Callable[[], dict[str, Any]]] = {
        "shipping": shipping_request,
        "shipping_and_tax": shipping_request,
        "tax": lambda: {**shipping_request(), "shipping_option": {"reference": "standard"}},
        "discounts": lambda: bolt_payloads.universal("discounts.code.apply", bolt_payloads.discount_apply("WELCOME10")),
        "order_create": lambda: bolt_payloads.universal(
            "order.create", bolt_payloads.order_create(bolt_payloads.order_cart())
        ),
        "cart_update": lambda: bolt_payloads.universal(
            "cart.update", bolt_payloads.cart_update(OPEN_CART, add=(("MUG-12OZ", 1),))
        ),
        "universal": lambda: bolt_payloads.universal("order.shipping", shipping_request()),
        "transaction_webhook": lambda: bolt_payloads.transaction_webhook(
            "auth", cart_id=ORDERED_CART, cart=bolt_payloads.order_cart(ORDERED_CART)
        ),
        "credit_card_webhook": lambda: copy.deepcopy(CREDIT_CARD_EVENT),
    }
    return payloads[function_dir]()


def data_of(function_dir: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Where the hook's own fields are: inside the universal envelope's `data`, or the body itself."""
    if function_dir not in WEBHOOKS and "event" in payload and "data" in payload:
        data: dict[str, Any] = payload["data"]
        return data
    return payload


def cart_of(function_dir: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The Bolt cart inside a payload."""
    data = data_of(function_dir, payload)
    if function_dir == "transaction_webhook":
        cart: dict[str, Any] = data["data"]["order"]["cart"]
        return cart
    found: dict[str, Any] = data["order"]["cart"] if function_dir == "order_create" else data["cart"]
    return found


# ---------------------------------------------------------------- oracles


def is_bolt_failure(body: Any) -> bool:
    """{"status": "failure", "error": {"code": int, "message": str}} (cart.update: "errors": [that]), maybe with
    the universal envelope's "event"."""
    if not isinstance(body, dict) or body.get("status") != "failure":
        return False
    if not set(body) <= {"event", "status", "error", "errors"}:
        return False
    errors = body.get("errors") if "errors" in body else [body.get("error")]
    return (
        isinstance(errors, list)
        and len(errors) >= 1
        and all(
            isinstance(e, dict)
            and set(e) == {"code", "message"}
            and isinstance(e["code"], int)
            and isinstance(e["message"], str)
            for e in errors
        )
    )


def response_json(response: Mapping[str, Any]) -> Any:
    return json.loads(response["body"]) if response.get("body") else None


def writes(calls: list[Call]) -> list[Call]:
    """The writes that took effect (a conditional write AWS refused changed nothing)."""
    return [call for call in calls if call.is_write and call.succeeded]


def area(name: str) -> Area:
    return FIGURES.area(name)
