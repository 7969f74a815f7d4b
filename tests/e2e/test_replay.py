"""A captured request cannot be sent again as something else: the SDKs leave X-TC-Action, X-TC-Region
and X-TC-Version out of the signature, so the server remembers what each signature was used for."""

import http.client
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from openkms.api.replay import REUSE_SECONDS
from tests import postgres
from tests.raw import sign_tc3
from tests.sdk import call
from tests.serverproc import Server

ATTACKER_ADDRESS = "127.0.0.2"


def captured(
    server: Server,
    action: str,
    params: dict[str, Any],
    region: str = "ap-guangzhou",
    payload_signed: bool = True,
) -> dict[str, Any]:
    """A request signed as the SDK signs it (content-type and host only), as an eavesdropper sees it;
    with payload_signed=False as the SDK's `unsigned_payload` option sends it: the body outside the signature."""
    body = json.dumps(params).encode()
    timestamp = int(time.time())
    headers = {
        "content-type": "application/json",
        "host": server.endpoint,
        "x-tc-action": action,
        "x-tc-version": "2019-01-18",
        "x-tc-timestamp": str(timestamp),
        "x-tc-region": region,
    }
    if not payload_signed:
        headers["x-tc-content-sha256"] = "UNSIGNED-PAYLOAD"
    signed_body = body if payload_signed else b"UNSIGNED-PAYLOAD"
    headers["authorization"] = sign_tc3(server.first_credential(), headers, signed_body, timestamp)
    return {"headers": headers, "body": body}


def send(server: Server, request: dict[str, Any], source: str = "127.0.0.1", **changed: str) -> dict[str, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30, source_address=(source, 0))
    try:
        connection.request("POST", "/", body=request["body"], headers={**request["headers"], **changed})
        response: dict[str, Any] = json.loads(connection.getresponse().read())["Response"]
        return response
    finally:
        connection.close()


def code(response: dict[str, Any]) -> str:
    return str(response.get("Error", {}).get("Code", "Success"))


@pytest.fixture
def key(server: Server) -> str:
    key_id: str = call(server.client(), "CreateKey", Alias=f"replayed-{uuid.uuid4().hex[:8]}")["KeyId"]
    return key_id


def test_a_captured_request_sent_again_as_another_action_or_region_is_refused(server: Server, key: str) -> None:
    original = captured(server, "DescribeKey", {"KeyId": key})
    assert code(send(server, original)) == "Success"
    as_disable = send(server, original, ATTACKER_ADDRESS, **{"x-tc-action": "DisableKey"})
    assert code(as_disable) == "AuthFailure.SignatureFailure" and "replay" in as_disable["Error"]["Message"]
    elsewhere = send(server, original, ATTACKER_ADDRESS, **{"x-tc-region": "ap-shanghai"})
    assert code(elsewhere) == "AuthFailure.SignatureFailure"
    assert call(server.client(), "DescribeKey", KeyId=key)["KeyMetadata"]["KeyState"] == "Enabled"


def test_one_client_may_send_two_actions_with_the_same_body_in_one_second(server: Server, key: str) -> None:
    """The SDK signs with a one-second timestamp: DescribeKey then DisableKey of one key in the same
    second carry the same signature, and are not a replay."""
    describe = captured(server, "DescribeKey", {"KeyId": key})
    assert code(send(server, describe)) == "Success"
    assert code(send(server, describe, **{"x-tc-action": "DisableKey"})) == "Success"
    assert call(server.client(), "DescribeKey", KeyId=key)["KeyMetadata"]["KeyState"] == "Disabled"


def test_the_same_client_reusing_a_signature_later_for_another_action_is_refused(server: Server, key: str) -> None:
    original = captured(server, "DescribeKey", {"KeyId": key})
    assert code(send(server, original)) == "Success"
    time.sleep(2.5)
    assert code(send(server, original, **{"x-tc-action": "DisableKey"})) == "AuthFailure.SignatureFailure"


def test_an_identical_replay_is_served_as_tencent_cloud_serves_it(server: Server, key: str) -> None:
    original = captured(server, "DescribeKey", {"KeyId": key})
    assert code(send(server, original)) == "Success"
    assert code(send(server, original, ATTACKER_ADDRESS)) == "Success"


def test_a_request_with_an_unsigned_body_cannot_be_replayed_with_another_body(server: Server, key: str) -> None:
    other_key = call(server.client(), "CreateKey", Alias=f"bystander-{uuid.uuid4().hex[:8]}")["KeyId"]
    original = captured(server, "DescribeKey", {"KeyId": key}, payload_signed=False)
    first = send(server, original)
    assert code(first) == "Success", first
    identical = send(server, original, ATTACKER_ADDRESS)
    assert code(identical) == "Success", identical  # identical: served, as above
    swapped = send(server, {**original, "body": json.dumps({"KeyId": other_key}).encode()}, ATTACKER_ADDRESS)
    assert code(swapped) == "AuthFailure.SignatureFailure" and "replay" in swapped["Error"]["Message"], swapped


def test_a_replayed_v1_request_is_refused(fresh_server: Server) -> None:
    """The v1 signature covers a Nonce; the same signed request again within the window is a replay."""
    captured: list[tuple[str, dict[str, str]]] = []
    client = fresh_server.client(sign_method="HmacSHA256")
    original_send = client.request.send_request

    def capture(request):  # type: ignore[no-untyped-def]
        captured.append((request.data, dict(request.header)))
        return original_send(request)

    client.request.send_request = capture
    call(client, "CreateKey", Alias=f"once-{uuid.uuid4().hex[:8]}")
    body, headers = captured[0]
    replay = send(fresh_server, {"body": body, "headers": headers}, ATTACKER_ADDRESS)
    assert replay["Error"]["Code"] == "AuthFailure.SignatureFailure" and "replay" in replay["Error"]["Message"]
    time.sleep(REUSE_SECONDS + 0.5)
    assert code(send(fresh_server, {"body": body, "headers": headers})) == "AuthFailure.SignatureFailure", (
        "nor from the client's own address, once the moment an SDK may sign twice alike has passed"
    )


@pytest.fixture
def two_servers(tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    with postgres.fresh_schema() as url:
        first = Server(tmp_path / "a", ("--store", url)).start()
        second = first.twin(tmp_path / "b", ("--store", url)).start()
        try:
            yield first, second
        finally:
            first.stop()
            second.stop()


def test_a_replay_is_refused_by_another_server_on_the_same_store(two_servers: tuple[Server, Server]) -> None:
    first, second = two_servers
    key_id = call(first.client(), "CreateKey", Alias="shared-replay")["KeyId"]
    original = captured(first, "DescribeKey", {"KeyId": key_id})
    assert code(send(first, original)) == "Success"
    # Behind a load balancer both servers answer one endpoint name: the same bytes reach the other.
    as_disable = send(second, original, ATTACKER_ADDRESS, **{"x-tc-action": "DisableKey"})
    assert code(as_disable) == "AuthFailure.SignatureFailure"
    assert call(first.client(), "DescribeKey", KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"


def test_the_workers_of_one_server_share_what_they_remember(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", ("--workers", "2")).start()
    try:
        time.sleep(1.0)  # both workers up
        key_id = call(server.client(), "CreateKey", Alias="workers-replay")["KeyId"]
        original = captured(server, "DescribeKey", {"KeyId": key_id})
        assert code(send(server, original)) == "Success"
        outcomes = {code(send(server, original, ATTACKER_ADDRESS, **{"x-tc-action": "DisableKey"})) for _ in range(10)}
        assert outcomes == {"AuthFailure.SignatureFailure"}
    finally:
        server.stop()
