"""The storefront API: JSON in, JSON out, errors as {"status": "failure", "error": {code, message}}."""

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from pydantic import ValidationError

from bolt_merchant import wiring
from bolt_merchant.adapters.bolt_api_errors import BoltApiError
from bolt_merchant.domain import storefront
from bolt_merchant.domain.errors import BoltCode, DependencyUnavailable, HookError, RequestRefused
from bolt_merchant.http.bolt_hooks import RawBodyError, failure, field_paths, raw_body, refused
from bolt_merchant.models.storefront import CreateCartRequest
from bolt_merchant.observability import logger
from bolt_merchant.strict_json import InvalidJson, loads_object
from bolt_merchant.wiring.bolt import bolt_api
from bolt_merchant.wiring.cart_store import cart_store
from bolt_merchant.wiring.catalog import catalog


def _json(status: int, body: dict[str, Any]) -> Response[Any]:
    return Response(status_code=status, content_type="application/json", body=body)


def storefront_app() -> APIGatewayRestResolver:
    """A fresh resolver per function instance: it keeps per-request state, so instances never share one."""
    app = APIGatewayRestResolver()

    @app.post("/storefront/carts")
    def create_cart() -> Response[Any]:
        raw = raw_body(app.current_event)
        if len(raw) > wiring.max_body_bytes():
            return failure(None, BoltCode.GENERAL_UNPROCESSABLE, "Request body too large", 413)
        request = CreateCartRequest.model_validate(loads_object(raw))
        created = storefront.create_cart(request, catalog(), cart_store(), wiring.now(), wiring.new_cart_id)
        return _json(HTTPStatus.CREATED, created.model_dump(mode="json"))

    @app.post("/storefront/carts/<cart_id>/bolt-order-token")
    def order_token(cart_id: str) -> Response[Any]:
        token = storefront.order_token(cart_id, catalog(), cart_store(), bolt_api(), wiring.now())
        return _json(HTTPStatus.OK, token.model_dump(mode="json"))

    @app.exception_handler(HookError)
    def _business_failure(exc: HookError) -> Response[Any]:
        return failure(None, exc.code, exc.message, exc.http_status)

    @app.exception_handler(ValidationError)
    def _invalid(exc: ValidationError) -> Response[Any]:
        return failure(None, BoltCode.GENERAL_UNPROCESSABLE, field_paths(exc), 422)

    @app.exception_handler([InvalidJson, RawBodyError])
    def _malformed(exc: Exception) -> Response[Any]:
        return failure(None, BoltCode.GENERAL_UNPROCESSABLE, f"Malformed request: {exc}", 400)

    @app.exception_handler(BoltApiError)
    def _bolt_refused(exc: BoltApiError) -> Response[Any]:
        logger.warning("Bolt refused the request", extra={"bolt_status": exc.status, "bolt_code": exc.code})
        return failure(None, BoltCode.SERVICE_ERROR, "Bolt could not create an order token for this cart", 502)

    @app.exception_handler(RequestRefused)
    def _refused(exc: RequestRefused) -> Response[Any]:
        return refused(exc, None, BoltCode.GENERAL_UNPROCESSABLE)

    @app.exception_handler(DependencyUnavailable)
    def _unavailable(exc: DependencyUnavailable) -> Response[Any]:
        logger.warning("dependency unavailable", extra={"reason": str(exc)})
        return failure(None, BoltCode.SERVICE_ERROR, "Temporarily unavailable, retry later", 503)

    return app
