"""Order confirmation emails through SES, from the stage's verified sender."""

from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from bolt_merchant.adapters.aws import error_code
from bolt_merchant.domain.errors import DependencyUnavailable
from bolt_merchant.domain.fanout import EmailMessage

if TYPE_CHECKING:
    from mypy_boto3_ses import SESClient

_CLIENT_CONFIG = Config(connect_timeout=3, read_timeout=10, retries={"mode": "standard", "max_attempts": 5})


def ses_client() -> "SESClient":
    return boto3.client("ses", config=_CLIENT_CONFIG)


class SesMailer:
    def __init__(self, client: "SESClient", sender: str) -> None:
        self._client = client
        self._sender = sender

    def send(self, to: str, message: EmailMessage) -> None:
        try:
            self._client.send_email(
                Source=self._sender,
                Destination={"ToAddresses": [to]},
                Message={
                    "Subject": {"Data": message.subject, "Charset": "UTF-8"},
                    "Body": {"Text": {"Data": message.text, "Charset": "UTF-8"}},
                },
            )
        # SES error messages quote the addresses involved: keep only the code, and no chained cause in tracebacks.
        except ClientError as exc:
            raise DependencyUnavailable(f"confirmation email failed: {error_code(exc)}") from None
        except BotoCoreError as exc:
            raise DependencyUnavailable(f"confirmation email unreachable: {type(exc).__name__}") from None
