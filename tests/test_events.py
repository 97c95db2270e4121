"""events/ is exactly what `python -m devstack.make_events` writes now, and its signatures say what their names say."""

import functools
import json
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from bolt_merchant.bolt.secrets import SecretsProvider
from bolt_merchant.bolt.signed import PENDING_SIGNATURE_HEADER, SIGNATURE_HEADER, is_signed_by
from bolt_merchant.core.api import raw_body
from bolt_merchant.core.settings import Settings

from devstack import make_events
from devstack.apigw import match_route
from devstack.template import FunctionSpec, LocalResolver, function_specs, load_template
from tests.support import (
    DEV_PENDING_SECRET,
    DEV_SECRET,
    EVENTS_DIR,
    AwsStack,
    no_network,  # noqa: F401 - the autouse network guard, applied to this module
)

REGENERATE = "events/ is stale: run `python -m devstack.make_events` (make events) and commit the result"
CASES = make_events.cases()
HOOK_EVENT_FILES = [case.path for case in CASES]


OWNED = {case.function_dir for case in CASES} | {make_events.ENV_FILE_NAME}  # other generators own other folders
GENERATED_FOLDERS = {
    "shipping",
    "tax",
    "shipping_and_tax",
    "discounts",
    "order_create",
    "cart_update",
    "universal",
    "storefront",
    "transaction_webhook",
    "credit_card_webhook",
}


def test_make_events_owns_every_hook_and_webhook_folder() -> None:
    # a folder dropped from make_events would silently leave stale files behind, unchecked
    assert {*GENERATED_FOLDERS, make_events.ENV_FILE_NAME} == OWNED


def _on_disk() -> dict[Path, str]:
    """The files under events/ that make_events owns: its functions' folders and the env file."""
    return {
        path.relative_to(EVENTS_DIR): path.read_text(encoding="utf-8")
        for path in EVENTS_DIR.rglob("*.json")
        if path.relative_to(EVENTS_DIR).parts[0] in OWNED
    }


@functools.cache
def _specs(stack_name: str = "local") -> dict[str, FunctionSpec]:
    template = load_template()
    return {spec.code_uri.name: spec for spec in function_specs(template, LocalResolver(template, stack_name))}


def _event(relative: Path) -> dict[str, Any]:
    return json.loads((EVENTS_DIR / relative).read_text(encoding="utf-8"))


def test_every_generated_file_is_on_disk_and_nothing_else() -> None:
    assert sorted(_on_disk()) == sorted(make_events.rendered_files()), REGENERATE


@pytest.mark.parametrize("relative", sorted(make_events.rendered_files()), ids=str)
def test_each_file_is_byte_for_byte_what_make_events_produces(relative: Path) -> None:
    path = EVENTS_DIR / relative
    assert path.exists(), REGENERATE
    assert path.read_text(encoding="utf-8") == make_events.rendered_files()[relative], REGENERATE


def test_writing_twice_gives_identical_files(tmp_path: Path) -> None:
    first = {p.relative_to(tmp_path): p.read_bytes() for p in make_events.write(tmp_path)}
    second = {p.relative_to(tmp_path): p.read_bytes() for p in make_events.write(tmp_path)}

    assert first == second
    assert {path: data.decode() for path, data in first.items()} == _on_disk()


@pytest.mark.parametrize("case", CASES, ids=lambda case: str(case.path))
def test_signatures_verify_unless_the_case_says_otherwise(case: make_events.EventCase) -> None:
    event = APIGatewayProxyEvent(_event(case.path))
    raw = raw_body(event)
    headers = [event.headers.get(SIGNATURE_HEADER), event.headers.get(PENDING_SIGNATURE_HEADER)]

    verified = is_signed_by(raw, headers, [DEV_SECRET, DEV_PENDING_SECRET])

    assert verified is case.signed_with_dev_secret
    assert verified is (case.from_bolt and case.name != "bad_signature")
    assert raw == (case.body or b"")


@pytest.mark.parametrize("case", [c for c in CASES if not c.from_bolt], ids=lambda case: str(case.path))
def test_storefront_events_carry_no_bolt_headers(case: make_events.EventCase) -> None:
    headers = _event(case.path)["headers"]

    assert SIGNATURE_HEADER not in headers
    assert "X-Bolt-Trace-Id" not in headers


@pytest.mark.parametrize("bad", [c for c in CASES if c.name == "bad_signature"], ids=lambda case: str(case.path))
def test_the_bad_signature_is_a_real_signature_made_with_another_secret(bad: make_events.EventCase) -> None:
    # so the case tests "wrong secret" (T03), not "malformed header"
    event = APIGatewayProxyEvent(_event(bad.path))

    assert is_signed_by(raw_body(event), [event.headers[SIGNATURE_HEADER]], [make_events.WRONG_SECRET])


def test_bodies_keep_bolt_style_escapes() -> None:
    # what makes re-serialising the body before verification fail (T08)
    body = _event(Path("shipping/universal_valid.json"))["body"]

    assert "\\u00e9" in body
    assert "\\/" in body
    assert json.dumps(json.loads(body)) != body


@pytest.mark.parametrize("case", CASES, ids=lambda case: str(case.path))
def test_events_target_the_route_template_yaml_declares(case: make_events.EventCase) -> None:
    routes = _specs()[case.function_dir].routes
    [route] = [r for r in routes if case.route_path in (None, r.path)][:1]
    event = _event(case.path)
    path = route.path
    for name, value in (case.path_parameters or {}).items():
        path = path.replace("{" + name + "}", value)

    assert (event["httpMethod"], event["resource"], event["path"]) == (route.method, route.path, path)
    assert match_route(route.path, path) == (case.path_parameters or {})
    assert event["pathParameters"] == case.path_parameters
    assert "{" not in path
    assert event["requestContext"]["stage"] == make_events.STAGE == "dev"
    assert event["requestContext"]["path"] == f"/dev{path}"
    assert event["isBase64Encoded"] is False


def test_request_ids_are_distinct() -> None:
    ids = [_event(path)["requestContext"]["requestId"] for path in HOOK_EVENT_FILES]

    assert len(set(ids)) == len(ids)


class TestEnvFile:
    """events/env.local.json for `sam local invoke --env-vars`. SAM reads {"Parameters": {...}} (every function) or
    {"<LogicalId>": {...}}, and only overrides variables the template declares for the function: any other name
    in the file is silently dropped (samcli/local/lambdafn/env_vars.py, EnvironmentVariables.resolve)."""

    @staticmethod
    def env_file() -> dict[str, dict[str, str]]:
        return json.loads((EVENTS_DIR / make_events.ENV_FILE_NAME).read_text(encoding="utf-8"))

    @staticmethod
    def hook_specs() -> list[FunctionSpec]:
        return [_specs()[function_dir] for function_dir in sorted({case.function_dir for case in CASES})]

    def test_shape_is_what_sam_reads(self) -> None:
        document = self.env_file()
        logical_ids = set(load_template()["Resources"])

        assert set(document) <= {"Parameters"} | logical_ids
        for variables in document.values():
            assert all(isinstance(name, str) and isinstance(value, str) for name, value in variables.items())

    def test_every_variable_is_declared_by_the_template_for_each_hook_function(self) -> None:
        document = self.env_file()
        overrides = document["Parameters"]

        undeclared = {
            spec.logical_id: sorted((set(overrides) | set(document.get(spec.logical_id, {}))) - set(spec.environment))
            for spec in self.hook_specs()
        }

        assert undeclared == {spec.logical_id: [] for spec in self.hook_specs()}, (
            "sam local invoke drops these: declare them (e.g. with an empty default) in template.yaml"
        )

    def test_functions_that_use_the_orders_table_get_its_placeholder(self) -> None:
        document = self.env_file()

        missing = [
            spec.logical_id
            for spec in self.hook_specs()
            if "ORDERS_TABLE_NAME" in spec.environment
            and document.get(spec.logical_id, {}).get("ORDERS_TABLE_NAME") != make_events.ORDERS_TABLE_PLACEHOLDER
        ]

        assert missing == []

    def test_with_the_file_applied_a_function_reads_the_dev_stage_s_secret(self, aws: AwsStack) -> None:
        """sam local runs against the deployed dev stage: its tables and its Bolt secret (in Secrets Manager)."""
        assert aws.secret_name == make_events.DEV_STAGE_SECRET  # the template's default, holding the dev secrets
        overrides = self.env_file()["Parameters"]
        for spec in self.hook_specs():
            # what SAM passes to the container: the template's variables, overridden by the file
            environ = {name: overrides.get(name, value) for name, value in spec.environment.items()}

            secrets = SecretsProvider(Settings.from_environ(environ)).get()

            assert secrets.signing_secrets == [DEV_SECRET, DEV_PENDING_SECRET], spec.logical_id
