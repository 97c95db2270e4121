"""What every Bolt-facing function shares: the stage's Bolt secret, the signed-request reader, the Bolt API clients."""

from typing import TYPE_CHECKING

from bolt_merchant.adapters.secrets import SecretsProvider
from bolt_merchant.adapters.settings import settings
from bolt_merchant.domain.errors import ConfigurationError
from bolt_merchant.http.bolt_hooks import SignedRequestReader
from bolt_merchant.wiring import max_body_bytes, per_container

if TYPE_CHECKING:
    from bolt_merchant.adapters.bolt_api import BoltApiClient

# Bolt calls made while an operator waits behind API Gateway's 29 s limit: 3 attempts of at most ~8 s each.
BACKOFFICE_BOLT_TIMEOUT = (3.05, 5.0)
BACKOFFICE_BOLT_ATTEMPTS = 3


@per_container
def secrets() -> SecretsProvider:
    return SecretsProvider(settings())


def signed_reader() -> SignedRequestReader:
    return SignedRequestReader(secrets=secrets, max_body_bytes=max_body_bytes)


def api_key() -> str:
    key = secrets().get().api_key
    if not key:
        raise ConfigurationError("the Bolt secret has no api_key")
    return key


# The client is imported on first use: requests is only loaded where Bolt is called (the storefront's order-token
# route, the back office's operations), not for the hooks, the webhooks, a new cart or an order view.
@per_container
def bolt_api() -> "BoltApiClient":
    from bolt_merchant.adapters.bolt_api import BoltApiClient

    return BoltApiClient(settings().bolt_api_base_url, api_key=api_key)


@per_container
def backoffice_bolt_api() -> "BoltApiClient":
    from bolt_merchant.adapters.bolt_api import BoltApiClient

    return BoltApiClient(
        settings().bolt_api_base_url,
        api_key=api_key,
        timeout=BACKOFFICE_BOLT_TIMEOUT,
        max_attempts=BACKOFFICE_BOLT_ATTEMPTS,
    )
