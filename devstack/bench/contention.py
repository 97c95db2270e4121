"""python -m devstack.bench contention: order.create on one hot product, unsharded against `stock_shards: 8`, at
several concurrencies, in one run of one local stack whose embedded AWS plays DynamoDB's per-item contention
(devstack/moto_dynamodb.py, Contention: LOCAL_TRANSACTION_CONFLICT_MS, LOCAL_ITEM_WCU_PER_SECOND).

Each request is a storefront cart of one unit of the product followed by its signed order.create, played by the
simulator's load runner (devstack/simulator/load.py). The two products are identical but for their shards and
their rows alternate, so both see the same stack; verdicts are ratios of the two within the run, never absolute
times (a laptop and CI differ, the ratio is what sharding buys).
"""

import argparse
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from devstack import bolt_payloads
from devstack.process import environment_with_default_secrets, stack_process
from devstack.settings import DEFAULT_SIGNING_SECRET
from devstack.simulator.load import LoadResult, run_load
from devstack.simulator.scenarios import CheckoutResult

CONCURRENCIES = (8, 32, 128)
SHARDS = 8
HOLD_MS = 20  # a committed transaction's items conflict for 20 ms: ~50 transactions/s on one item
ITEM_WCU = 100  # per item, 2 per transactional write: another ceiling of ~50 transactions/s on one item
UNIT_PRICE = 1900
STOCK = 1_000_000
CONTAINERS = 32


@dataclass(frozen=True)
class ContentionRow:
    sku: str
    shards: int
    concurrency: int
    load: LoadResult

    def outcomes(self) -> str:
        """Every outcome but 200 and 503, counted: e.g. `422 x3` (none expected; shown so none hides)."""
        seen = Counter((result.errors or ["200"])[0] for result in self.load.results)
        return ", ".join(f"{name} x{n}" for name, n in sorted(seen.items()) if name not in {"200", "503"}) or "-"

    def count(self, outcome: str) -> int:
        return sum(1 for result in self.load.results if (result.errors or ["200"])[0] == outcome)

    @property
    def successes_per_second(self) -> float:
        return self.count("200") / self.load.seconds if self.load.seconds else 0.0

    @property
    def unavailable_rate(self) -> float:
        """The share of order.create answered 503 (the conflicts the retries could not absorb)."""
        return self.count("503") / len(self.load.results) if self.load.results else 0.0


def _product(sku: str, shards: int) -> bytes:
    return json.dumps(
        {"name": f"Drop ({sku})", "unit_price": UNIT_PRICE, "taxable": False, "type": "digital", "stock_shards": shards}
    ).encode()


def prepare(base_url: str, sku: str, shards: int) -> None:
    """The hot product through the catalog API (open locally, like every AWS_IAM route), with plenty of stock."""
    session = requests.Session()
    created = session.put(f"{base_url}/catalog/products/{sku}", data=_product(sku, shards), timeout=30)
    created.raise_for_status()
    stock = session.post(f"{base_url}/catalog/products/{sku}/stock", json={"set": STOCK, "expected": 0}, timeout=30)
    stock.raise_for_status()


def order_create(base_url: str, secret: str, *, rng_seed: int | str, sku: str) -> CheckoutResult:
    """One cart of one unit, then its order.create; the outcome is the order.create status (errors[0])."""
    session = requests.Session()
    started = time.perf_counter()
    cart = session.post(
        f"{base_url}/storefront/carts", json={"currency": "USD", "items": [{"sku": sku, "quantity": 1}]}, timeout=30
    )
    if cart.status_code != 201:
        return CheckoutResult(False, [f"cart {cart.status_code}"], time.perf_counter() - started, requests=1)
    cart_id = str(cart.json()["cart_id"])
    bolt_cart = bolt_payloads.order_cart(cart_id, ((sku, f"Drop ({sku})", 1, UNIT_PRICE),), shipping=None, tax=0)
    body = bolt_payloads.php_style_json(bolt_payloads.universal("order.create", bolt_payloads.order_create(bolt_cart)))
    answer = session.post(
        f"{base_url}/bolt/order/create",
        data=body,
        headers={"Content-Type": "application/json", "X-Bolt-Hmac-Sha256": bolt_payloads.sign(body, secret)},
        timeout=30,
    )
    seconds = time.perf_counter() - started
    ok = answer.status_code == 200
    return CheckoutResult(ok, [] if ok else [str(answer.status_code)], seconds, requests=2, order_id=str(rng_seed))


def run(orders_per_row: int, concurrencies: tuple[int, ...] = CONCURRENCIES) -> list[ContentionRow]:
    """Both products, each concurrency, alternating, against one stack with the contention faults on."""
    rows: list[ContentionRow] = []
    environment = {
        **environment_with_default_secrets(),
        "LOCAL_CONTAINERS": str(CONTAINERS),
        "LOCAL_TRANSACTION_CONFLICT_MS": str(HOLD_MS),
        "LOCAL_ITEM_WCU_PER_SECOND": str(ITEM_WCU),
    }
    with stack_process(environment) as stack:
        products = {"HOT-1": 1, f"HOT-{SHARDS}": SHARDS}
        for sku, shards in products.items():
            prepare(stack.url, sku, shards)
        seed = 0
        for concurrency in concurrencies:
            for sku, shards in products.items():
                load = run_load(
                    stack.url,
                    DEFAULT_SIGNING_SECRET,
                    checkouts=orders_per_row,
                    concurrency=concurrency,
                    seed=seed,
                    checkout=order_create,
                    sku=sku,
                )
                seed += orders_per_row
                rows.append(ContentionRow(sku, shards, concurrency, load))
    return rows


def table(rows: list[ContentionRow]) -> str:
    """The markdown table: each concurrency's two rows side by side, and the ratios that are the verdict."""
    lines = [
        f"| concurrency | order.create ok/s, 1 shard | ok/s, {SHARDS} shards | ok/s ratio | 503 rate, 1 shard "
        f"| 503 rate, {SHARDS} shards | other answers (1 / {SHARDS}) | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    by_key = {(row.concurrency, row.shards): row for row in rows}
    for concurrency in sorted({row.concurrency for row in rows}):
        one, many = by_key[(concurrency, 1)], by_key[(concurrency, SHARDS)]
        ratio = many.successes_per_second / one.successes_per_second if one.successes_per_second else float("inf")
        better = many.unavailable_rate < one.unavailable_rate or one.unavailable_rate == many.unavailable_rate == 0
        lines.append(
            f"| {concurrency} | {one.successes_per_second:.1f} | {many.successes_per_second:.1f} | {ratio:.2f}x "
            f"| {one.unavailable_rate:.1%} | {many.unavailable_rate:.1%} | {one.outcomes()} / {many.outcomes()} "
            f"| {'OK' if better else 'MISS'} |"
        )
    return "\n".join(lines)


def summary(rows: list[ContentionRow]) -> dict[str, Any]:
    return {
        "hold_ms": HOLD_MS,
        "item_wcu_per_second": ITEM_WCU,
        "rows": [
            {
                "sku": row.sku,
                "shards": row.shards,
                "concurrency": row.concurrency,
                "orders": len(row.load.results),
                "ok": row.count("200"),
                "unavailable": row.count("503"),
                "seconds": round(row.load.seconds, 3),
            }
            for row in rows
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.bench contention", description=__doc__)
    parser.add_argument("--orders", type=int, default=400, help="order.create per row (default 400)")
    parser.add_argument("--json", type=Path, help="also write the raw counts to this file")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows = run(args.orders)
    print(
        f"order.create on one product, {args.orders} per row, injected contention: {HOLD_MS} ms conflict window, "
        f"{ITEM_WCU} WCU/s per item ({time.perf_counter() - started:.0f} s)\n"
    )
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(summary(rows), indent=2) + "\n", encoding="utf-8")
    return 0 if "MISS" not in table(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
