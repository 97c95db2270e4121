"""Template invariants (reliability plan T50, §4 least privilege, §8 #12 and #14), on template.yaml and on what SAM
turns it into (samtranslator, offline: the same translation `sam validate` and `sam deploy` run).

- One IAM role per function: no function names a Role, and the translation gives each its own.
- No wildcard action or resource in our own inline policy statements. The wildcards that remain come from the managed
  policies SAM attaches (listed in WILDCARD_MANAGED_POLICIES and RELIABILITY.md, with why each is there).
- No SAM policy template that grants CRUD (or any template at all): every statement is explicit.
- What the functions actually call (every AWS call recorded while each runs its happy path, the recovery and release
  paths and the fan-out) is granted by that function's own statements, action by action and table by table.
- Every queue is a consumer queue with a dead-letter queue (maxReceiveCount >= 5, same type), a dead-letter queue, or
  a failure destination; each of the latter two has a depth alarm; visibility timeout >= 6 x the consumer's timeout.
- API throttling is set for every method; every alarm notifies the AlarmTopic SNS topic; every function logs to its
  own log group with a retention.
"""

import copy
import os
from typing import Any

import pytest

from devstack import bolt_payloads, make_events
from devstack.apigw import rest_proxy_event
from devstack.template import load_template, resources_of_type
from tests import seed
from tests.reliability.conftest import SIGNED, Functions, prepare_signed_state
from tests.reliability.harness import ORDERED_CART, AwsCalls, Call, area, base_payload
from tests.reliability.pipeline import build_pipeline
from tests.support import AwsStack, FakeLambdaContext, signed_event

TEMPLATE = area("template")
# Managed policies SAM attaches by itself; each has statements with Resource "*" (AWS-defined, not ours).
WILDCARD_MANAGED_POLICIES = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole": "logs:CreateLogGroup/Stream, PutLogEvents",
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess": "Tracing: Active (xray:PutTraceSegments ...)",
    "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole": "SQS event source: Receive/Delete",
    "arn:aws:iam::aws:policy/service-role/AWSLambdaDynamoDBExecutionRole": "stream event source: GetRecords ...",
    # Not a function's: API Gateway's account-wide logging role (ManageApiGatewayAccountLogRole), used by every API.
    "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs": "API Gateway access logs",
}
MIN_MAX_RECEIVE_COUNT = 5
VISIBILITY_FACTOR = 6


def template() -> dict[str, Any]:
    return load_template()


def functions_of(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return resources_of_type(document, "AWS::Serverless::Function")


def ref_name(value: Any) -> str | None:
    """The logical id a Ref / GetAtt points at."""
    if isinstance(value, dict):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            return str(value["Fn::GetAtt"][0])
    return None


def check(condition: bool) -> bool:
    TEMPLATE.case(None, rejected=not condition)
    if not condition:
        TEMPLATE.count(violations=1)
    return condition


@pytest.fixture(scope="module")
def translated() -> dict[str, Any]:
    """template.yaml as SAM translates it to CloudFormation (code locations replaced by placeholders)."""
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse

    from devstack.template import TEMPLATE_PATH

    document = yaml_parse(TEMPLATE_PATH.read_text(encoding="utf-8"))
    for resource in document["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://bucket/code.zip"
        if resource["Type"] == "AWS::Serverless::LayerVersion":
            resource["Properties"]["ContentUri"] = "s3://bucket/layer.zip"

    class NoManagedPolicyNames:
        def load(self) -> dict[str, str]:
            return {}

    previous = {name: os.environ.get(name) for name in ("AWS_DEFAULT_REGION", "AWS_REGION")}
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    try:
        result: dict[str, Any] = transform(document, {}, NoManagedPolicyNames())
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
    return result


# ---------------------------------------------------------------- IAM


def test_each_function_has_its_own_role(translated: dict[str, Any]) -> None:
    for logical_id, function in functions_of(template()).items():
        assert check("Role" not in function["Properties"]), f"{logical_id} names a Role"
    roles = [
        ref_name(resource["Properties"]["Role"])
        for resource in translated["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function"
    ]
    assert check(len(roles) == len(set(roles)) == len(functions_of(template()))), roles


def our_statements(function: dict[str, Any]) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = []
    for policy in function["Properties"].get("Policies", []):
        if isinstance(policy, dict) and "Statement" in policy:
            statements += policy["Statement"]
    return statements


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_our_statements_have_no_wildcard_action_or_resource() -> None:
    for logical_id, function in functions_of(template()).items():
        for statement in our_statements(function):
            for action in as_list(statement["Action"]):
                assert check("*" not in action), f"{logical_id} {statement.get('Sid')}: action {action}"
            for resource in as_list(statement["Resource"]):
                text = resource if isinstance(resource, str) else str(resource.get("Fn::Sub", ""))
                if isinstance(resource, dict) and "Fn::Sub" in resource and isinstance(resource["Fn::Sub"], list):
                    text = str(resource["Fn::Sub"][0])
                assert check("*" not in text), f"{logical_id} {statement.get('Sid')}: resource {resource}"


def test_no_policy_template_and_no_crud_grant() -> None:
    """Every policy is an explicit statement: no SAM policy template (DynamoDBCrudPolicy brings Scan, DeleteItem and
    BatchWriteItem, which bypasses conditions) and no managed policy named by us."""
    for logical_id, function in functions_of(template()).items():
        for policy in function["Properties"].get("Policies", []):
            explicit = isinstance(policy, dict) and set(policy) == {"Statement"}
            assert check(explicit), f"{logical_id}: {policy}"
        for statement in our_statements(function):
            actions = set(as_list(statement["Action"]))
            assert check(not actions & {"dynamodb:Scan", "dynamodb:BatchWriteItem", "dynamodb:PartiQLDelete"})
            if "dynamodb:DeleteItem" in actions:  # idempotency records, and the attention markers only
                assert check(deletes_only_records_or_markers(statement)), (logical_id, statement)


ATTENTION_MARKERS = {"WAITING#*", "PENDING#*"}


def deletes_only_records_or_markers(statement: dict[str, Any]) -> bool:
    """DeleteItem on Powertools' idempotency records, or on the orders table restricted by partition key to the
    attention markers (webhooks waiting for their order, back-office answers not applied yet): never an order."""
    table = ref_name(statement["Resource"])
    if table == "IdempotencyTable":
        return True
    leading = statement.get("Condition", {}).get("ForAllValues:StringLike", {}).get("dynamodb:LeadingKeys", [])
    only_deletes = as_list(statement["Action"]) == ["dynamodb:DeleteItem"]
    return table == "OrdersTable" and only_deletes and bool(leading) and set(leading) <= ATTENTION_MARKERS


def test_deleting_is_only_granted_on_idempotency_records_and_attention_markers() -> None:
    for logical_id, function in functions_of(template()).items():
        for statement in our_statements(function):
            if "dynamodb:DeleteItem" in as_list(statement["Action"]):
                assert check(deletes_only_records_or_markers(statement)), logical_id


def test_the_only_wildcards_are_the_managed_policies_sam_attaches(translated: dict[str, Any]) -> None:
    roles = resources_of_type(translated, "AWS::IAM::Role")
    for logical_id, role in roles.items():
        for managed in role["Properties"].get("ManagedPolicyArns", []):
            # ours are partition-aware: !Sub arn:${AWS::Partition}:...
            arn = managed if isinstance(managed, str) else str(managed["Fn::Sub"]).replace("${AWS::Partition}", "aws")
            assert check(arn in WILDCARD_MANAGED_POLICIES), f"{logical_id}: {arn}"
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                assert check("*" not in str(statement.get("Action"))), (logical_id, statement)
                assert check(statement.get("Resource") != "*"), (logical_id, statement)


def test_the_signing_secret_is_readable_by_name_only() -> None:
    """The Bolt secret by the hooks and webhooks, the OMS signing secret by fulfilment only."""
    for logical_id, function in functions_of(template()).items():
        for statement in our_statements(function):
            if "secretsmanager:GetSecretValue" in as_list(statement["Action"]):
                resource = statement["Resource"]
                name = "OmsSigningSecretName" if logical_id == "FulfilmentFunction" else "BoltSecretName"
                assert check(isinstance(resource, dict) and f"${{{name}}}-??????" in str(resource["Fn::Sub"]))


# ---------------------------------------------------------------- what the code calls is what the template grants


def iam_actions(call: Call) -> list[tuple[str, str | None]]:
    """(IAM action, table or queue name) pairs a call needs."""
    params = call.params
    if call.service == "dynamodb":
        if call.operation == "TransactWriteItems":
            kinds = {
                "Put": "PutItem",
                "Update": "UpdateItem",
                "Delete": "DeleteItem",
                "ConditionCheck": "ConditionCheckItem",
            }
            return [
                (f"dynamodb:{kinds[kind]}", body["TableName"])
                for action in params["TransactItems"]
                for kind, body in action.items()
            ]
        if call.operation == "BatchGetItem":
            return [("dynamodb:BatchGetItem", table) for table in params["RequestItems"]]
        return [(f"dynamodb:{call.operation}", params.get("TableName"))]
    if call.service == "sqs":
        action = "SendMessage" if call.operation.startswith("SendMessage") else call.operation
        return [(f"sqs:{action}", str(params.get("QueueUrl", "")).rsplit("/", 1)[-1])]
    if call.service == "secretsmanager":
        return [(f"secretsmanager:{call.operation}", None)]
    return [(f"{call.service}:{call.operation}", None)]


def test_every_call_the_functions_make_is_granted_to_them(
    functions: Functions,
    aws: AwsStack,
    aws_calls: AwsCalls,
    lambda_context: FakeLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    document = template()
    specs = functions_of(document)
    by_dir = {str(spec["Properties"]["CodeUri"]).strip("/").rsplit("/", 1)[-1]: lid for lid, spec in specs.items()}
    names = {aws.resolver.physical_name(lid): lid for lid in resources_of_type(document, "AWS::DynamoDB::Table")}
    names |= {aws.resolver.queue_name(lid): lid for lid in resources_of_type(document, "AWS::SQS::Queue")}
    pipeline = build_pipeline(aws, lambda_context, monkeypatch)
    prepare_signed_state(functions, aws)
    used: set[tuple[str, str, str | None]] = set()

    def run(function_dir: str, invoke: Any) -> None:
        from aws_lambda_powertools.utilities import parameters
        from bolt_merchant.core import settings as wiring

        wiring.reset()  # a cold container: secrets and catalog are read again, by this function
        parameters.clear_caches()
        with aws_calls.watch() as seen:
            invoke()
        for call in seen:
            for action, resource in iam_actions(call):
                used.add((by_dir[function_dir], action, names.get(resource or "", resource)))

    for function_dir in SIGNED:
        run(function_dir, lambda d=function_dir: functions.invoke(d, signed_event(d, base_payload(d))))
    # recovery of a dropped order (reserves stock), then its cancellation (releases stock and discount use)
    seed.seed_cart(aws, "c_grants0001")
    cart = seed.valid_order_cart("c_grants0001", seed.DEMO_ITEMS)
    for kind in ("pending", "void"):
        payload = bolt_payloads.transaction_webhook(kind, cart_id="c_grants0001", cart=cart, amount=seed.total_of(cart))
        run(
            "transaction_webhook",
            lambda p=payload: functions.invoke("transaction_webhook", signed_event("transaction_webhook", p)),
        )
    credit = bolt_payloads.transaction_webhook(
        "credit", cart_id=ORDERED_CART, cart=bolt_payloads.order_cart(ORDERED_CART)
    )
    run(
        "transaction_webhook",
        lambda: functions.invoke("transaction_webhook", signed_event("transaction_webhook", credit)),
    )
    storefront = make_events.hook_event(
        "storefront",
        b'{"currency":"USD","items":[{"sku":"MUG-12OZ","quantity":1}]}',
        headers={"Content-Type": "application/json"},
    )
    run("storefront", lambda: functions.invoke("storefront", storefront))
    catalog_answers: list[int] = []
    for method, resource, path, body in CATALOG_CHANGES:
        headers = {"Content-Type": "application/json", "Idempotency-Key": "grants"}
        event = rest_proxy_event(
            method, resource, path, body, headers=headers, path_parameters=_path_parameters(resource, path)
        )
        run("catalog_admin", lambda e=event: catalog_answers.append(functions.invoke("catalog_admin", e).status))
    run("outbox_publisher", pipeline.publish)
    for queue, function_dir in (("ConfirmationEmailQueue", "confirmation_email"), ("FulfilmentQueue", "fulfilment")):
        run(function_dir, lambda q=queue: _consume_one(pipeline, q))

    assert catalog_answers == [200] * len(CATALOG_CHANGES)
    missing = []
    for logical_id, action, resource in sorted(used, key=str):
        statements = our_statements(specs[logical_id])
        granted = any(
            action in as_list(statement["Action"])
            and (resource is None or resource in {ref_name(r) for r in as_list(statement["Resource"])})
            for statement in statements
        )
        if not check(granted):
            missing.append(f"{logical_id}: {action} on {resource}")
    assert missing == []
    assert {logical_id for logical_id, _, _ in used} >= {by_dir[d] for d in SIGNED}


# Every kind of catalog change: a definition that reshards the stock, a stock change (with its idempotency record),
# a discount that reshards its uses, and the settings.
_MUG = b'{"name":"Mug","unit_price":1600,"taxable":true,"type":"physical","stock_shards":4}'
CATALOG_CHANGES = (
    ("PUT", "/catalog/products/{sku}", "/catalog/products/MUG-12OZ", _MUG),
    ("POST", "/catalog/products/{sku}/stock", "/catalog/products/MUG-12OZ/stock", b'{"adjust":-3,"reason":"grants"}'),
    (
        "PUT",
        "/catalog/discounts/{code}",
        "/catalog/discounts/WELCOME10",
        b'{"type":"fixed_amount","amount":1000,"description":"x","max_uses":100,"usage_shards":4}',
    ),
    ("GET", "/catalog/settings", "/catalog/settings", None),
)


def _path_parameters(resource: str, path: str) -> dict[str, str]:
    names = [part.strip("{}") for part in resource.split("/") if part.startswith("{")]
    values = [value for part, value in zip(resource.split("/"), path.split("/"), strict=True) if part.startswith("{")]
    return dict(zip(names, values, strict=True))


def _consume_one(pipeline: Any, queue: str) -> None:
    """Only the consumer of `queue` (the pipeline's consume() would run both)."""
    from tests.reliability import pipeline as pipeline_module

    consumers = pipeline_module.CONSUMERS
    saved = dict(consumers)
    consumers.clear()
    consumers[queue] = saved[queue]
    try:
        pipeline.consume()
    finally:
        consumers.clear()
        consumers.update(saved)


# ---------------------------------------------------------------- queues, alarms, API, logs


def queue_roles(document: dict[str, Any]) -> tuple[dict[str, str], set[str], dict[str, str]]:
    """(consumer queue -> function, dead-letter queues, failure destination -> function)."""
    consumers: dict[str, str] = {}
    destinations: dict[str, str] = {}
    for logical_id, function in functions_of(document).items():
        for event in function["Properties"].get("Events", {}).values():
            if event["Type"] == "SQS":
                consumers[str(ref_name(event["Properties"]["Queue"]))] = logical_id
            failure = event.get("Properties", {}).get("DestinationConfig", {}).get("OnFailure", {})
            if failure.get("Type") == "SQS":
                destinations[str(ref_name(failure["Destination"]))] = logical_id
    dlqs = {
        str(ref_name(queue["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]))
        for queue in resources_of_type(document, "AWS::SQS::Queue").values()
        if "RedrivePolicy" in queue.get("Properties", {})
    }
    return consumers, dlqs, destinations


def depth_alarms(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Queue logical id -> its ApproximateNumberOfMessagesVisible alarm."""
    alarms = {}
    for alarm in resources_of_type(document, "AWS::CloudWatch::Alarm").values():
        properties = alarm["Properties"]
        if properties.get("MetricName") != "ApproximateNumberOfMessagesVisible":
            continue
        for dimension in properties.get("Dimensions", []):
            if dimension["Name"] == "QueueName":
                alarms[str(ref_name(dimension["Value"]))] = properties
    return alarms


def test_every_queue_has_a_dead_letter_queue_or_is_one_and_every_dead_letter_is_alarmed() -> None:
    document = template()
    queues = resources_of_type(document, "AWS::SQS::Queue")
    consumers, dlqs, destinations = queue_roles(document)
    alarms = depth_alarms(document)
    for logical_id, queue in queues.items():
        properties = queue.get("Properties", {})
        assert check(logical_id in consumers or logical_id in dlqs or logical_id in destinations), (
            f"orphan {logical_id}"
        )
        if logical_id in consumers:
            policy = properties.get("RedrivePolicy")
            assert check(policy is not None), f"{logical_id} has no dead-letter queue"
            assert check(int(policy["maxReceiveCount"]) >= MIN_MAX_RECEIVE_COUNT), logical_id
            target = queues[str(ref_name(policy["deadLetterTargetArn"]))]["Properties"]
            assert check(bool(target.get("FifoQueue")) == bool(properties.get("FifoQueue"))), logical_id
        if logical_id in dlqs or logical_id in destinations:
            alarm = alarms.get(logical_id)
            assert check(alarm is not None), f"{logical_id} has no depth alarm"
            assert check(float(alarm["Threshold"]) == 0 and alarm["ComparisonOperator"] == "GreaterThanThreshold")
            assert check(int(properties.get("MessageRetentionPeriod", 0)) == 1_209_600), f"{logical_id} keeps 14 days"


def test_visibility_timeout_is_at_least_six_times_the_consumers_timeout() -> None:
    document = template()
    default_timeout = int(document["Globals"]["Function"].get("Timeout", 3))
    queues = resources_of_type(document, "AWS::SQS::Queue")
    consumers, _, _ = queue_roles(document)
    assert consumers
    for queue, function in consumers.items():
        timeout = int(functions_of(document)[function]["Properties"].get("Timeout", default_timeout))
        visibility = int(queues[queue]["Properties"].get("VisibilityTimeout", 30))
        assert check(visibility >= VISIBILITY_FACTOR * timeout), f"{queue}: {visibility} < 6 x {timeout}"


def test_api_throttling_is_set_for_every_method() -> None:
    apis = resources_of_type(template(), "AWS::Serverless::Api")
    assert apis
    for logical_id, api in apis.items():
        settings = api["Properties"].get("MethodSettings", [])
        everything = [s for s in settings if s.get("ResourcePath") == "/*" and s.get("HttpMethod") == "*"]
        assert check(bool(everything)), f"{logical_id}: no MethodSettings for /* *"
        assert check(
            all(s.get("ThrottlingRateLimit", 0) > 0 and s.get("ThrottlingBurstLimit", 0) > 0 for s in everything)
        )


def test_every_alarm_notifies_the_alarm_topic() -> None:
    document = template()
    topics = resources_of_type(document, "AWS::SNS::Topic")
    assert check("AlarmTopic" in topics)
    alarms = resources_of_type(document, "AWS::CloudWatch::Alarm")
    assert alarms
    for logical_id, alarm in alarms.items():
        actions = [ref_name(action) for action in alarm["Properties"].get("AlarmActions", [])]
        assert check("AlarmTopic" in actions), f"{logical_id} notifies {actions}"


def test_every_function_logs_to_its_own_log_group_with_a_retention() -> None:
    document = template()
    groups = resources_of_type(document, "AWS::Logs::LogGroup")
    used = []
    for logical_id, function in functions_of(document).items():
        group = ref_name(function["Properties"].get("LoggingConfig", {}).get("LogGroup"))
        assert check(group in groups), f"{logical_id} has no explicit log group"
        assert check("RetentionInDays" in groups[str(group)]["Properties"]), group
        used.append(group)
    assert check(len(used) == len(set(used)))


def test_the_translation_keeps_our_statements(translated: dict[str, Any]) -> None:
    """What SAM deploys is what the tests above read: each role's first inline policy is the function's statements."""
    for logical_id, function in functions_of(template()).items():
        role = translated["Resources"][f"{logical_id}Role"]["Properties"]
        deployed = role["Policies"][0]["PolicyDocument"]["Statement"]
        assert check(copy.deepcopy(deployed) == our_statements(function)), logical_id
