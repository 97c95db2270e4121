"""Many happy-path checkouts at once: throughput, latency and errors (the benchmark's local-stack row)."""

import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from devstack.simulator.scenarios import CheckoutResult, run_checkout


@dataclass
class LoadResult:
    checkouts: int
    concurrency: int
    seconds: float
    results: list[CheckoutResult] = field(default_factory=list)
    started: float = 0.0  # perf_counter when the first checkout was submitted

    @property
    def errors(self) -> int:
        """Checkouts with at least one unexpected answer."""
        return sum(1 for r in self.results if not r.ok)

    @property
    def invariant_violations(self) -> int:
        return sum(len(r.invariant_violations) for r in self.results)

    @property
    def per_second(self) -> float:
        return len(self.results) / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        durations = sorted(r.seconds for r in self.results)
        if not durations:
            return 0.0
        return durations[min(len(durations) - 1, int(fraction * len(durations)))]

    def text(self, shown_errors: int = 5) -> str:
        requests = statistics.median(r.requests for r in self.results) if self.results else 0
        lines = [
            f"{self.checkouts} checkouts at concurrency {self.concurrency}: {self.checkouts - self.errors} ok, "
            f"{self.errors} with errors, {self.invariant_violations} invariant violations",
            f"  {self.seconds:.2f} s wall, {self.per_second:.1f} checkouts/s; per checkout ({requests:.0f} requests)"
            f" p50 {self.percentile(0.5) * 1000:.0f} ms, p95 {self.percentile(0.95) * 1000:.0f} ms,"
            f" max {self.percentile(1.0) * 1000:.0f} ms",
        ]
        failed = [r for r in self.results if not r.ok]
        for result in failed[:shown_errors]:
            lines.append(f"  !! {result.order_id or 'no order'}: {'; '.join(result.errors)[:400]}")
        if len(failed) > shown_errors:
            lines.append(f"  !! ... and {len(failed) - shown_errors} more failed checkouts")
        return "\n".join(lines)


def run_load(
    base_url: str,
    secret: str,
    *,
    checkouts: int,
    concurrency: int,
    seed: int = 0,
    checkout: Callable[..., CheckoutResult] = run_checkout,
    **options: object,
) -> LoadResult:
    """`checkouts` runs of run_checkout (seeds seed, seed+1, ...) on `concurrency` threads."""
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="checkout") as pool:
        futures = [
            pool.submit(checkout, base_url, secret, rng_seed=seed + number, **options) for number in range(checkouts)
        ]
        results = [future.result() for future in futures]
    return LoadResult(checkouts, concurrency, time.perf_counter() - started, results, started)
