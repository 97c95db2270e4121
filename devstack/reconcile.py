"""python -m devstack.reconcile (make reconcile): run reconciliation now, on a deployed stage or the local stack.

    python -m devstack.reconcile --stack-name bolt-merchant-prod                  # a pass over what is due
    python -m devstack.reconcile --stack-name bolt-merchant-prod --ahead 86400    # and what falls due within a day
    python -m devstack.reconcile --stack-name bolt-merchant-prod --order-id BO-7TF44GDMQU
    python -m devstack.reconcile --local-url http://127.0.0.1:3000                # the local stack (make run)

A deployed stage: the stack's ReconcilerFunction is invoked through Lambda with the default AWS credential chain
(lambda:InvokeFunction on it, cloudformation:DescribeStackResource on the stack). The local stack runs it through
POST /_local/schedules/ReconcilerFunction. Prints what the run checked and its outcomes; exit status 1 when it left
items in attention (their errors are printed) or the function failed.
"""

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

import boto3
import requests

FUNCTION = "ReconcilerFunction"
TIMEOUT_SECONDS = 330  # the function's own timeout is 300 s


def event(order_id: str | None, ahead: int | None) -> dict[str, Any]:
    """The reconciler's event: one order, or a pass with an optional look-ahead (payments/reconcile.py)."""
    if order_id:
        return {"order_id": order_id}
    return {"ahead_seconds": ahead} if ahead else {}


def invoke_deployed(stack_name: str, payload: dict[str, Any]) -> dict[str, Any]:
    resource = boto3.client("cloudformation").describe_stack_resource(StackName=stack_name, LogicalResourceId=FUNCTION)
    name = resource["StackResourceDetail"]["PhysicalResourceId"]
    answer = boto3.client("lambda").invoke(FunctionName=name, Payload=json.dumps(payload).encode())
    result: dict[str, Any] = json.loads(answer["Payload"].read() or b"{}")
    if answer.get("FunctionError"):
        raise SystemExit(f"{name} failed: {result.get('errorType')}: {result.get('errorMessage')}")
    return result


def invoke_local(base_url: str, payload: dict[str, Any]) -> dict[str, Any]:
    try:
        answer = requests.post(
            f"{base_url.rstrip('/')}/_local/schedules/{FUNCTION}", json=payload, timeout=TIMEOUT_SECONDS
        )
    except requests.ConnectionError:
        raise SystemExit(f"no local stack answers on {base_url}: start it with `make run`") from None
    if answer.status_code != 200:
        raise SystemExit(f"the local stack answered {answer.status_code}: {answer.text[:200]}")
    result: dict[str, Any] = answer.json()
    return result


def report(result: dict[str, Any]) -> str:
    outcomes = ", ".join(f"{name} {count}" for name, count in sorted((result.get("outcomes") or {}).items()))
    lines = [f"checked {result.get('checked', 0)}" + (f": {outcomes}" if outcomes else "")]
    lines += [f"  left in attention: {error}" for error in result.get("errors") or []]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.reconcile",
        description=__doc__.splitlines()[0],
        epilog="make reconcile [STACK=name] [ORDER=id] [AHEAD=seconds]",
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--stack-name", help="the deployed stage's CloudFormation stack")
    where.add_argument("--local-url", help="the local stack's URL (make run)")
    parser.add_argument("--order-id", help="reconcile this order only")
    parser.add_argument("--ahead", type=int, help="also take what falls due within this many seconds (max 7 days)")
    args = parser.parse_args(argv)
    if args.ahead is not None and args.ahead < 0:
        parser.error("--ahead must be >= 0")
    payload = event(args.order_id, args.ahead)
    result = invoke_deployed(args.stack_name, payload) if args.stack_name else invoke_local(args.local_url, payload)
    print(report(result))
    return 1 if result.get("errors") else 0


if __name__ == "__main__":
    sys.exit(main())
