"""A local stand-in for the stage's order management system: verifies each POST's signature as an OMS should
(X-Merchant-Signature over the exact body and X-Merchant-Timestamp, bolt_merchant/fanout/signing.py, with
OMS_SIGNING_SECRET or the local default), records every POST with whether it verified, and answers 201 when it
did, 401 when it did not.

LocalStack starts one on 127.0.0.1 (a free port, or LOCAL_OMS_PORT) and passes <sink>/orders as the OmsEndpointUrl
parameter, so fulfilment hand-offs (POST /orders, cancellations POST /orders/cancellations) visibly happen locally.
LOCAL_OMS_URL=<url> sends them to a real endpoint instead and LOCAL_OMS_URL=none leaves the stage without an OMS
(hand-offs skipped); an OmsEndpointUrl in LocalStack's parameter_overrides wins over both.

What it received:  GET <sink>/_sink/requests  -> [{"method", "path", "headers", "body", "json", "signature_verified",
                                                   "received_at"}]
Forget it:         DELETE <sink>/_sink/requests
In-process:        stack.oms_sink.requests()
"""

import json
import os
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bolt_merchant.fanout.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify

from devstack.settings import HOST, oms_signing_secret

ADMIN_PATH = "/_sink/requests"
ORDERS_PATH = "/orders"


class _SinkServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], signing_secret: str) -> None:
        super().__init__(address, _SinkHandler)
        self.signing_secret = signing_secret
        self.lock = threading.Lock()
        self.received: list[dict[str, Any]] = []


class _SinkHandler(BaseHTTPRequestHandler):
    disable_nagle_algorithm = True  # headers and body go out in separate writes: no delayed-ACK stall
    protocol_version = "HTTP/1.1"
    server: _SinkServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, status: int, document: Any) -> None:
        body = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path != ADMIN_PATH:
            self._answer(404, {"message": "Not Found"})
            return
        with self.server.lock:
            self._answer(200, list(self.server.received))

    def do_DELETE(self) -> None:
        if self.path != ADMIN_PATH:
            self._answer(404, {"message": "Not Found"})
            return
        with self.server.lock:
            self.server.received.clear()
        self._answer(200, {"cleared": True})

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        text = raw.decode("utf-8", errors="replace")
        try:
            parsed: Any = json.loads(text)
        except ValueError:
            parsed = None
        verified = verify(
            self.server.signing_secret,
            raw,
            self.headers.get(TIMESTAMP_HEADER),
            self.headers.get(SIGNATURE_HEADER),
            now=time.time(),
        )
        record = {
            "method": "POST",
            "path": self.path,
            "headers": dict(self.headers.items()),
            "body": text,
            "json": parsed,
            "signature_verified": verified,
            "received_at": datetime.now(UTC).isoformat(),
        }
        with self.server.lock:
            self.server.received.append(record)
        if verified:
            self._answer(201, {"status": "accepted"})
        else:
            self._answer(401, {"message": "signature missing, stale or not matching the body"})


class OmsSink:
    """Bound to its port when built (its URL goes into the template parameters), served once started."""

    def __init__(self, port: int = 0, signing_secret: str | None = None) -> None:
        self._server = _SinkServer((HOST, port), signing_secret or oms_signing_secret())
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self._server.server_port}"

    @property
    def endpoint_url(self) -> str:
        """What OmsEndpointUrl is set to."""
        return f"{self.url}{ORDERS_PATH}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, name="oms-sink", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def requests(self) -> list[dict[str, Any]]:
        with self._server.lock:
            return list(self._server.received)

    def clear(self) -> None:
        with self._server.lock:
            self._server.received.clear()


def local_oms(
    parameter_overrides: Mapping[str, str], signing_secret: str | None = None
) -> tuple[str | None, OmsSink | None]:
    """The OmsEndpointUrl the local stack should use and the sink serving it (None when it is not ours), verifying
    with `signing_secret` (default: OMS_SIGNING_SECRET or the local default).

    (None, None) means the caller's own OmsEndpointUrl stands."""
    if "OmsEndpointUrl" in parameter_overrides:
        return None, None
    configured = os.environ.get("LOCAL_OMS_URL", "").strip()
    if configured.lower() == "none":
        return "", None
    if configured:
        return configured, None
    sink = OmsSink(int(os.environ.get("LOCAL_OMS_PORT", "0")), signing_secret)
    return sink.endpoint_url, sink
