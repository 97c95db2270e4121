"""Lambda's event source mappings for the template's DynamoDB stream and SQS events, played locally.

Played, because template.yaml uses it: the stream read from StartingPosition; records passed by FilterCriteria
(objects nesting down to lists of accepted strings) gathered up to BatchSize within MaximumBatchingWindowInSeconds;
a failed batch retried with backoff from its first failed record (ReportBatchItemFailures) or whole, halved first on
a function error (BisectBatchOnFunctionError); after MaximumRetryAttempts where it is goes to the OnFailure SQS queue
and the stream moves on. Queues: one consumer per function container (at most ScalingConfig's MaximumConcurrency),
up to BatchSize messages per invocation, every message not reported in batchItemFailures deleted; failed ones come
back after the queue's visibility timeout (LOCAL_SQS_RETRY_SECONDS=<n>: after n seconds), and after maxReceiveCount
moto's redrive moves them to the DLQ.

Schedules (ScheduleV2, rate expressions): the function invoked at that rate with an empty event (LOCAL_SCHEDULE_SECONDS
overrides every rate), or at once through `run_schedule` (POST /_local/schedules/<function logical id>).

Refused at start-up, so that a template change the local stack cannot honour fails loudly: any other filter operator,
event property or event type. Not modelled: several or closing shards (moto's stream has one that never closes),
message and binary attributes, long polls (moto serves one call at a time, devstack/aws.py).

`EventSourcePollers` is the LocalStack service; `drain()` waits until every stream has been read to its end, every
queue is empty and nothing waits for a retry. LOCAL_POLLERS=0 turns them all off.
"""

import json
import math
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from devstack.make_consumer_events import sqs_event_from, stream_event_from
from devstack.template import FunctionSpec

if TYPE_CHECKING:
    from devstack.stack import LocalStack

PROPERTIES = {
    "DynamoDB": {"Stream", "StartingPosition", "BatchSize", "MaximumBatchingWindowInSeconds", "FilterCriteria"}
    | {"BisectBatchOnFunctionError", "MaximumRetryAttempts", "FunctionResponseTypes", "DestinationConfig"},
    "SQS": {"Queue", "BatchSize", "FunctionResponseTypes", "ScalingConfig"},
    "ScheduleV2": {"ScheduleExpression", "RetryPolicy"},
}
_RATE_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}
IDLE_MIN_SECONDS, IDLE_MAX_SECONDS, MAX_BACKOFF_SECONDS = 0.05, 0.5, 1.0
_CLIENT_CONFIG = Config(connect_timeout=2, read_timeout=10, retries={"mode": "standard", "max_attempts": 3})


class UnsupportedEventSource(ValueError):
    """Something in a template event the local stack does not play (it would otherwise be silently ignored)."""


def enabled() -> bool:
    """LOCAL_POLLERS=0 (or false/no/off) leaves streams and queues unconsumed."""
    return os.environ.get("LOCAL_POLLERS", "1").strip().lower() not in ("0", "false", "no", "off")


def _log(message: str) -> None:
    print(f"pollers: {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- the template's event sources
def check_pattern(pattern: Any, path: str = "pattern") -> None:
    """A filter pattern the local stack plays: objects nesting down to non-empty lists of strings, nothing else."""
    if not isinstance(pattern, dict) or not pattern:
        raise UnsupportedEventSource(f"{path}: expected a non-empty object, got {pattern!r}")
    for key, value in pattern.items():
        if isinstance(value, dict):
            check_pattern(value, f"{path}.{key}")
        elif not (isinstance(value, list) and value and all(isinstance(item, str) for item in value)):
            raise UnsupportedEventSource(f"{path}.{key}: only a list of strings is played locally, got {value!r}")


def matches(pattern: Mapping[str, Any], record: Any) -> bool:
    """Every key of the pattern is in the record with one of the listed values (or matching the nested pattern)."""
    return isinstance(record, dict) and all(
        matches(expected, record.get(key)) if isinstance(expected, dict) else record.get(key) in expected
        for key, expected in pattern.items()
    )


@dataclass(frozen=True)
class Source:
    """One DynamoDB or SQS event of a function, with its settings (Lambda's defaults where the template has none)."""

    kind: str  # "DynamoDB" or "SQS"
    name: str  # <function logical id>.<event name>
    function_id: str
    resource_id: str  # the table (DynamoDB) or the queue (SQS)
    batch_size: int
    report_item_failures: bool
    starting_position: str = "LATEST"
    batching_window_seconds: float = 0.0
    bisect_on_error: bool = False
    max_retries: int = -1  # -1: until the record leaves the stream
    patterns: tuple[dict[str, Any], ...] = ()  # none: every record
    on_failure_queue_id: str | None = None
    max_concurrency: int | None = None
    every_seconds: float = 0.0  # ScheduleV2: the rate (LOCAL_SCHEDULE_SECONDS overrides it)

    def accepts(self, record: Mapping[str, Any]) -> bool:
        return not self.patterns or any(matches(pattern, record) for pattern in self.patterns)


def _get_att(value: Any, attribute: str, what: str) -> str:
    target = value.get("Fn::GetAtt") if isinstance(value, dict) else None
    if not (isinstance(target, list) and len(target) == 2 and target[1] == attribute):
        raise UnsupportedEventSource(f"{what}: expected !GetAtt <resource>.{attribute}, got {value!r}")
    return str(target[0])


def _source(function_id: str, event_name: str, kind: str, props: Mapping[str, Any]) -> Source:
    what = f"{function_id}.{event_name}"
    unknown = set(props) - PROPERTIES.get(kind, set())
    scaling, on_failure = props.get("ScalingConfig", {}), props.get("DestinationConfig", {}).get("OnFailure")
    if kind not in PROPERTIES or unknown or set(scaling) - {"MaximumConcurrency"}:
        raise UnsupportedEventSource(f"{what}: {kind} event {sorted(unknown)} {scaling} is not played locally")
    if on_failure and (set(props["DestinationConfig"]) != {"OnFailure"} or on_failure.get("Type") != "SQS"):
        raise UnsupportedEventSource(f"{what}: only an SQS OnFailure destination is played locally")
    report = props.get("FunctionResponseTypes", []) == ["ReportBatchItemFailures"]
    if kind == "ScheduleV2":
        return Source(kind, what, function_id, "", 0, False, every_seconds=_rate_seconds(props, what))
    if kind == "SQS":
        if (batch_size := int(props.get("BatchSize", 10))) > 10:
            raise UnsupportedEventSource(f"{what}: a BatchSize over 10 (with a batching window) is not played locally")
        queue = _get_att(props.get("Queue"), "Arn", what)
        return Source(
            kind, what, function_id, queue, batch_size, report, max_concurrency=scaling.get("MaximumConcurrency")
        )
    patterns = tuple(json.loads(entry["Pattern"]) for entry in props.get("FilterCriteria", {}).get("Filters", []))
    for pattern in patterns:
        check_pattern(pattern, f"{what} FilterCriteria")
    return Source(
        kind,
        what,
        function_id,
        _get_att(props.get("Stream"), "StreamArn", what),
        int(props.get("BatchSize", 100)),
        report,
        starting_position=str(props.get("StartingPosition", "LATEST")),
        batching_window_seconds=float(props.get("MaximumBatchingWindowInSeconds", 0)),
        bisect_on_error=bool(props.get("BisectBatchOnFunctionError", False)),
        max_retries=int(props.get("MaximumRetryAttempts", -1)),
        patterns=patterns,
        on_failure_queue_id=_get_att(on_failure["Destination"], "Arn", what) if on_failure else None,
    )


def _rate_seconds(props: Mapping[str, Any], what: str) -> float:
    """rate(<n> <unit>) as seconds; LOCAL_SCHEDULE_SECONDS=<n> runs every schedule that often instead."""
    override = os.environ.get("LOCAL_SCHEDULE_SECONDS", "").strip()
    if override:
        return float(override)
    expression = props.get("ScheduleExpression")
    value, _, unit = str(expression).removeprefix("rate(").removesuffix(")").partition(" ")
    if not (isinstance(expression, str) and expression.startswith("rate(") and value.isdigit() and unit in _RATE_UNITS):
        raise UnsupportedEventSource(f"{what}: only rate(<n> <unit>) schedules are played locally, got {expression!r}")
    return float(int(value) * _RATE_UNITS[unit])


def event_sources(specs: Iterable[FunctionSpec]) -> list[Source]:
    """Every non-Api event of the template's functions; UnsupportedEventSource for what is not played locally."""
    events = [(spec.logical_id, name, event) for spec in specs for name, event in spec.events.items()]
    return [
        _source(function_id, name, event["Type"], event.get("Properties", {})) for function_id, name, event in events
    ]


def reported_failures(result: Any, identifiers: Sequence[str], report_item_failures: bool) -> list[int]:
    """The indexes of the records the function handed back, in order: none unless ReportBatchItemFailures is on;
    every one when the report names an unknown record or none at all (Lambda's reading of a malformed report)."""
    failures = result.get("batchItemFailures") if report_item_failures and isinstance(result, dict) else None
    try:
        return sorted({identifiers.index(failure["itemIdentifier"]) for failure in failures or []})
    except (TypeError, KeyError, ValueError):
        return list(range(len(identifiers)))


def forget_moto_shard_iterator(iterator: str, account: str = "123456789012", region: str = "us-east-1") -> None:
    """Drop a consumed shard iterator from moto (in this process), which keeps every one it hands out, in its backend
    and behind /moto-api/data.json: about 1.5 KB per poll, for ever. If moto's internals move, it simply stays."""
    try:
        from moto.dynamodbstreams.models import ShardIterator, dynamodbstreams_backends

        dropped = dynamodbstreams_backends[account][region].shard_iterators.pop(iterator, None)
        if dropped is not None:
            ShardIterator.instances_tracked.remove(dropped)  # type: ignore[attr-defined]
    except (ImportError, AttributeError, KeyError, ValueError):
        pass


# ---------------------------------------------------------------- poller threads
class Poller:
    """A background loop around poll_once(), counting its cycles and the productive ones for drain(). An idle poll
    backs off from IDLE_MIN_SECONDS to IDLE_MAX_SECONDS; setting `wake` cuts the wait short."""

    def __init__(self, name: str, function: Any) -> None:
        self.name, self.function = name, function  # the function: anything with invoke(event) -> result
        self.wake, self.stopping = threading.Event(), threading.Event()
        self.cycles = self.productive_cycles = 0
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    def poll_once(self) -> bool:  # one round of work; True when anything was read, invoked or deleted
        raise NotImplementedError

    def leftover(self) -> str | None:  # what still waits to be processed, for drain()
        return None

    def _run(self) -> None:
        idle = IDLE_MIN_SECONDS
        while not self.stopping.is_set():
            try:
                productive = self.poll_once()
            except Exception:
                _log(f"{self.name} poll failed:\n{traceback.format_exc()}")
                productive, idle = False, IDLE_MAX_SECONDS
            self.cycles, self.productive_cycles = self.cycles + 1, self.productive_cycles + productive
            if productive:
                idle = IDLE_MIN_SECONDS
                continue
            self.wake.wait(idle)
            self.wake.clear()
            idle = min(IDLE_MAX_SECONDS, idle * 2)


class StreamPoller(Poller):
    """One DynamoDB event source: the table's stream (moto's one shard) -> the function."""

    backoff_seconds = 0.1  # doubled on every retry of the same record, up to MAX_BACKOFF_SECONDS

    def __init__(
        self, source: Source, function: Any, stream_arn: str, streams: Any, *, sqs: Any, failure_queue: str | None
    ):
        super().__init__(source.name, function)
        self.source, self.stream_arn, self._failure_queue = source, stream_arn, failure_queue
        self._streams, self._sqs = streams, sqs  # streams: no mypy_boto3 stubs are installed for dynamodbstreams
        (shard,) = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
        self.shard_id = shard["ShardId"]
        position = {"StreamArn": stream_arn, "ShardId": self.shard_id, "ShardIteratorType": source.starting_position}
        self._iterator: str | None = streams.get_shard_iterator(**position)["ShardIterator"]
        self.buffer: list[dict[str, Any]] = []  # records the filter passed, oldest first
        self._window_started = self._retry_at = 0.0
        self._attempts = 0  # failed invocations in a row starting at the same record
        self._batch_limit: int | None = None  # a bisected or partial retry's size

    def poll_once(self) -> bool:
        read = False
        if self._iterator is not None and len(self.buffer) < self.source.batch_size:
            page = self._streams.get_records(ShardIterator=self._iterator, Limit=1000)
            forget_moto_shard_iterator(self._iterator)
            self._iterator = page.get("NextShardIterator")
            records = stream_event_from(page["Records"], self.stream_arn)["Records"]
            self._window_started = self._window_started if self.buffer else time.monotonic()
            self.buffer += filter(self.source.accepts, records)
            read = bool(records)
        now = time.monotonic()
        full = self._attempts > 0 or len(self.buffer) >= self.source.batch_size
        window_over = now >= self._window_started + self.source.batching_window_seconds
        if not self.buffer or now < self._retry_at or not (full or window_over):
            return read
        self._deliver()
        return True

    def leftover(self) -> str | None:
        return f"{self.name}: {len(self.buffer)} stream records not yet processed" if self.buffer else None

    def _deliver(self) -> None:
        batch = self.buffer[: self._batch_limit or self.source.batch_size]
        try:
            result = self.function.invoke({"Records": batch})
        except Exception:
            _log(f"{self.name}: batch of {len(batch)} failed:\n{traceback.format_exc()}")
            error, done = True, 0
        else:
            numbers = [record["dynamodb"]["SequenceNumber"] for record in batch]
            failures = reported_failures(result, numbers, self.source.report_item_failures)
            error, done = False, failures[0] if failures else len(batch)
        del self.buffer[:done]
        failed = batch[done:]
        self._attempts = (self._attempts + 1 if done == 0 else 1) if failed else 0
        self._batch_limit, self._retry_at = None, 0.0
        if not failed:
            return
        if 0 <= self.source.max_retries < self._attempts:
            self._give_up(failed, error)
            return
        if self.source.bisect_on_error:  # a function error halves the batch; a partial failure retries what failed
            self._batch_limit = math.ceil(len(failed) / 2) if error else len(failed)
        delay = min(MAX_BACKOFF_SECONDS, self.backoff_seconds * 2 ** (self._attempts - 1))
        self._retry_at = time.monotonic() + delay

    def _give_up(self, failed: list[dict[str, Any]], function_error: bool) -> None:
        """Retries exhausted: where the batch is (its records stay in the stream, and here in the table's outbox
        items) goes to the on-failure queue in the fields of Lambda's own message, and the stream moves on."""
        del self.buffer[: len(failed)]
        invocations, self._attempts = self._attempts, 0
        context = {"functionArn": self.function.identity.arn, "condition": "RetryAttemptsExhausted"}
        info = {"shardId": self.shard_id, "streamArn": self.stream_arn, "batchSize": len(failed)}
        info |= {"startSequenceNumber": failed[0]["dynamodb"]["SequenceNumber"]}
        info |= {"endSequenceNumber": failed[-1]["dynamodb"]["SequenceNumber"]}
        message = {
            "requestContext": {**context, "requestId": str(uuid.uuid4()), "approximateInvokeCount": invocations},
            "responseContext": {"statusCode": 200, **({"functionError": "Unhandled"} if function_error else {})},
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "DDBStreamBatchInfo": info,
        }
        if self._failure_queue is not None:
            self._sqs.send_message(QueueUrl=self._failure_queue, MessageBody=json.dumps(message))
        where = self._failure_queue or "no on-failure queue"
        _log(f"{self.name}: gave up on {len(failed)} records after {invocations} invocations; described in {where}")


class QueuePoller(Poller):
    """One consumer of an SQS event source: the queue -> the function, one batch at a time."""

    def __init__(self, source: Source, function: Any, url: str, sqs: Any, consumer: int = 0) -> None:
        super().__init__(source.name + (f"#{consumer}" if consumer else ""), function)
        self.source, self._url, self._sqs = source, url, sqs
        self._arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        retry = os.environ.get("LOCAL_SQS_RETRY_SECONDS", "").strip()
        self._retry_visibility = int(retry) if retry else None  # None: the queue's own visibility timeout

    def poll_once(self) -> bool:
        messages = self._sqs.receive_message(
            QueueUrl=self._url,
            MaxNumberOfMessages=self.source.batch_size,
            MessageSystemAttributeNames=["All"],
            WaitTimeSeconds=0,  # a long poll would hold moto's one lock (devstack/aws.py)
        ).get("Messages", [])
        if not messages:
            return False
        ids = [message["MessageId"] for message in messages]
        try:
            result = self.function.invoke(sqs_event_from(messages, self._arn))
        except Exception:
            _log(f"{self.name}: batch of {len(ids)} failed, every message stays:\n{traceback.format_exc()}")
            failed = set(range(len(ids)))
        else:
            failed = set(reported_failures(result, ids, self.source.report_item_failures))
        entries = [{"Id": str(n), "ReceiptHandle": message["ReceiptHandle"]} for n, message in enumerate(messages)]
        if done := [entry for n, entry in enumerate(entries) if n not in failed]:
            self._sqs.delete_message_batch(QueueUrl=self._url, Entries=done)
        if failed and self._retry_visibility is not None:
            again = [{**entries[n], "VisibilityTimeout": self._retry_visibility} for n in sorted(failed)]
            self._sqs.change_message_visibility_batch(QueueUrl=self._url, Entries=again)
        return True

    def leftover(self) -> str | None:
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        counts = self._sqs.get_queue_attributes(QueueUrl=self._url, AttributeNames=names)["Attributes"]
        visible, in_flight = (int(counts.get(name, 0)) for name in names)
        return (
            f"{self.source.name}: queue holds {visible} visible, {in_flight} in flight"
            if visible or in_flight
            else None
        )


class SchedulePoller(Poller):
    """One ScheduleV2 event: the function invoked every `every_seconds`, as EventBridge Scheduler would (with no
    input: an empty event). `run_now()` invokes it at once and returns what it answered (make reconcile)."""

    def __init__(self, source: Source, function: Any) -> None:
        super().__init__(source.name, function)
        self.source = source
        self._due = time.monotonic() + source.every_seconds
        self._lock = threading.Lock()

    def poll_once(self) -> bool:
        if time.monotonic() < self._due:
            return False
        self.run_now()
        return True

    def run_now(self, event: dict[str, Any] | None = None) -> Any:
        with self._lock:  # one run at a time, like the deployed function's reserved concurrency of 1
            self._due = time.monotonic() + self.source.every_seconds
            return self.function.invoke(event or {})


# ---------------------------------------------------------------- the LocalStack service
class EventSourcePollers:
    """Every DynamoDB and SQS event source of the template, polled from background threads."""

    def __init__(self, stack: "LocalStack", *, region: str = "us-east-1") -> None:
        self._stack, self._region = stack, region
        self.pollers: list[Poller] = []

    def start(self) -> None:
        # Clients from a session of their own, made on this thread (boto3's default session is not thread-safe).
        session, stack = boto3.session.Session(region_name=self._region), self._stack
        dynamodb, sqs = session.client("dynamodb", config=_CLIENT_CONFIG), session.client("sqs", config=_CLIENT_CONFIG)
        streams = session.client("dynamodbstreams", config=_CLIENT_CONFIG)
        for source in event_sources(stack.specs):
            pool = stack.functions[source.function_id]
            if source.kind == "ScheduleV2":
                self.pollers.append(SchedulePoller(source, pool))
                continue
            if source.kind == "DynamoDB":  # its StartingPosition is taken now, before the API takes requests
                arn = dynamodb.describe_table(TableName=stack.tables[source.resource_id])["Table"]["LatestStreamArn"]
                failure_queue = stack.queue_urls.get(source.on_failure_queue_id or "")
                self.pollers.append(StreamPoller(source, pool, arn, streams, sqs=sqs, failure_queue=failure_queue))
                continue
            # One consumer per container, as Lambda scales a queue's consumers out (too few, and under load a backlog
            # builds that every moto SQS call scans); SQS hands each FIFO message group to one consumer at a time.
            url, consumers = stack.queue_urls[source.resource_id], min(pool.size, source.max_concurrency or pool.size)
            self.pollers += [QueuePoller(source, pool, url, sqs, consumer=n) for n in range(consumers)]
        for poller in self.pollers:
            poller.thread.start()

    def stop(self) -> None:
        for poller in self.pollers:
            poller.stopping.set()
            poller.wake.set()
        for poller in self.pollers:
            poller.thread.join(5.0)

    def drain(self, timeout: float = 30.0) -> None:
        """Wait until all is quiet: a full poll of every source, begun after the last work anywhere, found nothing,
        and no stream record or queue message is left (failed ones waiting for a retry count as left).
        TimeoutError naming what is left otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            marks = [(poller, poller.cycles, poller.productive_cycles) for poller in self.pollers]
            # Two more cycles each (the one running now may have begun before the mark), none of them productive.
            while time.monotonic() < deadline and any(poller.cycles < cycles + 2 for poller, cycles, _ in marks):
                for poller in self.pollers:
                    poller.wake.set()
                time.sleep(0.01)
            quiet = all(p.cycles >= cycles + 2 and p.productive_cycles == productive for p, cycles, productive in marks)
            if quiet and not self._leftovers():
                return
            time.sleep(0.05)
        raise TimeoutError(f"not drained after {timeout}s: {'; '.join(self._leftovers()) or 'pollers still busy'}")

    def run_schedule(self, function_id: str, event: dict[str, Any] | None = None) -> Any:
        """Run a function's schedule now (the local stand-in for invoking a scheduled function by hand)."""
        for poller in self.pollers:
            if isinstance(poller, SchedulePoller) and poller.source.function_id == function_id:
                return poller.run_now(event)
        raise KeyError(function_id)

    def _leftovers(self) -> list[str]:
        """What is left, once per event source (a queue's consumers all see the same queue)."""
        return list(dict.fromkeys(text for poller in self.pollers if (text := poller.leftover())))
