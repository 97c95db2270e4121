"""python -m devstack.simulator: play Bolt's side of checkouts against a merchant backend and check every answer.

Exit status: 0 when every answer was as expected, 1 otherwise, 2 for bad arguments.
"""

import argparse
import json
import os
import random
import sys
from collections.abc import Sequence
from dataclasses import replace

from devstack.settings import DEFAULT_SIGNING_SECRET
from devstack.simulator.bolt_side import discover
from devstack.simulator.chaos import run_chaos
from devstack.simulator.client import DEFAULT_TIMEOUT_SECONDS, Signer, Target, Timeline, sigv4_signer
from devstack.simulator.load import run_load
from devstack.simulator.report import summary_text, timeline_text
from devstack.simulator.scenarios import SCENARIOS, run_scenario
from devstack.simulator.shopper import Options
from devstack.simulator.tools import TOOLS
from devstack.simulator.tools import main as run_tool

EPILOG = (
    """\
scenarios: """
    + ", ".join(f"{name} ({title})" for name, (title, _) in SCENARIOS.items())
    + """

examples:
  python -m devstack.simulator --base-url http://127.0.0.1:3000
  python -m devstack.simulator --base-url https://abc123.execute-api.us-east-1.amazonaws.com/dev \\
      --secret-id bolt-merchant/dev --no-token --order-view sigv4
  python -m devstack.simulator --base-url http://127.0.0.1:3000 --checkouts 500 --concurrency 8

tools for the local stack (python -m devstack.simulator <tool> --help):
  trigger <webhook type> --order <id> [--amount CENTS]   deliveries   resend <delivery id>   tail

The signing secret comes from --secret, else --secret-id (Secrets Manager), else $BOLT_SIGNING_SECRET, else the
local stack's dev secret.
"""
)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.simulator",
        description="Bolt simulator: signed hooks and webhooks, scenario by scenario, every answer checked.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--base-url", required=True, help="the API's base URL (the stack's ApiUrl output)")
    parser.add_argument("--secret", help="Bolt signing secret (X-Bolt-Hmac-Sha256)")
    parser.add_argument("--pending-secret", help="also sign with this pending secret (X-Bolt-Hmac-Sha256-Pending)")
    parser.add_argument("--secret-id", help="read signing_secret (and signing_secret_pending) from Secrets Manager")
    parser.add_argument(
        "--scenario",
        action="append",
        choices=[*SCENARIOS, "all"],
        help="scenario to play (repeatable; default: all, unless --checkouts is given)",
    )
    parser.add_argument("--checkouts", type=int, default=0, help="also run N concurrent happy-path checkouts")
    parser.add_argument("--concurrency", type=int, default=1, help="threads for --checkouts and --chaos (default 1)")
    parser.add_argument(
        "--chaos",
        type=int,
        default=0,
        metavar="N",
        help="N checkouts where Bolt and operators misbehave, one reconciliation pass, then every payment at the "
        "local stack's fake Bolt compared with its order (local stack only)",
    )
    parser.add_argument(
        "--no-token",
        dest="token",
        action="store_false",
        help="skip the storefront's order-token step (in a deployed stage it calls the real Bolt API)",
    )
    parser.add_argument(
        "--routes",
        choices=["universal", "split"],
        default="universal",
        help="send hooks to /bolt/universal (default) or to the per-hook URLs in Bolt's legacy shape",
    )
    parser.add_argument(
        "--order-view",
        choices=["auto", "sigv4", "off"],
        default="auto",
        help="read final orders with GET /orders/{id}: auto (unsigned; skipped if refused), sigv4 (AWS_IAM with "
        "your AWS credentials), off (rely on the webhook answers)",
    )
    parser.add_argument("--region", help="AWS region for --order-view sigv4 / --secret-id (default: from the URL)")
    parser.add_argument("--seed", type=int, help="seed for ids and the shuffled webhook order (default: random)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_SECONDS, help="seconds per request")
    args = parser.parse_args(argv)
    if args.checkouts < 0 or args.chaos < 0 or args.concurrency < 1:
        parser.error("--checkouts and --chaos must be >= 0 and --concurrency >= 1")
    return args


def secrets_from_manager(secret_id: str, region: str | None) -> tuple[str, str | None]:
    import boto3

    client = boto3.client("secretsmanager", region_name=region) if region else boto3.client("secretsmanager")
    document = json.loads(client.get_secret_value(SecretId=secret_id)["SecretString"])
    return str(document["signing_secret"]), (str(document.get("signing_secret_pending") or "") or None)


def resolve_secrets(args: argparse.Namespace) -> tuple[str, str | None]:
    if args.secret:
        return str(args.secret), args.pending_secret
    if args.secret_id:
        secret, pending = secrets_from_manager(args.secret_id, args.region)
        return secret, args.pending_secret or pending
    return os.environ.get("BOLT_SIGNING_SECRET") or DEFAULT_SIGNING_SECRET, args.pending_secret


def play(
    base_url: str,
    secret: str,
    pending_secret: str | None,
    names: Sequence[str],
    options: Options,
    *,
    routes: str = "universal",
    order_view: str = "auto",
    signer: Signer | None = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    out: bool = True,
) -> list[Timeline]:
    """Every named scenario in turn, printed as it finishes (out=True)."""
    target = Target(
        base_url,
        secret,
        pending_secret,
        timeout=timeout,
        routes="split" if routes == "split" else "universal",
        order_view="sigv4" if order_view == "sigv4" else "off" if order_view == "off" else "auto",
        order_view_signer=signer,
    )
    if options.bolt is None:
        options = replace(options, bolt=discover(target))
    timelines = []
    for name in names:
        timeline = run_scenario(name, target, options)
        timelines.append(timeline)
        if out:
            print(timeline_text(timeline), end="\n\n", flush=True)
    return timelines


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if any(argument in TOOLS for argument in arguments):  # no scenario or option value is a tool's name
        return run_tool(arguments)
    args = parse_args(arguments)
    secret, pending = resolve_secrets(args)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 10**6)
    names = list(SCENARIOS) if not args.scenario or "all" in args.scenario else list(dict.fromkeys(args.scenario))
    if (args.checkouts or args.chaos) and not args.scenario:
        names = []
    signer = sigv4_signer(args.base_url, args.region) if args.order_view == "sigv4" else None
    print(
        f"Bolt simulator -> {args.base_url}  (routes {args.routes}, order token {'on' if args.token else 'off'},"
        f" pending header {'on' if pending else 'off'}, seed {seed})\n",
        flush=True,
    )
    ok = True
    if names:
        timelines = play(
            args.base_url,
            secret,
            pending,
            names,
            Options(token=args.token, seed=seed),
            routes=args.routes,
            order_view=args.order_view,
            signer=signer,
            timeout=args.timeout,
        )
        print(summary_text(timelines, args.base_url, seed), flush=True)
        ok = all(t.ok for t in timelines)
    if args.checkouts:
        load = run_load(
            args.base_url,
            secret,
            checkouts=args.checkouts,
            concurrency=args.concurrency,
            seed=seed * 100_000,
            pending_secret=pending,
            token=args.token,
            verify_order=args.order_view != "off",
            order_view_signer=signer,
            timeout=args.timeout,
        )
        print(("\n" if names else "") + load.text(), flush=True)
        ok = ok and load.errors == 0
    if args.chaos:
        ok = chaos(args, secret, seed) and ok
    return 0 if ok else 1


def chaos(args: argparse.Namespace, secret: str, seed: int) -> bool:
    bolt = discover(Target(args.base_url, secret, timeout=args.timeout))
    if bolt is None:
        print("--chaos needs the local stack's fake Bolt (GET /_local/fake-bolt answered no URL)", file=sys.stderr)
        return False
    report = run_chaos(args.base_url, secret, bolt, checkouts=args.chaos, concurrency=args.concurrency, seed=seed)
    print(report.text(), flush=True)
    return report.ok


if __name__ == "__main__":
    sys.exit(main())
