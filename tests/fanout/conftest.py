"""The outbox fan-out under moto (the `fanout` fixture: template.yaml's tables and queues, each function's
environment) and, like every feature folder, no network: any socket is an error, unless a test opts in with
pytest-socket's `@pytest.mark.enable_socket` or `@pytest.mark.allow_hosts([...])` markers."""

import json
from collections.abc import Iterator

import boto3
import pytest
from bolt_merchant.core import settings as wiring
from moto import mock_aws

from devstack.resources import create_queues
from devstack.template import LocalResolver, create_tables, function_specs, load_template
from tests.fanout.support import FANOUT_ENV, OMS_SECRET, STACK, FanoutStack
from tests.support import no_network  # noqa: F401 - the autouse network guard, applied to this folder


@pytest.fixture(name="fanout")
def fanout_fixture(monkeypatch: pytest.MonkeyPatch) -> Iterator[FanoutStack]:
    for name in FANOUT_ENV:
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        template = load_template()
        resolver = LocalResolver(template, STACK)
        dynamodb = boto3.client("dynamodb")
        sqs = boto3.client("sqs")
        ses = boto3.client("ses")
        tables = create_tables(dynamodb, template, resolver)
        queues = create_queues(sqs, template, resolver)
        ses.verify_email_identity(EmailAddress=resolver.parameters["ConfirmationSender"])
        boto3.client("secretsmanager").create_secret(
            Name=resolver.parameters["OmsSigningSecretName"], SecretString=json.dumps({"signing_secret": OMS_SECRET})
        )
        # The template's !Ref of a FIFO queue resolves to a name without ".fifo": use the URLs really created.
        queue_env = {
            "CONFIRMATION_QUEUE_URL": queues["ConfirmationEmailQueue"],
            "FULFILMENT_QUEUE_URL": queues["FulfilmentQueue"],
        }
        environments = {
            spec.code_uri.name: {name: queue_env.get(name, value) for name, value in spec.environment.items()}
            for spec in function_specs(template, resolver)
        }
        yield FanoutStack(
            dynamodb=dynamodb,
            sqs=sqs,
            ses=ses,
            streams=boto3.client("dynamodbstreams"),
            tables=tables,
            queues=queues,
            resolver=resolver,
            environments=environments,
            set_env=monkeypatch.setenv,
        )
    wiring.reset()
