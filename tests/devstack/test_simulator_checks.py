"""The simulator's own judgement: final-order checks, timelines, the order-view fallback, the CLI's choices."""

from typing import Any

import pytest
import requests

from devstack.settings import DEFAULT_SIGNING_SECRET
from devstack.simulator import cli
from devstack.simulator.bolt_side import compare, unheld_contradictions
from devstack.simulator.client import Answer, Target, Timeline
from devstack.simulator.report import summary_text, timeline_text
from devstack.simulator.scenarios import SCENARIOS
from devstack.simulator.shopper import Expected, order_problems

KEYS = frozenset({"pending#TA1", "auth#TA1", "capture#CA1"})


def view(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "order_id": "BO-ABCDEFGHIJ",
        "status": "captured",
        "totals": {"total": 3815},
        "amounts": {"authorized": 3815, "captured": 3815, "refunded": 0},
        "timeline": [
            {"key": "pending#TA1", "amount": 0, "applied": True},
            {"key": "auth#TA1", "amount": 3815, "applied": True},
            {"key": "capture#CA1", "amount": 3815, "applied": True},
        ],
        "bolt": {"captures": [{"id": "CA1", "amount": 3815}], "credits": []},
    }
    return base | changes


def test_a_matching_order_has_no_problems() -> None:
    assert order_problems(view(), Expected("captured", 3815, 3815, 0, KEYS), 3815) == []


def test_wrong_status_amounts_and_ledger_are_all_reported() -> None:
    wrong = view(
        status="authorized",
        amounts={"authorized": 3815, "captured": 0, "refunded": 0},
        timeline=[{"key": "pending#TA1", "amount": 0}, {"key": "pending#TA1", "amount": 0}],
    )

    problems = order_problems(wrong, Expected("captured", 3815, 3815, 0, KEYS), 3815)

    assert any(p.startswith("status 'authorized'") for p in problems)
    assert any(p.startswith("captured 0, expected 3815") for p in problems)
    assert any("repeated keys" in p for p in problems)
    assert any("missing ['auth#TA1', 'capture#CA1']" in p for p in problems)
    assert any("Bolt capture ids" in p for p in problems)


def test_refunds_beyond_captures_break_an_invariant() -> None:
    broken = view(amounts={"authorized": 3815, "captured": 1000, "refunded": 2000})

    problems = order_problems(broken, Expected("captured", 3815, 1000, 2000, KEYS), 3815)

    assert any(p.startswith("invariant: refunded 2000 <= captured 1000") for p in problems)


def test_timeline_prints_each_step_and_its_problems() -> None:
    timeline = Timeline("happy path")
    step = timeline.step("order.create", Answer(422, {}, 12.5))
    step.fact("order BO-1")
    step.check(False, "total 1, expected 2")
    timeline.finished = timeline.started + 0.5

    text = timeline_text(timeline)

    assert "order.create" in text
    assert " 422 " in text
    assert "!! total 1, expected 2" in text
    assert "FAIL (1 problems)" in text
    assert "FAIL" in summary_text([timeline], "http://x", 1)


class GatewaySession(requests.Session):
    """Answers like API Gateway for an AWS_IAM route called without a signature."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        self.calls += 1
        response = requests.Response()
        response.status_code = 403
        response._content = b'{"message": "Missing Authentication Token"}'
        return response


def test_an_iam_protected_order_view_is_skipped_once_refused() -> None:
    session = GatewaySession()
    target = Target("https://api.example", "s", session=session)

    assert target.read_order("BO-1") is None
    assert target.read_order("BO-2") is None
    assert session.calls == 1
    assert target.order_view_unavailable is not None
    assert "403" in target.order_view_unavailable


def test_cli_defaults_to_every_scenario_and_the_dev_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BOLT_SIGNING_SECRET", raising=False)
    args = cli.parse_args(["--base-url", "http://127.0.0.1:3000"])

    assert cli.resolve_secrets(args) == (DEFAULT_SIGNING_SECRET, None)
    assert args.scenario is None
    assert args.token is True
    assert set(SCENARIOS) == {
        "happy",
        "declined",
        "fraud-review",
        "refunds",
        "out-of-order",
        "dropped-order",
        "dashboard-capture",
        "contradictions",
        "busy-operator",
        "recovery",
        "reconciliation",
        "review",
    }


def test_cli_secret_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOLT_SIGNING_SECRET", "from-env")
    from_env = cli.parse_args(["--base-url", "u"])
    explicit = cli.parse_args(["--base-url", "u", "--secret", "given", "--pending-secret", "next", "--no-token"])

    assert cli.resolve_secrets(from_env) == ("from-env", None)
    assert cli.resolve_secrets(explicit) == ("given", "next")
    assert explicit.token is False


def test_cli_refuses_a_zero_concurrency() -> None:
    with pytest.raises(SystemExit) as exited:
        cli.parse_args(["--base-url", "u", "--checkouts", "5", "--concurrency", "0"])

    assert exited.value.code == 2


PAID_AT_BOLT = {"reference": "R-1", "status": "completed", "captures": {"CA1": 500}, "credits": {"TA2": 100}}


def _view(**changes: Any) -> dict[str, Any]:
    view: dict[str, Any] = {
        "payment_phase": "authorized",
        "holds": [],
        "amounts": {"authorized": 500, "captured": 500, "refunded": 100},
        "bolt": {"captures": [{"id": "CA1", "amount": 500}], "credits": [{"id": "TA2", "amount": 100}]},
    }
    return view | changes


def test_the_divergence_check_compares_bolts_ids_and_amounts_and_the_payments_state() -> None:
    assert compare(PAID_AT_BOLT, _view()) == []
    assert compare(PAID_AT_BOLT, _view(bolt={"captures": [{"id": "CA1", "amount": 499}], "credits": []})) == [
        "captures {'CA1': 499} at the merchant, {'CA1': 500} at Bolt",
        "credits {} at the merchant, {'TA2': 100} at Bolt",
    ]
    assert compare(PAID_AT_BOLT, _view(payment_phase="pending_payment")) == [
        "Bolt's payment is completed, the order's payment is pending_payment"
    ]
    assert compare({**PAID_AT_BOLT, "status": "cancelled", "captures": {}, "credits": {}}, None) == []
    assert compare(PAID_AT_BOLT, None) == ["no order for a payment where Bolt holds or took money"]


def test_money_that_contradicts_itself_must_be_held() -> None:
    refunded_too_much = {"authorized": 500, "captured": 500, "refunded": 900}

    assert unheld_contradictions(_view(amounts=refunded_too_much)) == ["refunded 900 above the captured 500, not held"]
    assert (
        unheld_contradictions(_view(amounts=refunded_too_much, holds=[{"reason": "refunded_exceeds_captured"}])) == []
    )
    assert unheld_contradictions(_view(payment_phase="cancelled")) == ["400 kept on a cancelled payment, not held"]
