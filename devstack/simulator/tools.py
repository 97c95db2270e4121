"""Bolt tools for the local stack, like the Stripe CLI's: python -m devstack.simulator <tool> [--base-url URL].

  trigger <webhook type> --order <id> [--amount CENTS]
      one signed transaction webhook built from the order's state as the back office shows it (GET /orders/{id}):
      its Bolt transaction id and reference, captures and credits, items and totals. --amount is the new capture's
      or credit's amount (default: what is left), or the authorisation's. Signed with --secret, else
      $BOLT_SIGNING_SECRET, else the dev secret, as the stack expects.
  deliveries [--limit N]
      the hooks and webhooks the local stack received, oldest first, with their status and result
  resend <delivery id>
      that delivery again, the same bytes and the same headers (its signature included)
  tail [--max N]
      each delivery as it arrives, until Ctrl-C (or N of them)

The delivery log is the local stack's own (devstack/deliveries.py, GET /_local/deliveries), kept in its memory;
trigger only sends what Bolt would send and changes nothing in the fake Bolt API.
"""

import argparse
import base64
import http.client
import json
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from devstack.bolt_payloads import (
    SF_ADDRESS,
    TRANSACTION_STATUS,
    Ids,
    credit_transaction,
    order_cart,
    transaction,
    webhook,
)
from devstack.console import answer_outcome
from devstack.settings import DEFAULT_SIGNING_SECRET, HOST
from devstack.simulator.client import Answer, Target

TOOLS = ("trigger", "deliveries", "resend", "tail")
DELIVERIES_PATH = "/_local/deliveries"
TAIL_POLL_SECONDS = 0.5


class ToolFailed(Exception):
    """What went wrong, for one line on stderr and exit status 1."""


def default_base_url() -> str:
    return f"http://{HOST}:{os.environ.get('PORT') or 3000}"


# ---------------------------------------------------------------- trigger
def webhook_for(order: Mapping[str, Any], hook_type: str, amount: int | None, ids: Ids) -> dict[str, Any]:
    """The `hook_type` webhook Bolt would send next for the order, from its back-office view."""
    bolt, totals, money = order.get("bolt") or {}, order["totals"], order["amounts"]
    payment_ids = [entry["transaction_id"] for entry in order.get("timeline") or [] if entry.get("type") != "credit"]
    captures = [(capture["id"], int(capture["amount"])) for capture in bolt.get("captures") or []]
    authorized = int(money["authorized"]) or int(totals["total"])
    captured = sum(cents for _, cents in captures)
    if hook_type in ("capture", "payment"):
        captures.append((ids.public_id("CA"), amount or (authorized - captured) or authorized))
    status = TRANSACTION_STATUS.get(hook_type, "completed")
    if hook_type == "capture" and sum(cents for _, cents in captures) < authorized:
        status = "authorized"  # Bolt leaves a partly captured payment authorised
    lines = [(item["sku"], item["name"], int(item["quantity"]), int(item["unit_price"])) for item in order["items"]]
    shipping = int(totals["shipping"])
    cart = order_cart(
        "",  # our cart id is not in the view: the webhook names the order by its display_id, as Bolt's carts do
        lines,
        shipping=("shipping", "Shipping", shipping) if shipping else None,
        tax=int(totals["tax"]),
        discounts=[("DISCOUNT", int(totals["discount"]))] if totals["discount"] else (),
        total=int(totals["total"]),
        display_id=str(order["order_id"]),
        address=order.get("billing_address") or SF_ADDRESS,
    )
    data = transaction(
        id=payment_ids[0] if payment_ids else ids.public_id("TA"),
        reference=bolt.get("transaction_reference") or ids.reference(),
        status=status,
        amount=amount if amount and hook_type in ("pending", "auth") else authorized,
        cart=cart,
        token=bolt.get("order_token"),
        currency=str(order["currency"]),
        captures=captures,
        refunded=int(money["refunded"]),
        date=int(time.time() * 1000),
    )
    if hook_type == "credit":
        refund = amount or int(money["refundable"]) or captured
        data = credit_transaction(data, id=ids.public_id("TA"), reference=ids.reference(), amount=refund)
    return webhook(hook_type, data)


def trigger(target: Target, hook_type: str, order_id: str, amount: int | None) -> str:
    read = target.read_order(order_id)
    if read is None or read.status != 200 or not isinstance(read.body, dict):
        answered = f"{read.status} ({read.failure})" if read is not None else target.order_view_unavailable
        raise ToolFailed(
            f"cannot read order {order_id} at {target.base_url}: GET /orders/{order_id} answered {answered}"
        )
    ids = Ids()
    answer = target.webhook(webhook_for(read.body, hook_type, amount, ids), ids.trace_id())
    return f"{hook_type} for {order_id}: {_answered(answer)}"


def _answered(answer: Answer) -> str:
    if answer.status == 0:
        return f"no answer ({answer.error})"
    result = answer.field("result") or (answer.failure if answer.status >= 400 else "")
    return f"{answer.status} {result}".rstrip() + f" ({answer.ms:.0f} ms)"


# ---------------------------------------------------------------- the delivery log
def _get(target: Target, path: str) -> Any:
    answer = target.send("GET", path)
    if answer.status != 200:
        raise ToolFailed(
            f"GET {target.base_url}{path} answered {answer.status or answer.error}: is `make run` running?"
        )
    return answer.body


def delivery_line(delivery: Mapping[str, Any]) -> str:
    received = str(delivery["received_at"])[11:23]
    what = delivery.get("event") or delivery["path"]
    return (
        f"{delivery['id']:>5}  {received}  {delivery['kind']:<7}  {what:<24}  {delivery['status']:>3}  "
        f"{delivery['result']:<32}  {delivery['path']}"
    )


def deliveries(target: Target, limit: int) -> list[str]:
    found = _get(target, DELIVERIES_PATH)["deliveries"]
    return [delivery_line(delivery) for delivery in found[-limit:]] or ["no deliveries yet"]


def resend(target: Target, delivery_id: str) -> str:
    """The recorded request sent again: the same method, path, headers (Host included) and body bytes."""
    if not delivery_id.isdigit():
        raise ToolFailed(f"a delivery id is a number (see `deliveries`), not {delivery_id!r}")
    delivery = _get(target, f"{DELIVERIES_PATH}/{delivery_id}")
    body = base64.b64decode(delivery["body_base64"])
    url = urlsplit(target.base_url)
    connection = http.client.HTTPConnection(url.hostname or HOST, url.port, timeout=target.timeout)
    try:
        connection.putrequest(delivery["method"], delivery["path"], skip_host=True, skip_accept_encoding=True)
        for name, value in delivery["headers"].items():
            connection.putheader(name, value)
        connection.endheaders(body)
        response = connection.getresponse()
        status, text = response.status, response.read()
    finally:
        connection.close()
    try:
        answer = json.loads(text) if text else None
    except ValueError:
        answer = None
    what = delivery.get("event") or delivery["path"]
    sent = f"resent delivery {delivery_id} ({delivery['kind']} {what}, {len(body)} bytes)"
    return f"{sent}: {status} {answer_outcome(status, answer, {})}".rstrip()


def tail(target: Target, most: int | None, show: Callable[[str], None], poll: float = TAIL_POLL_SECONDS) -> None:
    """Each delivery received from now on, as it arrives; returns after `most` of them (never, if None)."""
    known = _get(target, DELIVERIES_PATH)["deliveries"]
    last, shown = (known[-1]["id"] if known else 0), 0
    show(f"following {target.base_url}{DELIVERIES_PATH} (Ctrl-C stops)")
    while most is None or shown < most:
        for delivery in _get(target, f"{DELIVERIES_PATH}?after={last}")["deliveries"][
            : None if most is None else most - shown
        ]:
            show(delivery_line(delivery))
            last, shown = delivery["id"], shown + 1
        time.sleep(poll)


# ---------------------------------------------------------------- command line
def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.simulator", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base-url", default=default_base_url(), help="the local stack (default: %(default)s)")
    tools = parser.add_subparsers(dest="tool", required=True)
    triggered = tools.add_parser("trigger", help="send one signed webhook built from an order's state")
    triggered.add_argument("type", choices=sorted(TRANSACTION_STATUS), help="the webhook type")
    triggered.add_argument("--order", required=True, help="the order id (display_id), e.g. BO-X3IRWMZOER")
    triggered.add_argument("--amount", type=int, help="cents: the capture, credit or authorisation amount")
    triggered.add_argument("--secret", help="signing secret (default: $BOLT_SIGNING_SECRET, else the dev secret)")
    listed = tools.add_parser("deliveries", help="what the local stack received")
    listed.add_argument("--limit", type=int, default=50, help="the last N (default 50)")
    resent = tools.add_parser("resend", help="send one delivery again, byte for byte")
    resent.add_argument("delivery_id", help="its id, from `deliveries`")
    followed = tools.add_parser("tail", help="follow deliveries as they arrive")
    followed.add_argument("--max", type=int, dest="most", help="stop after N deliveries")
    for sub in (triggered, listed, resent, followed):
        sub.add_argument("--base-url", default=argparse.SUPPRESS, help="the local stack")
    return parser.parse_args(argv)


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    secret = getattr(args, "secret", None) or os.environ.get("BOLT_SIGNING_SECRET") or DEFAULT_SIGNING_SECRET
    target = Target(args.base_url, secret)
    try:
        if args.tool == "trigger":
            print(trigger(target, args.type, args.order, args.amount), flush=True)
        elif args.tool == "deliveries":
            print("\n".join(deliveries(target, args.limit)), flush=True)
        elif args.tool == "resend":
            print(resend(target, args.delivery_id), flush=True)
        else:
            tail(target, args.most, lambda line: print(line, flush=True))
    except ToolFailed as exc:
        print(f"{args.tool}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    return 0
