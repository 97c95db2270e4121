"""A fake Bolt API for the local stack and the tests: Bolt's shapes and rules (reference §1, §4.3, §5), Bolt's
Idempotency-Key semantics, fault injection, and signed transaction webhooks sent to the merchant.

Bolt API (what BoltApiClient calls; `X-Api-Key` must be the stack's key and every request needs a fresh `X-Nonce`):
  POST /v1/merchant/orders                    {channel, cart}  -> {token, cart}
  GET  /v1/merchant/transactions/{reference}  -> the transaction (§4.3)
  POST /v1/merchant/transactions/capture      {transaction_reference | transaction_id, amount, currency,
                                               skip_hook_notification?}  -> the transaction with its captures
  POST /v1/merchant/transactions/credit       same body -> the new cc_credit transaction
  POST /v1/merchant/transactions/void         {transaction_reference | transaction_id, skip_hook_notification?}
  POST /v1/merchant/transactions/review       {transaction_reference, decision: approve | reject,
                                               skip_hook_notification?}  -> the transaction (§5.6)
  POST /v1/merchant/track_shipment            {transaction_reference, tracking_number, carrier, items?}
Rules: captures never exceed what is left of the authorisation, credits never exceed what was captured and not yet
refunded, currencies must match, a void needs an uncaptured (or partly captured) authorisation; refusals are 422 with
Bolt's error body {"errors": [{code, message}], "result": {"success": false}}. A partial capture leaves the
transaction `authorized`; the last one makes it `completed`. Review needs a `rejected_reversible` payment: approve
authorises it, reject makes it `rejected_irreversible`. Actions without skip_hook_notification send their webhook
(capture, credit, void, auth or rejected_irreversible) shortly after answering, as Bolt does. Transaction details
list the payment's refunds in refund_transactions.
Idempotency-Key (POST): the same key and request answer the first answer again with `Idempotent-Replayed: true`; the
same key while the first request is still running answers 409; the same key for another request answers 422.

Authorisations (how a shopper's payment reaches the fake; the Bolt simulator and the tests use it):
  POST /_fake/authorize  {order_token? , cart?, amount?, currency?, display_id?, auto_capture?: false,
                          review?: false, webhooks?: ["auth"]}
  creates an authorised cc_payment transaction for the order token's cart (fields of `cart` override it; with no
  token, `cart` is the whole cart) for `amount` (default: the cart's total_amount, which must then be the order total
  including shipping and tax), then sends the listed webhooks (e.g. ["pending", "auth"]; ["payment"] when
  auto_capture; ["rejected_reversible"] when `review`, which leaves the payment flagged for a merchant's review)
  to the merchant's webhook URL and reports how they were answered.

Control API (no API key):
  POST   /_fake/transactions/{reference}/{capture|void|credit}  {amount?, webhook?: false}
         a change made in Bolt's dashboard (Bolt's rules apply): the merchant hears of it only if webhook is true
  POST   /_fake/webhooks   {reference, type}  send that transaction's webhook now (replays, echoes, late events)
  POST   /_fake/webhook-faults  {action: drop | hold | duplicate, count?: 1, reference?, type?}
         the next `count` webhooks (of that payment, by its reference, id or cart's order_reference, and of that
         type, if given) are dropped (never delivered, as when Bolt gives up), held (kept until released: a delay,
         and a reordering) or delivered twice
  DELETE /_fake/webhook-faults
  POST   /_fake/webhooks/release  {seed?}  deliver every held webhook now (shuffled with `seed`, if given)
  GET    /_fake/ledger     every payment as Bolt knows it: status, amount, captures and credits by id
  POST   /_fake/faults     {status?, count?: 1, path?: "/v1/...", body?, after?: false, delay?: 0}
         the next `count` Bolt API calls whose path starts with `path` answer `status` (with Bolt's error body
         unless `body` is given) without doing anything. after: true processes the call first and only then answers
         the fault (the answer is lost, the effect is not: a retry with the same Idempotency-Key gets the replay).
         Without a status, the calls are only held `delay` seconds (their Idempotency-Key in flight meanwhile, so a
         concurrent retry gets 409) and then processed.
  DELETE /_fake/faults
  GET    /_fake/calls      every Bolt API call received (method, path, idempotency_key, nonce, api_key_ok, status
                           (null while in progress), replayed, body)
  DELETE /_fake/calls
  GET    /_fake/webhooks   every webhook sent (or dropped, or held) and its answer

Transactions and webhooks are built by devstack/bolt_payloads.py: webhooks are the v2 envelope {type, object:
"transaction", data}, signed with the stack's signing secret in X-Bolt-Hmac-Sha256, POSTed to `webhook_url` or
handed to `deliver`.
"""

import hashlib
import json
import os
import random
import secrets
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from devstack.bolt_payloads import Ids, bolt_headers, credit_transaction, money, php_style_json, transaction, webhook
from devstack.settings import DEFAULT_API_KEY, DEFAULT_SIGNING_SECRET, HOST

PORT_VARIABLE = "FAKE_BOLT_PORT"  # 0 or unset: a free port
_IDS = Ids()  # unpredictable: a real Bolt's ids are never reused
_SEEN_NONCES = 100_000

# Bolt's basic error codes (support.bolt.com "Error codes": 2 InvalidAmount, 6 InvalidCurrency, 18 Forbidden,
# 22 AmountTooHigh, 26 InvalidInputParameter, 1 EmptyValue; 1005 AuthInvalidMerchantKey, 4008 AppNonceInvalid).
EMPTY_VALUE = 1
INVALID_AMOUNT = 2
INVALID_CURRENCY = 6
FORBIDDEN = 18
AMOUNT_TOO_HIGH = 22
INVALID_INPUT = 26
INVALID_MERCHANT_KEY = 1005
NONCE_INVALID = 4008

Deliver = Callable[[bytes, dict[str, str]], tuple[int, Any]]
Answer = tuple[int, dict[str, Any]]


def error_body(code: int, message: str) -> dict[str, Any]:
    return {"errors": [{"code": code, "message": message}], "result": {"success": False}}


def _cents(value: Any) -> int | None:
    if isinstance(value, dict):
        value = value.get("amount")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _currency_code(value: Any) -> Any:
    """A cart's currency: "USD", or Bolt's object {"currency": "USD", "currency_symbol": "$"}."""
    return value.get("currency") if isinstance(value, dict) else value


class BoltRefusal(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.body = error_body(code, message)


@dataclass
class FakeTransaction:
    id: str
    reference: str
    type: str  # cc_payment | cc_credit
    status: str
    amount: int
    currency: str
    cart: dict[str, Any]
    token: str | None = None
    captures: list[dict[str, Any]] = field(default_factory=list)
    credits: list["FakeTransaction"] = field(default_factory=list)
    source: "FakeTransaction | None" = None
    void_cause: str | None = None
    date: int = field(default_factory=lambda: int(time.time() * 1000))

    @property
    def captured(self) -> int:
        return sum(int(c["amount"]) for c in self.captures)

    @property
    def refunded(self) -> int:
        return sum(c.amount for c in self.credits)

    @property
    def capturable(self) -> int:
        if self.status != "authorized":
            return 0
        return self.amount - self.captured

    def view(self, status: str | None = None) -> dict[str, Any]:
        """The transaction as Bolt's API answers it and its webhooks carry it; a credit's order is its payment's."""
        payment = self.source or self
        view = transaction(
            id=payment.id,
            reference=payment.reference,
            status=status or payment.status,
            amount=payment.amount,
            cart=payment.cart,
            token=payment.token,
            currency=payment.currency,
            captures=[(capture["id"], capture["amount"]) for capture in payment.captures],
            refunded=payment.refunded,
            date=payment.date,
        )
        if self.source is not None:
            view = credit_transaction(view, id=self.id, reference=self.reference, amount=self.amount) | {
                "date": self.date
            }
        view |= {"capture": view["captures"][-1] if view["captures"] else None, "timeline": []}
        view["refund_transaction_ids"] = [credit.id for credit in payment.credits]
        view["refund_transactions"] = [credit.refund_view() for credit in payment.credits]
        if self.void_cause:
            view["void"] = {"status": "succeeded", "cause": self.void_cause, "void": None}
        return view

    def refund_view(self) -> dict[str, Any]:
        """A refund as transaction details list it under refund_transactions."""
        return {
            "id": self.id,
            "type": "cc_credit",
            "reference": self.reference,
            "status": self.status,
            "amount": money(self.amount, self.currency),
            "credit": {"status": "succeeded"},
        }

    def ledger(self) -> dict[str, Any]:
        """The payment as Bolt's books hold it (GET /_fake/ledger)."""
        return {
            "reference": self.reference,
            "id": self.id,
            "order_reference": self.cart.get("order_reference"),
            "status": self.status,
            "amount": self.amount,
            "currency": self.currency,
            "captures": {str(capture["id"]): int(capture["amount"]) for capture in self.captures},
            "credits": {credit.id: credit.amount for credit in self.credits},
        }

    def matches(self, name: str) -> bool:
        return name in (self.reference, self.id, self.cart.get("order_reference"))


WEBHOOK_ACTIONS = ("drop", "hold", "duplicate")


@dataclass
class WebhookFault:
    action: str  # one of WEBHOOK_ACTIONS
    count: int = 1
    reference: str | None = None  # the payment's reference or id, or its cart's order_reference
    type: str | None = None

    def applies(self, txn: "FakeTransaction", kind: str) -> bool:
        payment = txn.source or txn
        return (self.reference is None or payment.matches(self.reference) or txn.matches(self.reference)) and (
            self.type is None or self.type == kind
        )


@dataclass
class Fault:
    """status None: only hold the call `delay` seconds, then process it."""

    status: int | None
    count: int = 1
    path: str = ""
    body: dict[str, Any] | None = None
    after: bool = False
    delay: float = 0.0

    def answer(self) -> Answer:
        status = self.status or 500
        if self.body is not None:
            return status, self.body
        messages = {409: "Concurrent idempotent requests", 429: "Too many requests", 503: "Service unavailable"}
        return status, error_body(status, messages.get(status, "Injected fault"))


@dataclass
class _KeyedRequest:
    fingerprint: str
    running: bool = True
    answer: Answer | None = None


class FakeBolt:
    """The fake, bound to its port when built (its URL is known before the stack resolves the template)."""

    def __init__(
        self,
        *,
        host: str = HOST,
        port: int | None = None,
        api_key: str = DEFAULT_API_KEY,
        signing_secret: str = DEFAULT_SIGNING_SECRET,
        webhook_url: Callable[[], str | None] | None = None,
        deliver: Deliver | None = None,
        webhook_delay_seconds: float = 0.05,
    ) -> None:
        chosen = int(os.environ.get(PORT_VARIABLE) or 0) if port is None else port
        self.api_key = api_key
        self.signing_secret = signing_secret
        self.webhook_url = webhook_url
        self.deliver = deliver
        self.webhook_delay_seconds = webhook_delay_seconds
        self.calls: list[dict[str, Any]] = []
        self.webhooks: list[dict[str, Any]] = []
        self._tokens: dict[str, dict[str, Any]] = {}
        self._transactions: dict[str, FakeTransaction] = {}
        self._by_id: dict[str, FakeTransaction] = {}
        self._keys: dict[str, _KeyedRequest] = {}
        self._faults: list[Fault] = []
        self._webhook_faults: list[WebhookFault] = []
        self._held: list[tuple[dict[str, Any], bytes]] = []  # (its record, the raw webhook) until released
        self._nonces: deque[str] = deque(maxlen=_SEEN_NONCES)
        self._nonce_set: set[str] = set()
        self._lock = threading.RLock()
        self._threads: list[threading.Thread] = []
        self._server = _FakeBoltServer((host, chosen), self)
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ service
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-bolt", daemon=True
        )
        self._thread.start()
        print(f"fake Bolt API on {self.url}", file=sys.stderr, flush=True)

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread = None
        self._server.server_close()
        for thread in list(self._threads):
            thread.join(timeout=5)

    def __enter__(self) -> "FakeBolt":
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    # ------------------------------------------------------------ control (also over HTTP under /_fake)
    def inject(
        self,
        status: int | None,
        *,
        count: int = 1,
        path: str = "",
        body: dict[str, Any] | None = None,
        after: bool = False,
        delay: float = 0.0,
    ) -> None:
        with self._lock:
            self._faults.append(Fault(status, count=count, path=path, body=body, after=after, delay=delay))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def reset_calls(self) -> None:
        with self._lock:
            self.calls.clear()

    def api_calls(self, path: str = "") -> list[dict[str, Any]]:
        with self._lock:
            return [call for call in self.calls if call["path"].startswith(path)]

    def transaction(self, reference: str) -> dict[str, Any]:
        with self._lock:
            return self._find(reference).view()

    def authorize(
        self,
        order_token: str | None = None,
        *,
        cart: Mapping[str, Any] | None = None,
        amount: int | None = None,
        currency: str | None = None,
        display_id: str | None = None,
        auto_capture: bool = False,
        review: bool = False,
        webhooks: list[str] | None = None,
    ) -> dict[str, Any]:
        """An authorised payment for the token's cart (see the module docstring); sends its webhooks."""
        with self._lock:
            if order_token is not None and order_token not in self._tokens:
                raise BoltRefusal(404, INVALID_INPUT, "unknown order token")
            base = dict(self._tokens[order_token]["cart"]) if order_token is not None else {}
            merged = {**base, **dict(cart or {})}
            if display_id is not None:
                merged["display_id"] = display_id
            total = amount if amount is not None else _cents(merged.get("total_amount"))
            chosen_currency = currency or _currency_code(merged.get("currency")) or "USD"
            if not merged.get("order_reference") or total is None or total <= 0:
                raise BoltRefusal(422, EMPTY_VALUE, "an authorisation needs cart.order_reference and an amount")
            txn = FakeTransaction(
                id=_IDS.public_id("TA"),
                reference=_IDS.reference(),
                type="cc_payment",
                status="authorized",
                amount=total,
                currency=str(chosen_currency),
                cart=merged,
                token=order_token,
            )
            if review:
                txn.status = "rejected_reversible"
            elif auto_capture:
                txn.captures.append({"id": _IDS.public_id("CA"), "status": "succeeded", "amount": total})
                txn.status = "completed"
            self._remember(txn)
            view = txn.view()
        default = "rejected_reversible" if review else "payment" if auto_capture else "auth"
        kinds = webhooks if webhooks is not None else [default]
        sent = [self.send_webhook(txn.reference, kind) for kind in kinds]
        return {"transaction": view, "webhooks": sent}

    def dashboard(
        self, reference: str, action: str, amount: int | None = None, webhook: bool = False
    ) -> dict[str, Any]:
        """A capture, void or credit made in Bolt's dashboard, under Bolt's rules: Bolt knows it, the merchant only
        if the webhook is sent. Answers the transaction as Bolt's API would (the new credit, for a credit)."""
        if action not in ("capture", "void", "credit"):
            raise BoltRefusal(404, INVALID_INPUT, f"no dashboard action {action!r}")
        with self._lock:
            txn = self._find(reference)
            body = {"transaction_reference": reference, "amount": amount, "currency": txn.currency}
            changed = {"capture": self._capture_change, "void": self._void_change, "credit": self._credit_change}
            result = changed[action](txn, body)
            view = result.view()
        if webhook:
            self.send_webhook(result.reference, action)
        return view

    def send_webhook(self, reference: str, kind: str) -> dict[str, Any]:
        """Send `kind` for the transaction now, signed, unless a webhook fault drops or holds it; returns {type,
        reference, status, body} (status None: not delivered; `fault` says why)."""
        with self._lock:
            txn = self._find(reference)
            status = {"pending": "pending", "rejected_reversible": "rejected_reversible"}.get(kind)
            raw = php_style_json(webhook(kind, txn.view(status)))
            fault = self._take_webhook_fault(txn, kind)
        record: dict[str, Any] = {"type": kind, "reference": reference, "status": None, "body": None}
        if fault is not None:
            record["fault"] = fault.action
        if fault is not None and fault.action == "drop":
            with self._lock:
                self.webhooks.append(record)
            return record
        if fault is not None and fault.action == "hold":
            with self._lock:
                self._held.append((record, raw))
                self.webhooks.append(record)
            return record
        self._deliver(record, raw)
        if fault is not None and fault.action == "duplicate":
            self._deliver({**record, "fault": "duplicate (second delivery)"}, raw)
        return record

    def release_webhooks(self, seed: int | None = None) -> list[dict[str, Any]]:
        """Deliver every held webhook now, in the order held or shuffled with `seed`; returns their records."""
        with self._lock:
            held, self._held = self._held, []
        if seed is not None:
            random.Random(seed).shuffle(held)  # noqa: S311 - an arrival order, not a secret
        for record, raw in held:
            self._deliver(record, raw)
        return [record for record, _ in held]

    def inject_webhook_fault(
        self, action: str, *, count: int = 1, reference: str | None = None, type: str | None = None
    ) -> None:
        if action not in WEBHOOK_ACTIONS:
            raise ValueError(f"webhook fault action must be one of {WEBHOOK_ACTIONS}")
        with self._lock:
            self._webhook_faults.append(WebhookFault(action, count, reference, type))

    def clear_webhook_faults(self) -> None:
        with self._lock:
            self._webhook_faults.clear()

    def ledger(self) -> list[dict[str, Any]]:
        """Every payment (not its refunds, which it lists) as Bolt's books hold it."""
        with self._lock:
            return [txn.ledger() for txn in self._transactions.values() if txn.type == "cc_payment"]

    def _take_webhook_fault(self, txn: FakeTransaction, kind: str) -> WebhookFault | None:
        for fault in self._webhook_faults:
            if fault.applies(txn, kind):
                fault.count -= 1
                if fault.count <= 0:
                    self._webhook_faults.remove(fault)
                return fault
        return None

    def _deliver(self, record: dict[str, Any], raw: bytes) -> None:
        headers = bolt_headers(raw, self.signing_secret, trace_id=secrets.token_hex(16))
        answered: tuple[int | None, Any] = (None, None)
        try:
            if self.deliver is not None:
                answered = self.deliver(raw, headers)
            elif self.webhook_url is not None and (url := self.webhook_url()):
                answered = _post(url, raw, headers)
        except OSError as exc:
            answered = (None, {"error": type(exc).__name__})
        with self._lock:
            record.update(status=answered[0], body=answered[1])
            if not any(sent is record for sent in self.webhooks):
                self.webhooks.append(record)

    def _send_later(self, reference: str, kind: str) -> None:
        def send() -> None:
            time.sleep(self.webhook_delay_seconds)
            self.send_webhook(reference, kind)

        thread = threading.Thread(target=send, name=f"fake-bolt-webhook-{kind}", daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    # ------------------------------------------------------------ Bolt API
    def handle_api(self, method: str, path: str, headers: Mapping[str, str], raw: bytes) -> tuple[int, Any, bool]:
        """(status, body, replayed) for one Bolt API request."""
        body = _json_or_none(raw)
        record: dict[str, Any] = {
            "method": method,
            "path": path,
            "idempotency_key": headers.get("idempotency-key"),
            "nonce": headers.get("x-nonce"),
            "api_key_ok": headers.get("x-api-key") == self.api_key,
            "body": body,
            "status": None,  # None while the call is being answered
            "replayed": False,
        }
        with self._lock:
            self.calls.append(record)
        status, answer, replayed = self._api(method, path, headers, raw, body)
        with self._lock:
            record.update(status=status, replayed=replayed)
        return status, answer, replayed

    def _api(self, method: str, path: str, headers: Mapping[str, str], raw: bytes, body: Any) -> tuple[int, Any, bool]:
        fault = self._take_fault(path)
        hold = fault.delay if fault is not None else 0.0
        lost = fault is not None and fault.status is not None and fault.after
        if fault is not None and fault.status is not None and not fault.after:
            time.sleep(hold)
            return (*fault.answer(), False)
        if headers.get("x-api-key") != self.api_key:
            return 401, error_body(INVALID_MERCHANT_KEY, "Authentication error. Invalid merchant key."), False
        nonce = headers.get("x-nonce") or ""
        with self._lock:
            if not 8 <= len(nonce) <= 64 or nonce in self._nonce_set:
                return 400, error_body(NONCE_INVALID, "The provided nonce value is invalid."), False
            if len(self._nonces) == self._nonces.maxlen:
                self._nonce_set.discard(self._nonces[0])
            self._nonces.append(nonce)
            self._nonce_set.add(nonce)
        key = headers.get("idempotency-key") if method == "POST" else None
        if key is None:
            time.sleep(hold)
            status, answer = self._route(method, path, body)
            return (*fault.answer(), False) if lost and fault is not None else (status, answer, False)
        fingerprint = hashlib.sha256(b"\n".join([method.encode(), path.encode(), raw])).hexdigest()
        with self._lock:
            keyed = self._keys.get(key)
            if keyed is not None:
                if keyed.fingerprint != fingerprint:
                    message = "Idempotency-Key was already used for a different request"
                    return 422, error_body(INVALID_INPUT, message), False
                if keyed.running or keyed.answer is None:
                    return 409, error_body(409, "Concurrent idempotent requests"), False
                return (*keyed.answer, True)
            keyed = self._keys[key] = _KeyedRequest(fingerprint)
        time.sleep(hold)
        status, answer = self._route(method, path, body)
        with self._lock:
            if status >= 500:
                del self._keys[key]
            else:
                keyed.running = False
                keyed.answer = (status, answer)
        if lost and fault is not None:
            return (*fault.answer(), False)
        return status, answer, False

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if path.startswith(fault.path):
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def _route(self, method: str, path: str, body: Any) -> Answer:
        try:
            if method == "GET" and path.startswith("/v1/merchant/transactions/"):
                with self._lock:
                    return 200, self._find(unquote(path.removeprefix("/v1/merchant/transactions/"))).view()
            if method != "POST":
                return 404, error_body(404, "Resource not found.")
            if not isinstance(body, dict):
                return 400, error_body(INVALID_INPUT, "Invalid JSON content.")
            actions: dict[str, Callable[[dict[str, Any]], Answer]] = {
                "/v1/merchant/orders": self._create_order_token,
                "/v1/merchant/transactions/capture": self._capture_call,
                "/v1/merchant/transactions/credit": self._credit_call,
                "/v1/merchant/transactions/void": self._void_call,
                "/v1/merchant/transactions/review": self._review_call,
                "/v1/merchant/track_shipment": self._track_shipment_call,
            }
            action = actions.get(path)
            if action is None:
                return 404, error_body(404, "Resource not found.")
            return action(body)
        except BoltRefusal as refusal:
            return refusal.status, refusal.body

    def _create_order_token(self, body: dict[str, Any]) -> Answer:
        cart = body.get("cart")
        if not isinstance(cart, dict):
            raise BoltRefusal(422, EMPTY_VALUE, "cart is required")
        for name in ("order_reference", "currency"):
            if not isinstance(cart.get(name), str) or not cart[name]:
                raise BoltRefusal(422, EMPTY_VALUE, f"cart.{name} is required")
        if _cents(cart.get("total_amount")) is None:
            raise BoltRefusal(422, INVALID_AMOUNT, "cart.total_amount must be integer cents")
        token = secrets.token_hex(32)
        with self._lock:
            self._tokens[token] = {"cart": cart, "channel": body.get("channel", "browser")}
        return 200, {"token": token, "cart": cart, "dynamic_content": {}, "external_data": {}}

    def _target(self, body: Mapping[str, Any]) -> FakeTransaction:
        reference = body.get("transaction_reference") or body.get("transaction_id")
        if not isinstance(reference, str) or not reference:
            raise BoltRefusal(422, EMPTY_VALUE, "transaction_reference or transaction_id is required")
        return self._find(reference)

    def _amount(self, body: Mapping[str, Any], txn: FakeTransaction) -> int:
        amount = body.get("amount")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise BoltRefusal(422, INVALID_AMOUNT, "A valid amount is required.")
        if body.get("currency") != txn.currency:
            raise BoltRefusal(422, INVALID_CURRENCY, "A valid currency code must be provided.")
        return amount

    def _capture(self, txn: FakeTransaction, amount: int, currency: str) -> dict[str, Any]:
        self._amount({"amount": amount, "currency": currency}, txn)
        if txn.type != "cc_payment" or txn.status not in ("authorized",):
            raise BoltRefusal(422, FORBIDDEN, f"A {txn.status} transaction cannot be captured.")
        if amount > txn.capturable:
            raise BoltRefusal(422, AMOUNT_TOO_HIGH, "The provided amount is higher than required.")
        capture = {"id": _IDS.public_id("CA"), "status": "succeeded", "amount": amount}
        txn.captures.append(capture)
        if txn.captured >= txn.amount:
            txn.status = "completed"
        return capture

    def _capture_change(self, txn: FakeTransaction, body: Mapping[str, Any]) -> FakeTransaction:
        self._capture(txn, self._amount(body, txn), str(body.get("currency")))
        return txn

    def _credit_change(self, txn: FakeTransaction, body: Mapping[str, Any]) -> FakeTransaction:
        amount = self._amount(body, txn)
        if txn.type != "cc_payment":
            raise BoltRefusal(422, FORBIDDEN, "Only payments can be refunded.")
        if amount > txn.captured - txn.refunded:
            raise BoltRefusal(422, AMOUNT_TOO_HIGH, "The provided amount is higher than required.")
        credit = FakeTransaction(
            id=_IDS.public_id("TA"),
            reference=_IDS.reference(),
            type="cc_credit",
            status="completed",
            amount=amount,
            currency=txn.currency,
            cart=txn.cart,
            source=txn,
        )
        txn.credits.append(credit)
        self._remember(credit)
        return credit

    def _void_change(self, txn: FakeTransaction, _body: Mapping[str, Any]) -> FakeTransaction:
        if txn.type != "cc_payment" or txn.status != "authorized":
            raise BoltRefusal(422, FORBIDDEN, f"A {txn.status} transaction cannot be voided.")
        txn.void_cause = "merchant_action"
        # After a partial capture a void only closes the rest of the authorisation (reference §6.6).
        txn.status = "completed" if txn.captures else "cancelled"
        return txn

    def _action_call(
        self, change: Callable[[FakeTransaction, Mapping[str, Any]], FakeTransaction], kind: str, body: dict[str, Any]
    ) -> Answer:
        """A Transactions API action: the change under Bolt's rules, then its webhook unless skipped."""
        with self._lock:
            result = change(self._target(body), body)
            view = result.view()
        if body.get("skip_hook_notification") is not True:
            self._send_later(result.reference, kind)
        return 200, view

    def _capture_call(self, body: dict[str, Any]) -> Answer:
        return self._action_call(self._capture_change, "capture", body)

    def _credit_call(self, body: dict[str, Any]) -> Answer:
        return self._action_call(self._credit_change, "credit", body)

    def _void_call(self, body: dict[str, Any]) -> Answer:
        return self._action_call(self._void_change, "void", body)

    def _review_call(self, body: dict[str, Any]) -> Answer:
        decision = body.get("decision")
        if decision not in ("approve", "reject"):
            raise BoltRefusal(422, INVALID_INPUT, "decision must be approve or reject")
        with self._lock:
            txn = self._target(body)
            if txn.type != "cc_payment" or txn.status != "rejected_reversible":
                raise BoltRefusal(422, FORBIDDEN, f"A {txn.status} transaction cannot be reviewed.")
            txn.status = "authorized" if decision == "approve" else "rejected_irreversible"
            view = txn.view()
        if body.get("skip_hook_notification") is not True:
            self._send_later(txn.reference, "auth" if decision == "approve" else "rejected_irreversible")
        return 200, view

    def _track_shipment_call(self, body: dict[str, Any]) -> Answer:
        with self._lock:
            txn = self._target(body)
            for name in ("tracking_number", "carrier"):
                if not isinstance(body.get(name), str) or not body[name]:
                    raise BoltRefusal(422, EMPTY_VALUE, f"{name} is required")
            return 200, {"transaction_reference": txn.reference, "tracking_number": body["tracking_number"]}

    def _remember(self, txn: FakeTransaction) -> None:
        self._transactions[txn.reference] = txn
        self._by_id[txn.id] = txn

    def _find(self, reference: str) -> FakeTransaction:
        txn = self._transactions.get(reference) or self._by_id.get(reference)
        if txn is None:
            raise BoltRefusal(404, INVALID_INPUT, "Transaction not found.")
        return txn

    # ------------------------------------------------------------ control over HTTP
    def handle_control(self, method: str, path: str, body: Any) -> Answer:
        try:
            return self._control(method, path, body if isinstance(body, dict) else {})
        except BoltRefusal as refusal:
            return refusal.status, refusal.body
        except (LookupError, TypeError, ValueError) as exc:
            return 400, error_body(INVALID_INPUT, f"bad control request: {type(exc).__name__} {exc}")

    def _control(self, method: str, path: str, body: dict[str, Any]) -> Answer:
        if (method, path) == ("POST", "/_fake/authorize"):
            return 200, self.authorize(
                body.get("order_token"),
                cart=body.get("cart"),
                amount=body.get("amount"),
                currency=body.get("currency"),
                display_id=body.get("display_id"),
                auto_capture=bool(body.get("auto_capture", False)),
                review=bool(body.get("review", False)),
                webhooks=body.get("webhooks"),
            )
        if method == "POST" and path.startswith("/_fake/transactions/"):
            reference, _, action = path.removeprefix("/_fake/transactions/").rpartition("/")
            amount = body.get("amount")
            return 200, self.dashboard(
                unquote(reference), action, int(amount) if amount is not None else None, bool(body.get("webhook"))
            )
        if (method, path) == ("POST", "/_fake/webhooks"):
            return 200, self.send_webhook(str(body["reference"]), str(body["type"]))
        if (method, path) == ("POST", "/_fake/webhooks/release"):
            seed = body.get("seed")
            return 200, {"webhooks": self.release_webhooks(int(seed) if seed is not None else None)}
        if (method, path) == ("POST", "/_fake/webhook-faults"):
            self.inject_webhook_fault(
                str(body["action"]),
                count=int(body.get("count", 1)),
                reference=str(body["reference"]) if body.get("reference") is not None else None,
                type=str(body["type"]) if body.get("type") is not None else None,
            )
            return 200, {"status": "queued"}
        if (method, path) == ("DELETE", "/_fake/webhook-faults"):
            self.clear_webhook_faults()
            return 200, {"status": "cleared"}
        if (method, path) == ("GET", "/_fake/ledger"):
            return 200, {"payments": self.ledger()}
        if (method, path) == ("GET", "/_fake/webhooks"):
            with self._lock:
                return 200, {"webhooks": list(self.webhooks)}
        if (method, path) == ("POST", "/_fake/faults"):
            self.inject(
                int(body["status"]) if body.get("status") is not None else None,
                count=int(body.get("count", 1)),
                path=str(body.get("path", "")),
                body=body.get("body"),
                after=bool(body.get("after", False)),
                delay=float(body.get("delay", 0.0)),
            )
            return 200, {"status": "queued"}
        if (method, path) == ("DELETE", "/_fake/faults"):
            self.clear_faults()
            return 200, {"status": "cleared"}
        if (method, path) == ("GET", "/_fake/calls"):
            with self._lock:
                return 200, {"calls": list(self.calls)}
        if (method, path) == ("DELETE", "/_fake/calls"):
            self.reset_calls()
            return 200, {"status": "cleared"}
        return 404, error_body(404, "Resource not found.")


def _json_or_none(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _post(url: str, raw: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=raw, headers=headers, method="POST")  # noqa: S310 - our own local URL
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return int(response.status), _json_or_none(response.read())
    except urllib.error.HTTPError as exc:
        return int(exc.code), _json_or_none(exc.read())


class _FakeBoltServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], fake: FakeBolt) -> None:
        super().__init__(address, _FakeBoltHandler)
        self.fake = fake


class _FakeBoltHandler(BaseHTTPRequestHandler):
    disable_nagle_algorithm = True  # headers and body go out in separate writes: no delayed-ACK stall
    protocol_version = "HTTP/1.1"
    server: _FakeBoltServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the calls are recorded in FakeBolt.calls."""

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        fake = self.server.fake
        headers: dict[str, str] = {}
        if path.startswith("/_fake/"):
            status, body = fake.handle_control(self.command, path, _json_or_none(raw))
        else:
            lowered = {name.lower(): value for name, value in self.headers.items()}
            status, body, replayed = fake.handle_api(self.command, path, lowered, raw)
            headers["X-Bolt-Trace-Id"] = secrets.token_hex(8)
            if replayed:
                headers["Idempotent-Replayed"] = "true"
        payload = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    do_POST = do_DELETE = do_PATCH = do_PUT = do_GET
