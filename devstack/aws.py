"""An embedded AWS (moto's server app) on 127.0.0.1, served from a background thread."""

import os
import threading
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from devstack.moto_dynamodb import Contention, contention, faithful_transactions
from devstack.settings import HOST, injected_contention

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class SerialisedApp:
    """Runs one request at a time through the wrapped WSGI app, body included."""

    def __init__(self, app: WsgiApp) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        # moto checks a DynamoDB condition and then writes without a lock; real DynamoDB is atomic per item.
        with self._lock:
            response = self._app(environ, start_response)
            try:
                return list(response)
            finally:
                close = getattr(response, "close", None)
                if close is not None:
                    close()


class QuietMotoRequestHandler(MotoRequestHandler):
    """Moto's handler without a stderr line per AWS call (the gateway already logs each API request)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class EmbeddedAws:
    def __init__(self, port: int | None = None) -> None:
        self._port = port if port is not None else int(os.environ.get("MOTO_PORT", "0"))
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._patches = ExitStack()
        self.contention: Contention | None = None  # the injected faults, when LOCAL_TRANSACTION_CONFLICT_MS etc. ask

    def start(self) -> str:
        """Start serving; returns the endpoint URL (a free port unless MOTO_PORT or port was given)."""
        self._patches.enter_context(faithful_transactions())
        faults = injected_contention()
        if faults is not None:
            hold_seconds, item_wcu_per_second = faults
            self.contention = self._patches.enter_context(contention(Contention(hold_seconds, item_wcu_per_second)))
        app = SerialisedApp(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(HOST, self._port, app, threaded=True, request_handler=QuietMotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="embedded-aws", daemon=True)
        self._thread.start()
        return f"http://{HOST}:{self._server.server_port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = self._thread = None
        self._patches.close()
