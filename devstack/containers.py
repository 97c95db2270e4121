"""Lambda-like containers: each handler module loaded a few times, each copy serving one event at a time.

Lambda never runs two events in one container at once, and Powertools resolvers keep per-request state on a
module-level `app`, so a copy of a handler module must never serve two requests concurrently.
"""

import importlib.util
import queue
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

from devstack.template import FunctionSpec

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
# Runs one invocation: (function logical id, event, the call) -> what the call returned (devstack/invocations.py).
Observer = Callable[[str, dict[str, Any], Callable[[], Any]], Any]


@dataclass(frozen=True)
class FunctionIdentity:
    name: str
    arn: str
    memory_mb: int
    timeout_seconds: int


@dataclass(frozen=True)
class LocalLambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    deadline: float
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


def load_handler_copy(spec: FunctionSpec, copy: int) -> ModuleType:
    """A fresh, independently named instance of the function's handler module."""
    path = spec.code_uri / (spec.module.replace(".", "/") + ".py")
    name = f"{spec.module.replace('.', '_')}__container{copy}"
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f"cannot load {spec.handler} from {path}")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    module_spec.loader.exec_module(module)
    return module


def shares_resolver(first: ModuleType, other: ModuleType) -> bool:
    """True when both copies hold the same resolver object (imported from a shared module, not built per copy)."""
    return any(isinstance(value, BaseRouter) and vars(other).get(name) is value for name, value in vars(first).items())


class FunctionPool:
    """Up to `size` containers of one function; an invocation borrows a free one, waiting if all are busy."""

    def __init__(
        self, spec: FunctionSpec, identity: FunctionIdentity, size: int, observer: Observer | None = None
    ) -> None:
        self.spec = spec
        self.identity = identity
        self.observer = observer
        self._idle: queue.Queue[Handler] = queue.Queue()
        copies = [load_handler_copy(spec, 0)]
        while len(copies) < size:
            copy = load_handler_copy(spec, len(copies))
            if shares_resolver(copies[0], copy):
                print(
                    f"{spec.logical_id}: handler copies share one resolver, serving one request at a time",
                    file=sys.stderr,
                )
                break
            copies.append(copy)
        for copy in copies:
            self._idle.put(getattr(copy, spec.attribute))
        self.size = len(copies)

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        handler = self._idle.get()
        try:
            if self.observer is None:
                return handler(event, self._context())
            context = self._context()
            result: dict[str, Any] = self.observer(self.spec.logical_id, event, lambda: handler(event, context))
            return result
        finally:
            self._idle.put(handler)

    def _context(self) -> LocalLambdaContext:
        identity = self.identity
        return LocalLambdaContext(
            function_name=identity.name,
            invoked_function_arn=identity.arn,
            memory_limit_in_mb=identity.memory_mb,
            deadline=time.monotonic() + identity.timeout_seconds,
        )
