"""Request rates per account and action group hold under bursts; the SDK's retryer recovers."""

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.retry import StandardRetryer

from tests.e2e.test_accounts_and_credentials import create_credential
from tests.sdk import call, code_of, outcome_of
from tests.serverproc import Server

RATE = 40


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[Server]:
    server = Server(
        tmp_path / "data", ("--rate-limit", f"symmetric={RATE}", "--rate-limit", "CreateKey=5"), rate_limits=True
    ).start()
    yield server
    server.stop()


def test_a_burst_from_several_threads_is_held_to_the_rate(limited: Server) -> None:
    key_id = call(limited.client(), "CreateKey", Alias="hot")["KeyId"]
    outcomes: list[str] = []
    lock = threading.Lock()
    duration = 4.0
    start = time.monotonic() + 0.5

    def hammer() -> None:
        client = limited.client()
        while time.monotonic() < start:
            time.sleep(0.001)
        while time.monotonic() < start + duration:
            try:
                call(client, "Encrypt", KeyId=key_id, Plaintext="aGk=")
                result = "ok"
            except TencentCloudSDKException as exc:
                result = exc.get_code()
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=hammer) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    allowed = outcomes.count("ok")
    refused = outcomes.count("RequestLimitExceeded")
    assert allowed + refused == len(outcomes)
    assert refused > allowed, "the burst really exceeded the limit"
    # A full bucket (one second's worth) plus the rate for the rest of the run, within 10%.
    expected = RATE * duration + RATE
    assert 0.9 * expected <= allowed <= 1.1 * expected, (allowed, expected)


def test_groups_and_accounts_have_their_own_budgets(limited: Server) -> None:
    client = limited.client()
    created = 0
    for i in range(40):  # a burst of 5 passes; past it, calls faster than 5/s are refused
        outcome = outcome_of(client, "CreateKey", Alias=f"budget-{i}")
        if outcome == "RequestLimitExceeded":
            break
        assert outcome == "Success", outcome
        created += 1
    else:
        raise AssertionError("CreateKey was never limited")
    assert created >= 5
    assert call(client, "ListKeys")["TotalCount"] == created, "the refused call changed nothing; other actions go on"


class ResettingRetryer(StandardRetryer):  # type: ignore[misc]
    """StandardRetryer as it is meant to work. The SDK's own (tencentcloud-sdk-python-common 3.1.195)
    never clears the error of a failed attempt, so after one RequestLimitExceeded it re-sends even
    successful requests and finally raises the old error: no server can make it recover."""

    def send_request(self, fn):  # type: ignore[no-untyped-def]
        for attempt in range(self._max_attempts):
            try:
                return fn()
            except TencentCloudSDKException as error:
                if not self.should_retry(None, error) or attempt == self._max_attempts - 1:
                    raise
                time.sleep(self._backoff_fn(attempt))
        raise AssertionError("unreachable")


def test_a_limited_request_succeeds_when_retried_after_backoff(limited: Server) -> None:
    client = limited.client()
    for i in range(5):
        call(client, "CreateKey", Alias=f"retry-{i}")
    assert code_of(client, "CreateKey", Alias="too-soon") == "RequestLimitExceeded"
    patient = limited.client()
    patient.profile.retryer = ResettingRetryer(max_attempts=4, backoff_fn=lambda attempt: 0.5)
    assert call(patient, "CreateKey", Alias="after-waiting")["KeyState"] == "Enabled"
    assert call(client, "ListKeyDetail", SearchKeyAlias="after-waiting")["TotalCount"] == 1
    assert call(client, "ListKeyDetail", SearchKeyAlias="too-soon")["TotalCount"] == 0


def test_rate_limits_can_be_turned_off(fresh_server: Server) -> None:
    client = fresh_server.client()
    for i in range(120):
        call(client, "CreateKey", Alias=f"unlimited-{i}")


def test_generating_rsa_keys_costs_an_account_its_whole_budget_not_other_accounts_theirs(tmp_path: Path) -> None:
    """An RSA key takes ~300 Encrypts' worth of CPU: it is weighed so, capped at one second's budget."""
    server = Server(tmp_path / "data", ("--rate-limit", "CreateKey=2"), rate_limits=True).start()
    try:
        heavy = server.client()
        other = server.client(create_credential(server, "100000000009"))
        usage = "ASYMMETRIC_SIGN_VERIFY_RSA_2048"
        call(heavy, "CreateKey", Alias="rsa-1", KeyUsage=usage)
        assert code_of(heavy, "CreateKey", Alias="rsa-2", KeyUsage=usage) == "RequestLimitExceeded"
        assert code_of(heavy, "CreateKey", Alias="plain") == "RequestLimitExceeded"
        call(other, "CreateKey", Alias="plain")
        call(other, "CreateKey", Alias="plain-2")
    finally:
        server.stop()
