"""The local stack's TransactWriteItems: cancelled ones change nothing, retried ones (same token) apply once."""

import tracemalloc
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.models import dynamodb_backends

from devstack.moto_dynamodb import ClientTokens, Contention, contention, faithful_transactions

TABLE = "orders"


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws(), faithful_transactions():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        yield client


def put(pk: str, sk: str = "A", **attributes: str) -> dict[str, Any]:
    item = {"pk": {"S": pk}, "sk": {"S": sk}} | {name: {"S": value} for name, value in attributes.items()}
    return {"Put": {"TableName": TABLE, "Item": item}}


def add_to_counter(pk: str, by: int = 1) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": TABLE,
            "Key": {"pk": {"S": pk}, "sk": {"S": "A"}},
            "UpdateExpression": "ADD n :by",
            "ExpressionAttributeValues": {":by": {"N": str(by)}},
        }
    }


def absent(pk: str) -> dict[str, Any]:
    return {
        "ConditionCheck": {
            "TableName": TABLE,
            "Key": {"pk": {"S": pk}, "sk": {"S": "A"}},
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


def table_items(client: Any) -> dict[str, dict[str, Any]]:
    return {item["pk"]["S"]: item for item in client.scan(TableName=TABLE)["Items"]}


def stream_records(client: Any) -> list[str]:
    streams = boto3.client("dynamodbstreams", region_name="us-east-1")
    arn = client.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    records = streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
    return [f"{r['eventName']} {r['dynamodb']['Keys']['pk']['S']}" for r in records]


def test_a_cancelled_transaction_leaves_items_stream_and_table_as_they_were(dynamodb: Any) -> None:
    dynamodb.transact_write_items(TransactItems=[put("kept", status="open"), put("taken"), add_to_counter("counter")])
    table = dynamodb_backends["123456789012"]["us-east-1"].tables[TABLE]
    before_items, before_stream = table_items(dynamodb), stream_records(dynamodb)

    with pytest.raises(ClientError) as cancelled:
        dynamodb.transact_write_items(
            TransactItems=[put("kept", status="closed"), add_to_counter("counter"), put("new"), absent("taken")]
        )

    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    reasons = [reason["Code"] for reason in cancelled.value.response["CancellationReasons"]]
    assert reasons == ["None", "None", "None", "ConditionalCheckFailed"]
    assert table_items(dynamodb) == before_items
    assert stream_records(dynamodb) == before_stream
    # the same table object: stream readers keep reading the shard they were given
    assert dynamodb_backends["123456789012"]["us-east-1"].tables[TABLE] is table


def test_an_action_refused_after_others_were_applied_rolls_them_back(dynamodb: Any) -> None:
    dynamodb.transact_write_items(TransactItems=[add_to_counter("counter")])
    before_stream = stream_records(dynamodb)
    invalid_update = {
        "Update": {
            "TableName": TABLE,
            "Key": {"pk": {"S": "other"}, "sk": {"S": "A"}},
            "UpdateExpression": "SET n = n + :one",  # no n on a new item: refused while applying
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        }
    }

    with pytest.raises(ClientError):
        dynamodb.transact_write_items(TransactItems=[add_to_counter("counter"), put("new"), invalid_update])

    assert table_items(dynamodb)["counter"]["n"] == {"N": "1"}
    assert set(table_items(dynamodb)) == {"counter"}
    assert stream_records(dynamodb) == before_stream


def test_a_committed_transaction_writes_every_action(dynamodb: Any) -> None:
    dynamodb.transact_write_items(TransactItems=[put("a"), put("b"), add_to_counter("counter", 5), absent("c")])

    assert set(table_items(dynamodb)) == {"a", "b", "counter"}
    assert table_items(dynamodb)["counter"]["n"] == {"N": "5"}


def test_a_retry_with_the_same_client_token_is_applied_once(dynamodb: Any) -> None:
    request = {"TransactItems": [add_to_counter("counter"), put("once")], "ClientRequestToken": "retry-1"}

    dynamodb.transact_write_items(**request)
    first_stream = stream_records(dynamodb)
    dynamodb.transact_write_items(**request)  # what botocore sends after a read timeout

    assert table_items(dynamodb)["counter"]["n"] == {"N": "1"}
    assert stream_records(dynamodb) == first_stream


def test_a_new_token_applies_again_and_a_reused_token_with_another_request_is_refused(dynamodb: Any) -> None:
    dynamodb.transact_write_items(TransactItems=[add_to_counter("counter")], ClientRequestToken="t-1")
    dynamodb.transact_write_items(TransactItems=[add_to_counter("counter")], ClientRequestToken="t-2")

    with pytest.raises(ClientError) as mismatch:
        dynamodb.transact_write_items(TransactItems=[add_to_counter("counter", 7)], ClientRequestToken="t-1")

    assert mismatch.value.response["Error"]["Code"] == "IdempotentParameterMismatchException"
    assert table_items(dynamodb)["counter"]["n"] == {"N": "2"}


def test_a_cancelled_transaction_does_not_use_up_its_token(dynamodb: Any) -> None:
    dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": "taken"}, "sk": {"S": "A"}})
    request = {"TransactItems": [absent("taken"), put("after")], "ClientRequestToken": "t-3"}
    with pytest.raises(ClientError):
        dynamodb.transact_write_items(**request)
    dynamodb.delete_item(TableName=TABLE, Key={"pk": {"S": "taken"}, "sk": {"S": "A"}})

    dynamodb.transact_write_items(**request)

    assert "after" in table_items(dynamodb)


def test_client_tokens_expire_after_ten_minutes() -> None:
    now = [0.0]
    tokens = ClientTokens(clock=lambda: now[0])
    tokens.commit("t", "request")

    assert tokens.already_committed("t", "request")
    now[0] = 601.0
    assert not tokens.already_committed("t", "other request")


def test_transactions_do_not_copy_whole_tables(dynamodb: Any) -> None:
    # moto alone keeps a copy of the table per action of every transaction: memory grew with the table.
    dynamodb.transact_write_items(TransactItems=[put(f"seed-{n}", payload="x" * 2000) for n in range(100)])
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        for n in range(20):
            dynamodb.transact_write_items(TransactItems=[put(f"new-{n}"), add_to_counter("counter")])
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert after - before < 1_000_000  # 100 x 2 KB seed items would be copied 40 times over without the fix


def test_moto_is_itself_again_after_the_context() -> None:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        with faithful_transactions():
            pass
        request = {
            "TransactItems": [{"Put": {"TableName": "t", "Item": {"pk": {"S": "a"}}}}],
            "ClientRequestToken": "same",
        }
        client.transact_write_items(**request)
        client.delete_item(TableName="t", Key={"pk": {"S": "a"}})
        client.transact_write_items(**request)  # plain moto applies a repeated token again

        assert client.get_item(TableName="t", Key={"pk": {"S": "a"}}).get("Item") == {"pk": {"S": "a"}}


# ---------------------------------------------------------------- injected contention (Contention)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def cancellation(dynamodb: Any, actions: list[dict[str, Any]]) -> list[str]:
    with pytest.raises(ClientError) as cancelled:
        dynamodb.transact_write_items(TransactItems=actions)
    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    return [reason["Code"] for reason in cancelled.value.response["CancellationReasons"]]


def test_a_transaction_on_an_item_still_being_written_is_cancelled_with_transaction_conflict(dynamodb: Any) -> None:
    clock = Clock()
    with contention(Contention(hold_seconds=0.02, clock=clock)) as faults:
        dynamodb.transact_write_items(TransactItems=[add_to_counter("hot")])
        clock.now += 0.01

        reasons = cancellation(dynamodb, [add_to_counter("cold"), add_to_counter("hot")])
        dynamodb.transact_write_items(TransactItems=[add_to_counter("other")])  # other items are not held
        clock.now += 0.011
        dynamodb.transact_write_items(TransactItems=[add_to_counter("hot")])

    assert reasons == ["None", "TransactionConflict"]
    assert faults.cancelled == {"TransactionConflict": 1}
    item = dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "hot"}, "sk": {"S": "A"}})["Item"]
    assert item["n"]["N"] == "2"  # the cancelled transaction wrote nothing
    assert "Item" not in dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "cold"}, "sk": {"S": "A"}})


def test_an_item_written_beyond_its_rate_is_throttled(dynamodb: Any) -> None:
    clock = Clock()
    with contention(Contention(item_wcu_per_second=4, clock=clock)) as faults:  # 2 transactional writes a second
        for _ in range(2):
            dynamodb.transact_write_items(TransactItems=[add_to_counter("hot")])
        reasons = cancellation(dynamodb, [add_to_counter("hot")])
        clock.now += 0.5  # refilled by 2 WCU: one more write
        dynamodb.transact_write_items(TransactItems=[add_to_counter("hot")])

    assert reasons == ["ThrottlingError"]
    assert faults.cancelled == {"ThrottlingError": 1}
