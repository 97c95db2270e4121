"""python -m devstack: the local stack in the foreground until Ctrl-C or SIGTERM (PORT, LOCAL_CONTAINERS honoured)."""

import signal
import threading

from devstack.oms_sink import ADMIN_PATH
from devstack.process import READY_LINE
from devstack.ses import SENT_EMAILS_PATH
from devstack.stack import LocalStack


def fanout_lines(stack: LocalStack) -> list[str]:
    """Where the fan-out's effects can be seen (printed after the ready line)."""
    lines = [f"  embedded AWS on {stack.aws_url}; sent emails: GET {stack.aws_url}{SENT_EMAILS_PATH} (ses.Message)"]
    if stack.oms_sink is not None:
        lines.append(f"  OMS sink on {stack.oms_sink.endpoint_url}; received: GET {stack.oms_sink.url}{ADMIN_PATH}")
    state = "on" if stack.pollers is not None else "off (LOCAL_POLLERS=0)"
    lines.append(f"  stream and queue pollers {state}")
    return lines


def main() -> None:
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    stack = LocalStack()
    try:
        print(f"{READY_LINE}{stack.start()}", flush=True)
        print("\n".join(fanout_lines(stack)), flush=True)
        stopping.wait()
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
