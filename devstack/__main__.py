"""python -m devstack: the local stack in the foreground until Ctrl-C or SIGTERM (PORT, LOCAL_CONTAINERS honoured)."""

import signal
import threading

from devstack.stack import LocalStack


def main() -> None:
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    stack = LocalStack()
    try:
        print(f"local stack ready on {stack.start()}", flush=True)
        stopping.wait()
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
