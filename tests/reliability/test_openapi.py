"""openapi.yaml is the contract of template.yaml's API: the same paths and methods, each route's authentication
documented the way the template sets it up, and Bolt's answers (success and failure shapes, 400/401/413/422/503)
on every Bolt-signed route."""

from typing import Any

import yaml
from openapi_spec_validator import validate

from devstack.template import ROOT, LocalResolver, function_specs, load_template
from tests.reliability.harness import area

SPEC_PATH = ROOT / "openapi.yaml"
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
SIGNED_ANSWERS = {"200", "400", "401", "413", "422", "503"}
CONTRACT = area("contract")


def spec() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    return document


def template_routes() -> dict[tuple[str, str], str | None]:
    """(METHOD, path) -> authorizer, for every Api event in template.yaml."""
    template = load_template()
    return {
        (route.method, route.path): route.auth
        for spec_ in function_specs(template, LocalResolver(template, "test"))
        for route in spec_.routes
    }


def spec_operations() -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): operation
        for path, item in spec()["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def test_the_document_is_valid_openapi_3() -> None:
    validate(spec())
    CONTRACT.case(None)


def test_paths_and_methods_are_exactly_the_templates_api_events() -> None:
    documented = set(spec_operations())
    declared = set(template_routes())
    CONTRACT.case(None, rejected=documented != declared)
    assert documented - declared == set(), "documented but not in template.yaml"
    assert declared - documented == set(), "in template.yaml but not documented"


def test_each_routes_authentication_is_documented_as_the_template_sets_it_up() -> None:
    """AWS_IAM routes: tag back-office and SigV4. /bolt/ routes: Bolt's signature (either header). Others: none."""
    routes = template_routes()
    for key, operation in spec_operations().items():
        _, path = key
        security = [name for requirement in operation.get("security", []) for name in requirement]
        tags = operation.get("tags", [])
        CONTRACT.case(None)
        if routes[key] == "AWS_IAM":
            assert (tags, security) == (["back-office"], ["sigv4"]), key
        elif path.startswith("/bolt/"):
            assert tags in (["bolt-hooks"], ["bolt-webhooks"]), key
            assert security == ["boltSignature", "boltPendingSignature"], key
        else:
            assert (tags, security) == (["storefront"], []), key


def test_every_signed_route_documents_bolts_answers() -> None:
    document = spec()
    for (_, path), operation in spec_operations().items():
        if not path.startswith("/bolt/"):
            continue
        responses = operation["responses"]
        CONTRACT.case(None)
        assert set(responses) >= SIGNED_ANSWERS, (path, sorted(responses))
        assert responses["401"] == {"$ref": "#/components/responses/Unauthorized"}, path
        assert responses["503"] == {"$ref": "#/components/responses/ServiceUnavailable"}, path
        assert "requestBody" in operation, path
    unavailable = document["components"]["responses"]["ServiceUnavailable"]
    assert "Retry-After" in unavailable["headers"]


def test_the_signature_header_names_are_the_layers() -> None:
    from bolt_merchant.bolt.signed import PENDING_SIGNATURE_HEADER, SIGNATURE_HEADER

    schemes = spec()["components"]["securitySchemes"]
    CONTRACT.case(None)
    assert schemes["boltSignature"]["name"] == SIGNATURE_HEADER
    assert schemes["boltPendingSignature"]["name"] == PENDING_SIGNATURE_HEADER
