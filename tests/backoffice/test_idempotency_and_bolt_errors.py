"""Operator idempotency (Idempotency-Key, or derived from the body) and how Bolt's failures reach the operator."""

import threading
import time
from collections.abc import Callable

import pytest
from bolt_merchant.core.errors import AdminCode

from tests.backoffice.conftest import BackOffice
from tests.support import OperatorAnswer, load_handler, refuse_next

pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])

CAPTURE = "/v1/merchant/transactions/capture"
CREDIT = "/v1/merchant/transactions/credit"


# ---------------------------------------------------------------- operator idempotency
def test_a_retried_refund_with_the_same_key_answers_the_first_answer_and_refunds_once(backoffice: BackOffice) -> None:
    order, _ = backoffice.authorized_order()
    backoffice.capture(order.order_id)

    first = backoffice.refund(order.order_id, {"amount": 1000}, key="refund-42")
    retry = backoffice.refund(order.order_id, {"amount": 1000}, key="refund-42")
    reformatted = backoffice.call("POST", order.order_id, "refund", raw=b'{ "amount" :1000 }', key="refund-42")

    assert first.status == retry.status == reformatted.status == 200
    assert "Idempotent-Replayed" not in first.headers
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.body == first.body == reformatted.body
    assert len(backoffice.bolt_calls("credit")) == 1
    assert backoffice.order(order.order_id).refunded == 1000


def test_the_header_name_is_case_insensitive(backoffice: BackOffice) -> None:
    order, _ = backoffice.authorized_order()

    first = backoffice.capture(order.order_id, {"amount": 100}, headers={"idempotency-key": "lower"})
    retry = backoffice.capture(order.order_id, {"amount": 100}, key="lower")

    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.body == first.body


def test_the_same_key_with_another_body_is_422_and_does_nothing(backoffice: BackOffice) -> None:
    order, _ = backoffice.authorized_order()
    backoffice.capture(order.order_id)
    backoffice.refund(order.order_id, {"amount": 1000}, key="refund-42")

    reused = backoffice.refund(order.order_id, {"amount": 2000}, key="refund-42")

    assert (reused.status, reused.error_code) == (422, AdminCode.IDEMPOTENCY_KEY_REUSED)
    assert len(backoffice.bolt_calls("credit")) == 1
    assert backoffice.order(order.order_id).refunded == 1000


def test_keys_are_scoped_to_the_order_and_the_operation(backoffice: BackOffice) -> None:
    order, _ = backoffice.authorized_order()
    other, _ = backoffice.authorized_order()

    captured = backoffice.capture(order.order_id, {"amount": 500}, key="k-1")
    refunded = backoffice.refund(order.order_id, {"amount": 500}, key="k-1")
    other_captured = backoffice.capture(other.order_id, {"amount": 500}, key="k-1")

    assert [a.status for a in (captured, refunded, other_captured)] == [200, 200, 200]
    assert not any("Idempotent-Replayed" in a.headers for a in (captured, refunded, other_captured))


def test_without_a_key_the_same_body_is_a_retry_and_distinct_keys_are_distinct_operations(
    backoffice: BackOffice,
) -> None:
    order, _ = backoffice.authorized_order()
    backoffice.capture(order.order_id)

    first = backoffice.refund(order.order_id, {"amount": 300})
    retry = backoffice.refund(order.order_id, {"amount": 300})
    on_purpose = backoffice.refund(order.order_id, {"amount": 300}, key="second-300")

    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.body["result"]["credit_id"] == first.body["result"]["credit_id"]
    assert on_purpose.body["result"]["credit_id"] != first.body["result"]["credit_id"]
    assert backoffice.order(order.order_id).refunded == 600


def test_errors_are_never_replayed(backoffice: BackOffice) -> None:
    order, _ = backoffice.authorized_order()

    too_early = backoffice.refund(order.order_id, {"amount": 500}, key="refund-1")
    backoffice.capture(order.order_id)
    later = backoffice.refund(order.order_id, {"amount": 500}, key="refund-1")

    assert too_early.status == 409
    assert later.status == 200
    assert "Idempotent-Replayed" not in later.headers


@pytest.mark.parametrize("key", ["has space", "x" * 256, "caf\u00e9"])
def test_unusable_idempotency_keys_are_422(backoffice: BackOffice, key: str) -> None:
    order, _ = backoffice.authorized_order()

    answer = backoffice.capture(order.order_id, {"amount": 100}, key=key)

    assert (answer.status, answer.error_code) == (422, AdminCode.INVALID_REQUEST)
    assert backoffice.bolt_calls("capture") == []


def test_a_retry_while_the_first_request_runs_is_409_and_bolt_is_called_once(backoffice: BackOffice) -> None:
    order, _ = backoffice.authorized_order()
    backoffice.fake.inject(None, path=CAPTURE, delay=1.0)  # Bolt takes a second to answer the first capture
    # Two containers of the function (one request at a time each, as in Lambda)
    second_container = load_handler("order_admin")
    answers: dict[str, OperatorAnswer] = {}

    def first() -> None:
        answers["first"] = backoffice.capture(order.order_id, {"amount": 1000}, key="slow")

    thread = threading.Thread(target=first)
    thread.start()
    _wait_until(lambda: len(backoffice.bolt_calls("capture")) > 0)  # the first is waiting for Bolt
    backoffice.admin, original = second_container, backoffice.admin
    try:
        answers["retry"] = backoffice.capture(order.order_id, {"amount": 1000}, key="slow")
    finally:
        backoffice.admin = original
    thread.join(timeout=10)

    assert answers["first"].status == 200
    assert (answers["retry"].status, answers["retry"].error_code) == (409, AdminCode.REQUEST_IN_PROGRESS)
    assert answers["retry"].headers["Retry-After"]
    assert len(backoffice.bolt_calls("capture")) == 1
    assert backoffice.order(order.order_id).captured == 1000
    # once the first is done, the retry gets its answer
    assert backoffice.capture(order.order_id, {"amount": 1000}, key="slow").headers["Idempotent-Replayed"] == "true"


def _wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


# ---------------------------------------------------------------- Bolt's failures
def test_bolt_422_for_an_invalid_amount_is_422_with_bolts_message(backoffice: BackOffice) -> None:
    order, reference = backoffice.authorized_order()
    # someone captured most of it in Bolt's dashboard, and the webhook has not reached us
    backoffice.fake.dashboard(reference, "capture", 6000)

    answer = backoffice.capture(order.order_id, {"amount": 2000}, key="cap-1")

    assert (answer.status, answer.error_code) == (422, AdminCode.BOLT_REJECTED)
    assert "higher than required" in answer.body["error"]["message"]
    assert backoffice.order(order.order_id).captured == 0
    # nothing was stored as done: once the operator captures what is left, it works under the same key
    assert backoffice.capture(order.order_id, {"amount": 999}, key="cap-1").status == 200


def test_bolt_409_for_a_concurrent_idempotent_request_is_409_retry_later(backoffice: BackOffice) -> None:
    order, _ = backoffice.authorized_order()
    backoffice.fake.inject(409, count=3, path=CAPTURE)

    busy = backoffice.capture(order.order_id, {"amount": 1500}, key="cap-409")
    done = backoffice.capture(order.order_id, {"amount": 1500}, key="cap-409")

    assert (busy.status, busy.error_code) == (409, AdminCode.REQUEST_IN_PROGRESS)
    assert busy.headers["Retry-After"]
    assert done.status == 200
    assert "Idempotent-Replayed" not in done.headers
    keys = {call["idempotency_key"] for call in backoffice.bolt_calls("capture")}
    assert len(keys) == 1  # every attempt, and the operator's retry, used one Bolt Idempotency-Key
    assert backoffice.order(order.order_id).captured == 1500


def test_a_short_bolt_409_is_waited_out(backoffice: BackOffice) -> None:
    order, _ = backoffice.authorized_order()
    backoffice.fake.inject(409, count=1, path=CAPTURE)

    answer = backoffice.capture(order.order_id, {"amount": 1500})

    assert answer.status == 200
    assert [c["status"] for c in backoffice.bolt_calls("capture")] == [409, 200]


def test_bolt_5xx_then_success_is_200_with_one_capture(backoffice: BackOffice) -> None:
    order, _ = backoffice.authorized_order()
    backoffice.fake.inject(503, count=2, path=CAPTURE)

    answer = backoffice.capture(order.order_id, {"amount": 2500})

    assert answer.status == 200
    calls = backoffice.bolt_calls("capture")
    assert [c["status"] for c in calls] == [503, 503, 200]
    assert len({c["idempotency_key"] for c in calls}) == 1
    assert len(backoffice.order(order.order_id).captures) == 1


def test_a_lost_answer_is_replayed_by_bolt_not_captured_twice(backoffice: BackOffice) -> None:
    order, reference = backoffice.authorized_order()
    backoffice.fake.inject(502, path=CAPTURE, after=True)  # Bolt captured, but its answer never reached us

    answer = backoffice.capture(order.order_id, {"amount": 2500})

    assert answer.status == 200
    assert [(c["status"], c["replayed"]) for c in backoffice.bolt_calls("capture")] == [(502, False), (200, True)]
    assert len(backoffice.fake.transaction(reference)["captures"]) == 1
    assert backoffice.order(order.order_id).captured == 2500


def test_bolt_unavailable_after_retries_is_503_and_the_retry_later_captures_once(backoffice: BackOffice) -> None:
    order, reference = backoffice.authorized_order()
    backoffice.fake.inject(503, count=3, path=CREDIT)
    backoffice.capture(order.order_id)

    down = backoffice.refund(order.order_id, {"amount": 800}, key="refund-503")
    back = backoffice.refund(order.order_id, {"amount": 800}, key="refund-503")

    assert (down.status, down.error_code) == (503, AdminCode.UNAVAILABLE)
    assert down.headers["Retry-After"]
    assert back.status == 200
    assert backoffice.fake.transaction(reference)["refunded_amount"]["amount"] == 800
    assert backoffice.order(order.order_id).refunded == 800


@pytest.mark.parametrize("status", [401, 403, 404])
def test_bolt_failures_the_operator_cannot_fix_are_502(backoffice: BackOffice, status: int) -> None:
    order, _ = backoffice.authorized_order()
    backoffice.fake.inject(status, path=CAPTURE)

    answer = backoffice.capture(order.order_id, {"amount": 100})

    assert (answer.status, answer.error_code) == (502, AdminCode.BOLT_FAILED)
    assert backoffice.order(order.order_id).captured == 0


def test_an_unreadable_bolt_answer_is_502_and_nothing_is_recorded(backoffice: BackOffice) -> None:
    order, _ = backoffice.authorized_order()
    backoffice.fake.inject(200, path=CAPTURE, body={"captures": "not a list"})

    answer = backoffice.capture(order.order_id, {"amount": 100})

    assert (answer.status, answer.error_code) == (502, AdminCode.BOLT_FAILED)
    assert backoffice.order(order.order_id).captured == 0


def test_the_api_key_and_a_fresh_nonce_go_with_every_attempt(backoffice: BackOffice) -> None:
    order, _ = backoffice.authorized_order()
    backoffice.fake.inject(503, count=2, path=CAPTURE)

    answer = backoffice.capture(order.order_id, {"amount": 100})

    assert answer.status == 200
    calls = backoffice.bolt_calls("capture")
    assert [c["status"] for c in calls] == [503, 503, 200]
    assert all(c["api_key_ok"] for c in calls)
    assert len({c["nonce"] for c in calls}) == 3


def test_a_write_dynamodb_refuses_is_a_final_422_and_records_nothing(backoffice: BackOffice) -> None:
    order, _ = backoffice.authorized_order()
    before = backoffice.order(order.order_id)
    refuse_next("TransactWriteItems")

    answer = backoffice.capture(order.order_id, {"amount": 2500})

    assert answer.status == 422
    assert "Retry-After" not in answer.headers
    assert answer.body["error"] == {"code": AdminCode.INVALID_REQUEST, "message": "The request could not be processed"}
    assert backoffice.order(order.order_id) == before
