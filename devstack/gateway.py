"""The API Gateway stand-in: every Api route of the template on one threaded HTTP server, without a stage prefix."""

import base64
import json
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from devstack.apigw import match_route, rest_proxy_event
from devstack.settings import LOCAL_OPERATOR_ARN, STAGE


class Invoker(Protocol):
    def invoke(self, event: dict[str, Any]) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    function: Invoker
    iam_auth: bool = False


def resolve_route(routes: Sequence[Route], method: str, path: str) -> tuple[Route, dict[str, str]] | HTTPStatus:
    """The route serving method+path with its path parameters, or the status to answer (404 or 405)."""
    matches = [(route, params) for route in routes if (params := match_route(route.path, path)) is not None]
    if not matches:
        return HTTPStatus.NOT_FOUND
    allowed = [(route, params) for route, params in matches if route.method in (method, "ANY")]
    if not allowed:
        return HTTPStatus.METHOD_NOT_ALLOWED
    # Like API Gateway, a literal segment wins over a {parameter}.
    return min(allowed, key=lambda match: len(match[1]))


def http_response(result: Mapping[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
    """A Lambda proxy result the way API Gateway turns it into HTTP: status, header pairs, body bytes."""
    multi_value = result.get("multiValueHeaders") or {}
    headers = [(name, str(value)) for name, value in (result.get("headers") or {}).items() if name not in multi_value]
    headers += [(name, str(value)) for name, values in multi_value.items() for value in values]
    body = result.get("body") or ""
    raw = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode("utf-8")
    return int(result["statusCode"]), headers, raw


def _json_answer(status: int, message: str) -> tuple[int, list[tuple[str, str]], bytes]:
    return status, [("Content-Type", "application/json")], json.dumps({"message": message}).encode()


class ApiServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # socketserver's 5 resets connections under the benchmarks' concurrency (128)

    def __init__(self, address: tuple[str, int], routes: Sequence[Route]) -> None:
        super().__init__(address, ApiRequestHandler)
        self.routes = routes


class ApiRequestHandler(BaseHTTPRequestHandler):
    disable_nagle_algorithm = True  # headers and body go out in separate writes: no delayed-ACK stall
    protocol_version = "HTTP/1.1"
    server: ApiServer

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Quiet: each invocation gets its own line (devstack/console.py)."""

    def do_GET(self) -> None:
        self._answer(*self._proxy())

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = do_GET

    def _proxy(self) -> tuple[int, list[tuple[str, str]], bytes]:
        url = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        match = resolve_route(self.server.routes, self.command, url.path)
        if isinstance(match, HTTPStatus):
            return _json_answer(match, match.phrase)
        route, path_parameters = match
        event = rest_proxy_event(
            self.command,
            route.path,
            url.path,
            body or None,
            headers=dict(self.headers.items()),
            path_parameters=path_parameters,
            query=dict(parse_qsl(url.query)),
            stage=STAGE,
        )
        if route.iam_auth:
            # Dev bypass: nothing verifies SigV4 locally, so every caller of an AWS_IAM route is the local operator.
            event["requestContext"]["identity"]["userArn"] = LOCAL_OPERATOR_ARN
        try:
            return http_response(route.function.invoke(event))
        except Exception:
            # API Gateway answers a failed or malformed Lambda proxy result with 502.
            traceback.print_exc()
            return _json_answer(HTTPStatus.BAD_GATEWAY, "Internal server error")

    def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            if name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
