"""Lambda's event source mappings, played locally: DynamoDB stream and SQS pollers feeding the template's functions.

Each non-Api event of a function in template.yaml (FunctionSpec.events) becomes background poller threads:

* DynamoDB: reads the table's stream in moto (describe_table -> LatestStreamArn, describe_stream, get_shard_iterator
  at StartingPosition, then NextShardIterator), drops records the FilterCriteria reject, gathers up to BatchSize
  within MaximumBatchingWindowInSeconds and invokes the function with a DynamoDB Streams event. A failed batch is
  retried with backoff from the first failed record (batchItemFailures, when ReportBatchItemFailures is on) or
  whole, halved first when BisectBatchOnFunctionError is on; after MaximumRetryAttempts its description goes to the
  DestinationConfig OnFailure queue, as Lambda sends it, and the shard moves on.
* SQS: as many pollers per queue as the function has containers, as Lambda scales a queue's consumers out (for a FIFO
  queue, SQS hands each message group to one consumer at a time). Each receives up to BatchSize messages (all system
  attributes, the queue's own visibility timeout), invokes the function with an SQS event and deletes every message
  not reported in batchItemFailures (nothing when the function raised). Failed messages come back when their
  visibility timeout ends and, after maxReceiveCount receives, moto's redrive moves them to the dead-letter queue.
  LOCAL_SQS_RETRY_SECONDS=<n> makes failed messages visible again after n seconds instead (a local shortcut to the
  DLQ; the template's timeouts are minutes).

Local differences, on purpose: one poller thread per stream; receives are short polls (WaitTimeSeconds=0), because
moto serves one request at a time (devstack/aws.py) and a long poll would hold every other AWS call back;
MaximumRecordAge, ParallelizationFactor, TumblingWindow and ScalingConfig are not modelled.

`EventSourcePollers` is the LocalStack service holding the pollers; `drain()` waits until every stream has been
read to its end, every queue is empty and nothing is waiting for a retry. LOCAL_POLLERS=0 turns them all off.
"""

import base64
import json
import math
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

import boto3
from botocore.config import Config

from devstack.event_filters import EventFilter
from devstack.make_consumer_events import sqs_event_from
from devstack.template import FunctionSpec

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import (
        ChangeMessageVisibilityBatchRequestEntryTypeDef,
        DeleteMessageBatchRequestEntryTypeDef,
    )

REPORT_BATCH_ITEM_FAILURES = "ReportBatchItemFailures"
SQS_RECEIVE_LIMIT = 10  # messages per ReceiveMessage
STREAM_READ_LIMIT = 1000  # records per GetRecords
IDLE_MIN_SECONDS = 0.05
IDLE_MAX_SECONDS = 0.5
_QUEUE_COUNTS = {
    "ApproximateNumberOfMessages": "visible",
    "ApproximateNumberOfMessagesNotVisible": "in flight",
    "ApproximateNumberOfMessagesDelayed": "delayed",
}
_CLIENT_CONFIG = Config(connect_timeout=2, read_timeout=10, retries={"mode": "standard", "max_attempts": 3})


class UnsupportedEventSource(ValueError):
    """A template event the local stack cannot poll (it would otherwise be silently ignored)."""


class Invoker(Protocol):
    def invoke(self, event: dict[str, Any]) -> dict[str, Any]: ...


def enabled() -> bool:
    """LOCAL_POLLERS=0 (or false/no/off) leaves streams and queues unconsumed."""
    return os.environ.get("LOCAL_POLLERS", "1").strip().lower() not in ("0", "false", "no", "off")


def retry_visibility_seconds() -> int | None:
    value = os.environ.get("LOCAL_SQS_RETRY_SECONDS", "").strip()
    return int(value) if value else None


def _log(message: str) -> None:
    print(f"pollers: {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- the template's event sources
@dataclass(frozen=True)
class StreamSource:
    function_id: str
    event_name: str
    table_id: str
    starting_position: str
    batch_size: int
    batching_window_seconds: float
    bisect_on_error: bool
    max_retries: int  # -1: until the record leaves the stream
    report_item_failures: bool
    event_filter: EventFilter
    on_failure_queue_id: str | None


@dataclass(frozen=True)
class QueueSource:
    function_id: str
    event_name: str
    queue_id: str
    batch_size: int
    report_item_failures: bool
    event_filter: EventFilter


def _get_att_target(value: Any, attribute: str, what: str) -> str:
    """The logical id in {"Fn::GetAtt": [id, attribute]}: the only form the local stack can map to a resource."""
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"]
        if len(target) == 2 and target[1] == attribute:
            return str(target[0])
    raise UnsupportedEventSource(f"{what}: expected !GetAtt <resource>.{attribute}, got {value!r}")


def event_sources(specs: Iterable[FunctionSpec]) -> list[StreamSource | QueueSource]:
    """Every DynamoDB and SQS event of the template's functions (Enabled: false ones left out)."""
    sources: list[StreamSource | QueueSource] = []
    for spec in specs:
        for name, event in spec.events.items():
            props = event.get("Properties", {})
            what = f"{spec.logical_id}.{name}"
            if props.get("Enabled") is False:
                continue
            report = REPORT_BATCH_ITEM_FAILURES in (props.get("FunctionResponseTypes") or [])
            if event["Type"] == "DynamoDB":
                on_failure = ((props.get("DestinationConfig") or {}).get("OnFailure")) or {}
                if on_failure and on_failure.get("Type", "SQS") != "SQS":
                    raise UnsupportedEventSource(f"{what}: only SQS on-failure destinations are supported")
                sources.append(
                    StreamSource(
                        function_id=spec.logical_id,
                        event_name=name,
                        table_id=_get_att_target(props.get("Stream"), "StreamArn", what),
                        starting_position=str(props.get("StartingPosition", "LATEST")),
                        batch_size=int(props.get("BatchSize", 100)),
                        batching_window_seconds=float(props.get("MaximumBatchingWindowInSeconds", 0)),
                        bisect_on_error=bool(props.get("BisectBatchOnFunctionError", False)),
                        max_retries=int(props.get("MaximumRetryAttempts", -1)),
                        report_item_failures=report,
                        event_filter=EventFilter.from_criteria(props.get("FilterCriteria")),
                        on_failure_queue_id=(
                            _get_att_target(on_failure["Destination"], "Arn", f"{what} OnFailure")
                            if on_failure
                            else None
                        ),
                    )
                )
            elif event["Type"] == "SQS":
                sources.append(
                    QueueSource(
                        function_id=spec.logical_id,
                        event_name=name,
                        queue_id=_get_att_target(props.get("Queue"), "Arn", what),
                        batch_size=int(props.get("BatchSize", 10)),
                        report_item_failures=report,
                        event_filter=EventFilter.from_criteria(props.get("FilterCriteria")),
                    )
                )
            else:
                _log(f"{what}: {event['Type']} events are not polled locally")
    return sources


# ---------------------------------------------------------------- Lambda events
def _wire(value: Any) -> Any:
    """boto3 decodes B/BS attribute values to bytes; Lambda events carry them base64-encoded."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {key: _wire(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_wire(item) for item in value]
    return value


def stream_record(raw: Mapping[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """A record from dynamodbstreams.get_records (boto3 shapes) as Lambda puts it in a DynamoDB Streams event."""
    dynamodb = _wire(dict(raw["dynamodb"]))
    created = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        dynamodb["ApproximateCreationDateTime"] = int(created.timestamp())
    return {
        "eventID": raw["eventID"],
        "eventName": raw["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": raw.get("awsRegion") or region,
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }


def _message_attributes(attributes: Mapping[str, Any]) -> dict[str, Any]:
    converted = {}
    for name, value in attributes.items():
        entry: dict[str, Any] = {"stringListValues": [], "binaryListValues": [], "dataType": value["DataType"]}
        if "StringValue" in value:
            entry["stringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            entry["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode("ascii")
        converted[name] = entry
    return converted


def sqs_event(messages: Sequence[Mapping[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """Messages from sqs.receive_message (all system and message attributes) as the Lambda SQS event."""
    event = sqs_event_from(messages, queue_arn)
    for record, message in zip(event["Records"], messages, strict=True):
        record["awsRegion"] = region
        record["messageAttributes"] = _message_attributes(message.get("MessageAttributes", {}))
        record["attributes"].update(message.get("Attributes", {}))
        if "MD5OfBody" in message:
            record["md5OfBody"] = message["MD5OfBody"]
    return event


def sqs_filter_view(record: Mapping[str, Any]) -> dict[str, Any]:
    """What an SQS filter pattern sees: the record, with a JSON body parsed (Lambda filters on its fields)."""
    try:
        body = json.loads(record["body"])
    except (TypeError, ValueError):
        return dict(record)
    return {**record, "body": body} if isinstance(body, dict | list) else dict(record)


# ---------------------------------------------------------------- function responses
@dataclass(frozen=True)
class StreamOutcome:
    """retry_from: index of the first record to hand back (None when the batch succeeded)."""

    retry_from: int | None = None
    function_error: str | None = None


def stream_outcome(result: Any, batch: Sequence[Mapping[str, Any]], report_item_failures: bool) -> StreamOutcome:
    """How Lambda reads a stream function's response: without ReportBatchItemFailures any return is success; with
    it, the lowest reported sequence number is the checkpoint, and a malformed report fails the whole batch."""
    if not report_item_failures or not isinstance(result, dict):
        return StreamOutcome()
    failures = result.get("batchItemFailures")
    if not failures:
        return StreamOutcome()
    positions = {record["dynamodb"]["SequenceNumber"]: index for index, record in enumerate(batch)}
    indexes = []
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not identifier or identifier not in positions:
            return StreamOutcome(retry_from=0)
        indexes.append(positions[identifier])
    return StreamOutcome(retry_from=min(indexes))


def sqs_failures(result: Any, message_ids: Sequence[str], report_item_failures: bool) -> set[str]:
    """The message ids to leave in the queue; a malformed report fails the whole batch, as Lambda does."""
    if not report_item_failures or not isinstance(result, dict):
        return set()
    failures = result.get("batchItemFailures")
    if not failures:
        return set()
    failed = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not identifier or identifier not in message_ids:
            return set(message_ids)
        failed.add(identifier)
    return failed


def _iso(epoch_seconds: Any) -> str:
    moment = datetime.fromtimestamp(float(epoch_seconds), UTC) if epoch_seconds is not None else datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def stream_failure_message(
    batch: Sequence[Mapping[str, Any]],
    *,
    shard_id: str,
    stream_arn: str,
    function_arn: str,
    invocations: int,
    function_error: str | None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """What Lambda sends to an on-failure destination for a stream batch it gave up on (the batch's location,
    not its records: they stay in the stream, or here in the table's outbox items)."""
    moment = now or datetime.now(UTC)
    response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
    if function_error is not None:
        response["functionError"] = "Unhandled"
    return {
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": function_arn,
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": invocations,
        },
        "responseContext": response,
        "version": "1.0",
        "timestamp": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": batch[0]["dynamodb"]["SequenceNumber"],
            "endSequenceNumber": batch[-1]["dynamodb"]["SequenceNumber"],
            "approximateArrivalOfFirstRecord": _iso(batch[0]["dynamodb"].get("ApproximateCreationDateTime")),
            "approximateArrivalOfLastRecord": _iso(batch[-1]["dynamodb"].get("ApproximateCreationDateTime")),
            "batchSize": len(batch),
            "streamArn": stream_arn,
        },
    }


def forget_moto_shard_iterator(iterator: str, account: str = "123456789012", region: str = "us-east-1") -> None:
    """Drop a consumed shard iterator from moto, which keeps every one it hands out (in its backend and in the
    instance list behind /moto-api/data.json): about 1.5 KB per poll, for ever. Only for a moto running in this
    process, as LocalStack's does; if moto's internals move, the iterator simply stays."""
    try:
        from moto.dynamodbstreams.models import ShardIterator, dynamodbstreams_backends

        dropped = dynamodbstreams_backends[account][region].shard_iterators.pop(iterator, None)
        if dropped is not None:
            ShardIterator.instances_tracked.remove(dropped)  # type: ignore[attr-defined]
    except (ImportError, AttributeError, KeyError, ValueError):
        pass


# ---------------------------------------------------------------- poller threads
class Poller:
    """A background loop around poll_once(); counts cycles and productive cycles so drain() can tell when all
    is quiet. Idle polls back off from IDLE_MIN_SECONDS to IDLE_MAX_SECONDS; wake() cuts the wait short."""

    name = "poller"

    def __init__(self) -> None:
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._progress = threading.Condition()
        self._thread: threading.Thread | None = None
        self.cycles = 0
        self.productive_cycles = 0

    def poll_once(self) -> bool:
        """One round of work; True when anything was read, invoked or deleted."""
        raise NotImplementedError

    def leftover(self) -> str | None:
        """What still waits to be processed (None when nothing), for drain()."""
        return None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def request_stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                _log(f"{self.name} still busy after {timeout}s; left behind (daemon thread)")

    def wake(self) -> None:
        self._wake.set()

    def wait_for_cycle(self, cycle: int, deadline: float) -> bool:
        with self._progress:
            while self.cycles < cycle:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._stopping.is_set():
                    return False
                self._progress.wait(min(remaining, 0.1))
        return True

    def _pause(self, seconds: float) -> None:
        self._wake.wait(seconds)
        self._wake.clear()

    def _run(self) -> None:
        idle = IDLE_MIN_SECONDS
        while not self._stopping.is_set():
            productive = False
            try:
                productive = self.poll_once()
            except Exception:
                _log(f"{self.name} poll failed:\n{traceback.format_exc()}")
                idle = IDLE_MAX_SECONDS
            with self._progress:
                self.cycles += 1
                self.productive_cycles += productive
                self._progress.notify_all()
            if productive:
                idle = IDLE_MIN_SECONDS
                continue
            self._pause(self._next_wait(idle))
            idle = min(IDLE_MAX_SECONDS, idle * 2)

    def _next_wait(self, idle: float) -> float:
        return idle


@dataclass
class _Shard:
    shard_id: str
    iterator: str | None
    buffer: list[dict[str, Any]] = field(default_factory=list)  # filtered Lambda records, oldest first
    window_started: float | None = None
    attempts: int = 0  # failed invocations in a row with the same first record
    batch_limit: int | None = None  # a bisected or partial retry's size
    retry_at: float = 0.0


class StreamPoller(Poller):
    """One DynamoDB event source: the table's stream -> the function, shard by shard."""

    def __init__(
        self,
        source: StreamSource,
        function: Invoker,
        function_arn: str,
        table_name: str,
        *,
        dynamodb: "DynamoDBClient",
        streams: Any,  # a dynamodbstreams client (no mypy_boto3 stubs installed for it)
        sqs: "SQSClient",
        failure_queue_url: str | None,
        region: str,
        backoff_seconds: float = 0.1,
        max_backoff_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        forget_iterator: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__()
        self.name = f"{source.function_id}.{source.event_name}"
        self.source = source
        self._function = function
        self._forget_iterator = forget_iterator
        self._function_arn = function_arn
        self._table_name = table_name
        self._dynamodb = dynamodb
        self._streams = streams
        self._sqs = sqs
        self._failure_queue_url = failure_queue_url
        self._region = region
        self._backoff = backoff_seconds
        self._max_backoff = max_backoff_seconds
        self._clock = clock
        self._shards: dict[str, _Shard] | None = None
        self._finished: set[str] = set()
        self.stream_arn = ""
        self.discarded = 0

    # ------------------------------------------------------------ reading
    def open(self) -> None:
        """Find the stream and position an iterator on every shard (StartingPosition for those open now)."""
        table = self._dynamodb.describe_table(TableName=self._table_name)["Table"]
        if "LatestStreamArn" not in table:
            raise UnsupportedEventSource(f"{self.name}: table {self._table_name} has no stream")
        self.stream_arn = table["LatestStreamArn"]
        self._shards = {}
        self._discover(self.source.starting_position)

    def _discover(self, position: str) -> None:
        assert self._shards is not None
        description = self._streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        for shard in description.get("Shards", []):
            shard_id = shard["ShardId"]
            if shard_id in self._shards or shard_id in self._finished:
                continue
            iterator = self._streams.get_shard_iterator(
                StreamArn=self.stream_arn,
                ShardId=shard_id,
                ShardIteratorType=position,
            )["ShardIterator"]
            self._shards[shard_id] = _Shard(shard_id, iterator)

    def _read(self, shard: _Shard) -> bool:
        if shard.iterator is None or len(shard.buffer) >= self.source.batch_size:
            return False
        page = self._streams.get_records(ShardIterator=shard.iterator, Limit=STREAM_READ_LIMIT)
        if self._forget_iterator is not None:
            self._forget_iterator(shard.iterator)
        shard.iterator = page.get("NextShardIterator")  # None once a closed shard is read to its end
        for raw in page.get("Records", []):
            record = stream_record(raw, self.stream_arn, self._region)
            if self.source.event_filter.accepts(record):
                shard.buffer.append(record)
                if shard.window_started is None:
                    shard.window_started = self._clock()
        return bool(page.get("Records"))

    # ------------------------------------------------------------ delivering
    def _due(self, shard: _Shard) -> bool:
        if not shard.buffer or self._clock() < shard.retry_at:
            return False
        if shard.attempts or shard.batch_limit or len(shard.buffer) >= self.source.batch_size:
            return True
        started = shard.window_started if shard.window_started is not None else self._clock()
        return self._clock() - started >= self.source.batching_window_seconds

    def _deliver(self, shard: _Shard) -> None:
        batch = shard.buffer[: shard.batch_limit or self.source.batch_size]
        try:
            result = self._function.invoke({"Records": batch})
        except Exception as exc:
            _log(f"{self.name}: batch of {len(batch)} failed:\n{traceback.format_exc()}")
            outcome = StreamOutcome(retry_from=0, function_error=f"{type(exc).__name__}: {exc}")
        else:
            outcome = stream_outcome(result, batch, self.source.report_item_failures)
        self._settle(shard, batch, outcome)

    def _settle(self, shard: _Shard, batch: list[dict[str, Any]], outcome: StreamOutcome) -> None:
        if outcome.retry_from is None:
            del shard.buffer[: len(batch)]
            shard.attempts, shard.batch_limit, shard.retry_at = 0, None, 0.0
        else:
            done = outcome.retry_from
            failed = batch[done:]
            del shard.buffer[:done]
            shard.attempts = shard.attempts + 1 if done == 0 else 1
            if 0 <= self.source.max_retries < shard.attempts:
                self._discard(shard, failed, outcome.function_error)
            else:
                shard.batch_limit = None
                if self.source.bisect_on_error:
                    # A function error halves the batch; a partial failure retries only what was handed back.
                    shard.batch_limit = math.ceil(len(failed) / 2) if outcome.function_error else len(failed)
                delay = min(self._max_backoff, self._backoff * 2 ** (shard.attempts - 1))
                shard.retry_at = self._clock() + delay
                _log(
                    f"{self.name}: {len(failed)} of {len(batch)} records handed back, "
                    f"retry {shard.attempts} of {self._retries_text()} in {delay:.1f}s"
                )
        if not shard.buffer:
            shard.window_started = None

    def _retries_text(self) -> str:
        return "unlimited" if self.source.max_retries < 0 else str(self.source.max_retries)

    def _discard(self, shard: _Shard, failed: list[dict[str, Any]], function_error: str | None) -> None:
        """Retries exhausted: the batch's description goes to the on-failure queue and the shard moves on."""
        message = stream_failure_message(
            failed,
            shard_id=shard.shard_id,
            stream_arn=self.stream_arn,
            function_arn=self._function_arn,
            invocations=shard.attempts,
            function_error=function_error,
        )
        del shard.buffer[: len(failed)]
        shard.attempts, shard.batch_limit, shard.retry_at = 0, None, 0.0
        self.discarded += len(failed)
        where = "dropped (no on-failure destination)"
        if self._failure_queue_url is not None:
            extra: dict[str, Any] = {}
            if self._failure_queue_url.endswith(".fifo"):
                extra = {
                    "MessageGroupId": shard.shard_id,
                    "MessageDeduplicationId": message["requestContext"]["requestId"],
                }
            self._sqs.send_message(QueueUrl=self._failure_queue_url, MessageBody=json.dumps(message), **extra)
            where = f"described in {self._failure_queue_url.rsplit('/', 1)[-1]}"
        invocations = message["requestContext"]["approximateInvokeCount"]
        _log(f"{self.name}: gave up on {len(failed)} records after {invocations} invocations, {where}")

    # ------------------------------------------------------------ the loop
    def poll_once(self) -> bool:
        if self._shards is None:
            self.open()
        assert self._shards is not None
        productive = False
        for shard in list(self._shards.values()):
            productive |= self._read(shard)
            if self._due(shard):
                self._deliver(shard)
                productive = True
            if shard.iterator is None and not shard.buffer:
                # A closed shard read to its end: its children (opened as it closed) are read from their start.
                del self._shards[shard.shard_id]
                self._finished.add(shard.shard_id)
                self._discover("TRIM_HORIZON")
        return productive

    def _next_wait(self, idle: float) -> float:
        if self._shards:
            waits = [s.retry_at - self._clock() for s in self._shards.values() if s.buffer and s.retry_at]
            waits += [
                s.window_started + self.source.batching_window_seconds - self._clock()
                for s in self._shards.values()
                if s.buffer and s.window_started is not None and not s.retry_at
            ]
            if waits:
                return max(0.0, min(idle, *waits))
        return idle

    def leftover(self) -> str | None:
        waiting = sum(len(shard.buffer) for shard in (self._shards or {}).values())
        return f"{self.name}: {waiting} stream records not yet processed" if waiting else None


class QueuePoller(Poller):
    """One SQS event source: the queue -> the function, one batch at a time."""

    def __init__(
        self,
        source: QueueSource,
        function: Invoker,
        queue_url: str,
        *,
        sqs: "SQSClient",
        region: str,
        retry_visibility: int | None = None,
        consumer: int = 0,
    ) -> None:
        super().__init__()
        self.name = f"{source.function_id}.{source.event_name}" + (f"#{consumer}" if consumer else "")
        self.source = source
        self._function = function
        self._queue_url = queue_url
        self._sqs = sqs
        self._region = region
        self._retry_visibility = retry_visibility
        self._queue_arn: str | None = None

    @property
    def queue_arn(self) -> str:
        if self._queue_arn is None:
            attributes = self._sqs.get_queue_attributes(QueueUrl=self._queue_url, AttributeNames=["QueueArn"])
            self._queue_arn = attributes["Attributes"]["QueueArn"]
        return self._queue_arn

    def _receive(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        while len(messages) < self.source.batch_size:
            response = self._sqs.receive_message(
                QueueUrl=self._queue_url,
                MaxNumberOfMessages=min(SQS_RECEIVE_LIMIT, self.source.batch_size - len(messages)),
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0,  # a long poll would hold moto's one lock (devstack/aws.py)
            )
            page = [dict(message) for message in response.get("Messages", [])]
            messages += page
            if len(page) < SQS_RECEIVE_LIMIT:
                break
        return messages

    def poll_once(self) -> bool:
        messages = self._receive()
        if not messages:
            return False
        records = sqs_event(messages, self.queue_arn, self._region)["Records"]
        wanted = [r for r in records if self.source.event_filter.accepts(sqs_filter_view(r))]
        failed: set[str] = set()
        if wanted:
            ids = [record["messageId"] for record in wanted]
            try:
                result = self._function.invoke({"Records": wanted})
            except Exception:
                _log(f"{self.name}: batch of {len(wanted)} failed, every message stays:\n{traceback.format_exc()}")
                failed = set(ids)
            else:
                failed = sqs_failures(result, ids, self.source.report_item_failures)
            if failed:
                _log(f"{self.name}: {len(failed)} of {len(wanted)} messages handed back")
        # Messages the filter rejects are deleted, as Lambda does; so is everything the function processed.
        self._delete([r for r in records if r["messageId"] not in failed])
        if failed and self._retry_visibility is not None:
            self._make_visible([r for r in records if r["messageId"] in failed], self._retry_visibility)
        return True

    def _delete(self, records: Sequence[Mapping[str, Any]]) -> None:
        for start in range(0, len(records), SQS_RECEIVE_LIMIT):
            chunk = records[start : start + SQS_RECEIVE_LIMIT]
            entries: list[DeleteMessageBatchRequestEntryTypeDef] = [
                {"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(chunk)
            ]
            response = self._sqs.delete_message_batch(QueueUrl=self._queue_url, Entries=entries)
            for failure in response.get("Failed", []):
                _log(f"{self.name}: delete failed: {failure.get('Code')}")

    def _make_visible(self, records: Sequence[Mapping[str, Any]], seconds: int) -> None:
        for start in range(0, len(records), SQS_RECEIVE_LIMIT):
            chunk = records[start : start + SQS_RECEIVE_LIMIT]
            entries: list[ChangeMessageVisibilityBatchRequestEntryTypeDef] = [
                {"Id": str(i), "ReceiptHandle": r["receiptHandle"], "VisibilityTimeout": seconds}
                for i, r in enumerate(chunk)
            ]
            self._sqs.change_message_visibility_batch(QueueUrl=self._queue_url, Entries=entries)

    def leftover(self) -> str | None:
        attributes = self._sqs.get_queue_attributes(
            QueueUrl=self._queue_url,
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        )["Attributes"]
        counts = {_QUEUE_COUNTS[name]: int(value) for name, value in attributes.items() if name in _QUEUE_COUNTS}
        detail = ", ".join(f"{count} {state}" for state, count in counts.items() if count)
        return f"{self.source.function_id}.{self.source.event_name}: queue holds {detail}" if detail else None


# ---------------------------------------------------------------- the LocalStack service
class StackView(Protocol):
    """What the pollers need from LocalStack (devstack/stack.py), read when they start."""

    specs: list[FunctionSpec]
    tables: dict[str, str]
    queue_urls: dict[str, str]

    @property
    def functions(self) -> Mapping[str, Any]: ...


class EventSourcePollers:
    """Every DynamoDB and SQS event source of the template, polled from background threads."""

    def __init__(self, stack: StackView, *, region: str = "us-east-1") -> None:
        self._stack = stack
        self._region = region
        self.pollers: list[Poller] = []

    def start(self) -> None:
        # Clients made here, on the starting thread, from a session of their own (boto3's default session is not
        # safe to build clients from concurrently).
        session = boto3.session.Session(region_name=self._region)
        dynamodb = session.client("dynamodb", config=_CLIENT_CONFIG)
        streams = session.client("dynamodbstreams", config=_CLIENT_CONFIG)
        sqs = session.client("sqs", config=_CLIENT_CONFIG)
        stack = self._stack
        for source in event_sources(stack.specs):
            pool = stack.functions[source.function_id]
            if isinstance(source, StreamSource):
                failure_queue = source.on_failure_queue_id
                stream_poller = StreamPoller(
                    source,
                    pool,
                    pool.identity.arn,
                    stack.tables[source.table_id],
                    dynamodb=dynamodb,
                    streams=streams,
                    sqs=sqs,
                    failure_queue_url=stack.queue_urls[failure_queue] if failure_queue else None,
                    region=self._region,
                    forget_iterator=forget_moto_shard_iterator,  # LocalStack's moto runs in this process
                )
                stream_poller.open()  # StartingPosition is taken now, before the API takes requests
                self.pollers.append(stream_poller)
            else:
                # Without enough consumers, a backlog builds under load, and every moto SQS call scans the backlog.
                self.pollers += [
                    QueuePoller(
                        source,
                        pool,
                        stack.queue_urls[source.queue_id],
                        sqs=sqs,
                        region=self._region,
                        retry_visibility=retry_visibility_seconds(),
                        consumer=consumer,
                    )
                    for consumer in range(pool.size)
                ]
        for poller in self.pollers:
            poller.start()

    def stop(self) -> None:
        for poller in self.pollers:
            poller.request_stop()
        for poller in self.pollers:
            poller.stop()

    def drain(self, timeout: float = 30.0) -> None:
        """Wait until all is quiet: a full poll of every source, started after the last work anywhere, found
        nothing, and no stream record or queue message is left (failed ones waiting for a retry count as left).
        Raises TimeoutError naming what is left."""
        deadline = time.monotonic() + timeout
        while True:
            marks = [(poller, poller.cycles, poller.productive_cycles) for poller in self.pollers]
            for poller in self.pollers:
                poller.wake()
            # Two more cycles: the one running now may have started before the mark.
            if not all(poller.wait_for_cycle(cycles + 2, deadline) for poller, cycles, _ in marks):
                break
            if all(poller.productive_cycles == productive for poller, _, productive in marks):
                left = self._leftovers()
                if not left:
                    return
                if time.monotonic() >= deadline:
                    raise TimeoutError(f"not drained after {timeout}s: {'; '.join(left)}")
                time.sleep(0.05)
        left = self._leftovers()
        raise TimeoutError(f"not drained after {timeout}s: {'; '.join(left) or 'pollers still busy'}")

    def _leftovers(self) -> list[str]:
        """What is left, once per event source (a queue's consumers all see the same queue)."""
        return list(dict.fromkeys(text for poller in self.pollers if (text := poller.leftover())))
