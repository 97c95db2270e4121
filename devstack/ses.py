"""SES in the embedded AWS: the confirmation sender verified at startup, and where the sent emails can be read.

moto keeps every email SendEmail accepted. Over HTTP (any process), moto's dashboard data lists them:

    GET <aws endpoint>/moto-api/data.json   ->  {"ses": {"Message": [{"id", "source", "destinations", "subject",
                                                  "body"}, ...], ...}, ...}

(data.json dumps every model moto tracks, so it grows with the stack's age; fine for a dev stack.)
`python -m devstack` prints the endpoint when it is ready.
"""

import json
import urllib.request
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_ses import SESClient

SENT_EMAILS_PATH = "/moto-api/data.json"


def verify_sender(client: "SESClient", address: str) -> None:
    """moto refuses SendEmail from an unverified source, as SES does outside its sandbox's verified identities."""
    client.verify_email_identity(EmailAddress=address)


def sent_emails(aws_endpoint: str, timeout: float = 10.0) -> list[dict[str, Any]]:
    """Emails moto's SES accepted so far, read over HTTP from the embedded AWS at `aws_endpoint`."""
    with urllib.request.urlopen(f"{aws_endpoint.rstrip('/')}{SENT_EMAILS_PATH}", timeout=timeout) as response:  # noqa: S310 - a local http URL
        document = json.loads(response.read())
    messages: list[dict[str, Any]] = document.get("ses", {}).get("Message", [])
    return messages
