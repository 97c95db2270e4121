"""python -m devstack: the local stack in the foreground until Ctrl-C or SIGTERM (PORT, LOCAL_CONTAINERS honoured).

It says where each part listens, then prints one line per invocation (devstack/console.py; LOG_FORMAT=json adds
the functions' JSON log lines). A port already taken is one line on stderr and exit status 1.
"""

import os
import signal
import sys
import threading

from devstack.console import Console, log_format
from devstack.oms_sink import ADMIN_PATH
from devstack.pollers import event_sources
from devstack.process import READY_LINE, SECRET_VARIABLES
from devstack.ses import SENT_EMAILS_PATH
from devstack.stack import LocalStack, PortInUse

LOCAL_SECRETS = (*SECRET_VARIABLES, "OMS_SIGNING_SECRET")


def pollers_text(stack: LocalStack) -> str:
    if stack.pollers is None:
        return "off (LOCAL_POLLERS=0): nothing reads the stream, the queues or the schedules"
    described = []
    for source in event_sources(stack.specs):
        function = source.function_id.removesuffix("Function")
        if source.kind == "ScheduleV2":
            described.append(f"every {source.every_seconds:g} s -> {function}")
        else:
            kind = "stream" if source.kind == "DynamoDB" else "queue"
            described.append(f"{kind} {source.resource_id} -> {function}")
    return "; ".join(described)


def startup_lines(stack: LocalStack) -> list[str]:
    """What runs where, printed after the ready line."""
    lines = [
        ("API", f"{stack.url}  every route of template.yaml, no stage prefix; back office (AWS_IAM) open locally"),
    ]
    if stack.fake_bolt is not None:
        lines.append(
            ("fake Bolt API", f"{stack.fake_bolt.url}  tokens, transactions, signed webhooks; GET /_fake/calls")
        )
    lines.append(("embedded AWS", f"{stack.aws_url}  moto; sent emails: GET {stack.aws_url}{SENT_EMAILS_PATH}"))
    if stack.oms_sink is not None:
        lines.append(("OMS sink", f"{stack.oms_sink.endpoint_url}  received: GET {stack.oms_sink.url}{ADMIN_PATH}"))
    lines += [
        ("pollers", pollers_text(stack)),
        ("deliveries", f"GET {stack.url}/_local/deliveries  (make deliveries, make tail, make resend ID=...)"),
        ("secrets", ", ".join(f"{name} {'set' if os.environ.get(name) else 'default'}" for name in LOCAL_SECRETS)),
        ("output", "one line per invocation; LOG_FORMAT=json adds the functions' JSON logs; Ctrl-C stops"),
    ]
    return [f"  {name:<15}{text}" for name, text in lines]


def main() -> int:
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    try:
        stack = LocalStack()
    except PortInUse as exc:
        print(f"local stack: {exc}", file=sys.stderr)
        return 1
    stack.recorder.listeners.append(Console(log_format()).show)
    try:
        print(f"{READY_LINE}{stack.start()}", flush=True)
        print("\n".join(startup_lines(stack)), flush=True)
        stopping.wait()
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
