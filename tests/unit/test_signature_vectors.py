"""The signature checks against real requests captured from the SDK and tccli (tests/vectors)."""

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest

from openkms.api.errors import ApiError
from openkms.api.signature import Principal, verify_tc3, verify_v1
from openkms.auth.credentials import CredentialAccess
from tests.credentials import unrestricted

VECTORS = [
    json.loads(line) for line in (Path(__file__).parent.parent / "vectors" / "sdk-captured-requests.jsonl").open()
]
SECRETS = {"AKIDTESTID": unrestricted("100000000001", b"TESTSECRETKEY")}


def parts(vector: dict[str, Any]) -> tuple[str, str, dict[str, str], bytes, int]:
    method, target, _ = vector["raw_request_line"].split(" ")
    query = target.partition("?")[2]
    headers = {name.lower(): value for name, value in vector["headers"]}
    body = vector["body"].encode()
    timestamp = int(headers.get("x-tc-timestamp") or dict(parse_qsl(query or body.decode()))["Timestamp"])
    return method, query, headers, body, timestamp


def verify(vector: dict[str, Any], secrets: dict[str, CredentialAccess] = SECRETS, skew: int = 0) -> Principal:
    method, query, headers, body, timestamp = parts(vector)
    now = timestamp + skew
    if "authorization" in headers:
        return verify_tc3(headers["authorization"], method, headers, query, body, secrets.get, now)
    params = dict(parse_qsl(query if method == "GET" else body.decode(), keep_blank_values=True))
    return verify_v1(method, headers["host"], params, secrets.get, now)


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: f"capture-{v['n']}")
def test_every_captured_request_verifies(vector: dict[str, Any]) -> None:
    assert verify(vector) == Principal("100000000001", "AKIDTESTID")


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: f"capture-{v['n']}")
def test_a_different_secret_key_fails(vector: dict[str, Any]) -> None:
    with pytest.raises(ApiError) as refused:
        verify(vector, {"AKIDTESTID": unrestricted("100000000001", b"TESTSECRETKEY2")})
    assert refused.value.code == "AuthFailure.SignatureFailure"


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: f"capture-{v['n']}")
def test_replay_after_five_minutes_is_refused(vector: dict[str, Any]) -> None:
    verify(vector, skew=300)
    with pytest.raises(ApiError) as refused:
        verify(vector, skew=301)
    assert refused.value.code == "AuthFailure.SignatureExpire"


def test_tccli_signs_the_host_header_with_its_scheme() -> None:
    tccli = [v for v in VECTORS if dict(v["headers"]).get("Host", "").startswith("http://")]
    assert tccli
    for vector in tccli:
        assert verify(vector).secret_id == "AKIDTESTID"


def test_an_altered_body_fails() -> None:
    vector = dict(VECTORS[0])
    vector["body"] = vector["body"].replace("aGVsbG8=", "aGVsbG9=")
    with pytest.raises(ApiError) as refused:
        verify(vector)
    assert refused.value.code == "AuthFailure.SignatureFailure"


def test_an_altered_v1_parameter_fails() -> None:
    vector = next(v for v in VECTORS if v["raw_request_line"].startswith("POST") and "Signature=" in v["body"])
    altered = dict(vector, body=vector["body"].replace("KeyId=k", "KeyId=j"))
    with pytest.raises(ApiError) as refused:
        verify(altered)
    assert refused.value.code == "AuthFailure.SignatureFailure"


def test_unknown_secret_id() -> None:
    with pytest.raises(ApiError) as refused:
        verify(VECTORS[0], {})
    assert refused.value.code == "AuthFailure.SecretIdNotFound"
