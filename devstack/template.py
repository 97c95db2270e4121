"""Read template.yaml so the local stack and the tests create exactly the resources and routes it declares."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns !Ref, !GetAtt, !Sub ... into their long-form dicts."""


def _construct_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> Any:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        document: dict[str, Any] = yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    return document


@dataclass(frozen=True)
class ApiRoute:
    method: str
    path: str
    auth: str | None = None


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_uri: Path
    handler: str
    environment: dict[str, str]
    routes: list[ApiRoute] = field(default_factory=list)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def module(self) -> str:
        return self.handler.rsplit(".", 1)[0]

    @property
    def attribute(self) -> str:
        return self.handler.rsplit(".", 1)[1]


class LocalResolver:
    """Resolves intrinsic functions the way a local deployment of the stack would."""

    def __init__(self, template: Mapping[str, Any], stack_name: str, overrides: Mapping[str, str] | None = None):
        self.template = template
        self.stack_name = stack_name
        self.parameters = {
            name: str(spec.get("Default", "")) for name, spec in template.get("Parameters", {}).items()
        } | dict(overrides or {})
        self.region = "us-east-1"
        self.account = "123456789012"

    def physical_name(self, logical_id: str) -> str:
        return f"{self.stack_name}-{logical_id}"

    def queue_name(self, logical_id: str) -> str:
        """QueueName if declared, else the stack-derived name; FIFO queues end in .fifo, as CloudFormation does."""
        properties = self.template["Resources"][logical_id].get("Properties", {})
        if "QueueName" in properties:
            return str(self.resolve(properties["QueueName"]))
        name = self.physical_name(logical_id)
        return f"{name}.fifo" if properties.get("FifoQueue") else name

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self._ref(arg)
            if key == "Fn::GetAtt":
                return self._get_att(arg[0], arg[1])
            if key == "Fn::Sub":
                return self._sub(arg)
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value

    def _ref(self, name: str) -> str:
        pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::StackName": self.stack_name,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        resource_type = self.template["Resources"][name]["Type"]
        if resource_type == "AWS::SQS::Queue":
            return f"http://localhost/{self.account}/{self.queue_name(name)}"
        return self.physical_name(name)

    def _get_att(self, logical_id: str, attribute: str) -> str:
        resource_type = self.template["Resources"][logical_id]["Type"]
        name = self.physical_name(logical_id)
        if resource_type == "AWS::DynamoDB::Table" and attribute == "Arn":
            return f"arn:aws:dynamodb:{self.region}:{self.account}:table/{name}"
        if resource_type == "AWS::SQS::Queue":
            if attribute == "Arn":
                return f"arn:aws:sqs:{self.region}:{self.account}:{self.queue_name(logical_id)}"
            if attribute == "QueueName":
                return self.queue_name(logical_id)
        return f"{name}.{attribute}"

    def _sub(self, arg: Any) -> str:
        text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
        out = text
        for name, value in extra.items():
            out = out.replace("${" + name + "}", str(self.resolve(value)))
        while "${" in out:
            start = out.index("${")
            end = out.index("}", start)
            token = out[start + 2 : end]
            replacement = self._get_att(*token.split(".", 1)) if "." in token else self._ref(token)
            out = out[:start] + replacement + out[end + 1 :]
        return out


def resources_of_type(template: Mapping[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {lid: res for lid, res in template["Resources"].items() if res["Type"] == resource_type}


def _scheduled(event: dict[str, Any], resolver: LocalResolver) -> dict[str, Any]:
    """A schedule's expression resolved (it names a template parameter); other events keep their !GetAtt forms,
    which the pollers map to the local resources."""
    if event["Type"] != "ScheduleV2":
        return event
    properties = dict(event.get("Properties", {}))
    properties["ScheduleExpression"] = resolver.resolve(properties.get("ScheduleExpression"))
    return {**event, "Properties": properties}


def function_specs(template: Mapping[str, Any], resolver: LocalResolver) -> list[FunctionSpec]:
    globals_env = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    specs = []
    for logical_id, resource in resources_of_type(template, "AWS::Serverless::Function").items():
        props = resource["Properties"]
        env = {**globals_env, **props.get("Environment", {}).get("Variables", {})}
        events = props.get("Events", {})
        routes = [
            ApiRoute(
                method=event["Properties"]["Method"].upper(),
                path=event["Properties"]["Path"],
                auth=(event["Properties"].get("Auth") or {}).get("Authorizer"),
            )
            for event in events.values()
            if event["Type"] == "Api"
        ]
        specs.append(
            FunctionSpec(
                logical_id=logical_id,
                code_uri=ROOT / props["CodeUri"],
                handler=props["Handler"],
                environment={k: str(resolver.resolve(v)) for k, v in env.items()},
                routes=routes,
                events={name: _scheduled(event, resolver) for name, event in events.items() if event["Type"] != "Api"},
            )
        )
    return specs


def create_tables(client: Any, template: Mapping[str, Any], resolver: LocalResolver) -> dict[str, str]:
    """Create every DynamoDB table of the template (key schema, streams, TTL as declared). Returns logical->name."""
    created = {}
    for logical_id, resource in resources_of_type(template, "AWS::DynamoDB::Table").items():
        props = resource["Properties"]
        name = resolver.physical_name(logical_id)
        kwargs: dict[str, Any] = {
            "TableName": name,
            "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if "GlobalSecondaryIndexes" in props:
            kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        if "StreamSpecification" in props:
            kwargs["StreamSpecification"] = {
                "StreamEnabled": True,
                "StreamViewType": props["StreamSpecification"]["StreamViewType"],
            }
        client.create_table(**kwargs)
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            client.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True}
            )
        created[logical_id] = name
    return created
