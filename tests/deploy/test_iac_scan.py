"""The IaC scan (`make scan`, checkov with .checkov.yaml) runs in `make test`, every check it skips says why, and
what the skipped checks would have looked at is asserted here instead, the way this stack does it."""

import re
from pathlib import Path
from typing import Any

import yaml

from devstack.template import ROOT, load_template, resources_of_type

CONFIG = ROOT / ".checkov.yaml"


def test_make_test_runs_the_scan_with_the_config() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    (test_target,) = re.findall(r"^test:([^#\n]*)", makefile, re.MULTILINE)
    assert "scan" in test_target.split()
    (recipe,) = re.findall(r"^scan:.*\n\t(.*)", makefile, re.MULTILINE)
    assert "checkov --config-file .checkov.yaml" in recipe
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    assert config["file"] == ["template.yaml"]
    assert config["skip-download"] is True  # no network: the scan runs offline


def test_every_skipped_check_has_its_reason() -> None:
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    skipped = config["skip-check"]
    lines = {
        match.group(1): match.group(2).strip()
        for match in re.finditer(r"^\s+- (CKV\w+)\s*(?:#(.*))?$", Path(CONFIG).read_text(encoding="utf-8"), re.M)
    }
    assert set(lines) == set(skipped)
    for check_id, reason in lines.items():
        assert len(reason or "") > 40, f"{check_id} is skipped without a reason"


def test_every_queue_and_table_is_encrypted_at_rest() -> None:
    """Instead of CKV_AWS_27 (which only knows KmsMasterKeyId) and CKV_AWS_119 (customer managed keys)."""
    document = load_template()
    for logical_id, queue in resources_of_type(document, "AWS::SQS::Queue").items():
        properties: dict[str, Any] = queue["Properties"]
        assert properties.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in properties, logical_id
    for logical_id, table in resources_of_type(document, "AWS::DynamoDB::Table").items():
        assert table["Properties"]["SSESpecification"]["SSEEnabled"] is True, logical_id


def test_every_function_has_a_concurrency_cap() -> None:
    """Instead of CKV_AWS_115: API functions are capped by the stage's throttles, queue consumers by their event
    source's MaximumConcurrency, the stream publisher by its shards, the scheduled reconciler by its reservation of
    one (runs never overlap); the transaction webhook reserves its own."""
    document = load_template()
    settings = document["Resources"]["BoltApi"]["Properties"]["MethodSettings"]
    assert any(s["ResourcePath"] == "/*" and s["HttpMethod"] == "*" and s["ThrottlingRateLimit"] for s in settings)
    for logical_id, function in resources_of_type(document, "AWS::Serverless::Function").items():
        events = function["Properties"]["Events"].values()
        kinds = {event["Type"] for event in events}
        assert len(kinds) == 1, logical_id
        if kinds == {"SQS"}:
            for event in events:
                assert event["Properties"]["ScalingConfig"]["MaximumConcurrency"] >= 2, logical_id
        elif kinds == {"ScheduleV2"}:
            assert function["Properties"]["ReservedConcurrentExecutions"] == 1, logical_id
        else:
            assert kinds <= {"Api", "DynamoDB"}, logical_id
    reserved = document["Resources"]["TransactionWebhookFunction"]["Properties"]["ReservedConcurrentExecutions"]
    assert reserved == {"Ref": "TransactionWebhookReservedConcurrency"}
