"""The stage's Bolt secret (signing secret, pending secret, API key) from Secrets Manager through Powertools
Parameters, cached, with a rate-limited forced refresh so a rotated signing secret is picked up without a deploy."""

import time
from collections.abc import Callable
from typing import Annotated

import boto3
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bolt_merchant.core.errors import ConfigurationError, DependencyUnavailable
from bolt_merchant.core.settings import Settings, per_container, settings

_FORCED_REFRESH_INTERVAL_SECONDS = 60.0


class BoltSecrets(BaseModel):
    """The JSON document stored in the stage's secret."""

    model_config = ConfigDict(frozen=True, extra="ignore", hide_input_in_errors=True)

    signing_secret: Annotated[str, Field(min_length=1)]
    signing_secret_pending: str | None = None
    api_key: str | None = None
    publishable_key: str | None = None

    @property
    def signing_secrets(self) -> list[str]:
        return [s for s in (self.signing_secret, self.signing_secret_pending) if s]

    def __repr__(self) -> str:  # never let a secret reach a log line through repr()
        return "BoltSecrets(***)"

    __str__ = __repr__


class SecretsProvider:
    """Cached secrets with at most one forced refresh a minute, so a rotated secret is picked up without letting
    a flood of badly signed requests turn into Secrets Manager load."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        self._settings = settings
        self._clock = clock
        self._last_forced_refresh = float("-inf")

    def get(self, force_refresh: bool = False) -> BoltSecrets:
        settings = self._settings
        name = settings.require("bolt_secret_name")
        try:
            _share_default_session()
            document = parameters.get_secret(
                name, transform="json", max_age=settings.secrets_max_age_seconds, force_fetch=force_refresh
            )
            return BoltSecrets.model_validate(document)
        except (parameters.exceptions.GetParameterError, parameters.exceptions.TransformParameterError) as exc:
            raise DependencyUnavailable("Bolt secrets could not be read") from exc
        except ValidationError as exc:
            raise DependencyUnavailable("Bolt secret document is incomplete") from exc

    def refreshed(self) -> BoltSecrets | None:
        """Fresh secrets if a forced refresh is allowed now, else None."""
        now = self._clock()
        if now - self._last_forced_refresh < _FORCED_REFRESH_INTERVAL_SECONDS:
            return None
        self._last_forced_refresh = now
        return self.get(force_refresh=True)


def _share_default_session() -> None:
    """Powertools builds the Secrets Manager provider of get_secret on first use, on a boto3 Session of its own: a
    second botocore session, whose handlers, endpoint data and service list are loaded all over again (~45 ms of a
    container's first request, BENCHMARKS.md). Built here instead, its client shares boto3's default session with
    the DynamoDB client. A provider already in place (set by tests or the benchmark) is kept."""
    if "secrets" not in DEFAULT_PROVIDERS:
        DEFAULT_PROVIDERS["secrets"] = parameters.SecretsProvider(boto3_client=boto3.client("secretsmanager"))


@per_container
def secrets() -> SecretsProvider:
    return SecretsProvider(settings())


def api_key() -> str:
    key = secrets().get().api_key
    if not key:
        raise ConfigurationError("the Bolt secret has no api_key")
    return key
