"""Each official SDK signs a little differently (docs/sdk-compatibility.md); the server accepts every
habit, and nothing weaker: the signature is still checked over exactly what the client signed."""

import base64
import hashlib
import hmac
import time

import pytest

from openkms.api.errors import ApiError
from openkms.api.signature import Principal, verify_tc3, verify_v1
from tests.credentials import unrestricted

SECRETS = {"AKIDTESTID": unrestricted("100000000001", b"TESTSECRETKEY")}
BODY = b'{"KeyId":"x"}'
NOW = 1_800_000_000


def tc3(service: str, signed_host: str, sent_host: str, content_type: str = "application/json") -> dict[str, str]:
    """Headers of a TC3 POST signed with `service` in its scope and `signed_host` as its host."""
    date = time.strftime("%Y-%m-%d", time.gmtime(NOW))
    canonical = (
        f"POST\n/\n\ncontent-type:{content_type}\nhost:{signed_host}\n\ncontent-type;host\n"
        f"{hashlib.sha256(BODY).hexdigest()}"
    )
    scope = f"{date}/{service}/tc3_request"
    to_sign = f"TC3-HMAC-SHA256\n{NOW}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    key = hmac.digest(b"TC3TESTSECRETKEY", date.encode(), "sha256")
    for part in (service, "tc3_request"):
        key = hmac.digest(key, part.encode(), "sha256")
    signature = hmac.new(key, to_sign.encode(), "sha256").hexdigest()
    return {
        "authorization": f"TC3-HMAC-SHA256 Credential=AKIDTESTID/{scope}, SignedHeaders=content-type;host, "
        f"Signature={signature}",
        "content-type": content_type,
        "host": sent_host,
        "x-tc-timestamp": str(NOW),
    }


def test_dotnets_two_spaces_after_the_algorithm_are_accepted() -> None:
    headers = tc3("127", "127.0.0.1:8300", "127.0.0.1:8300")
    headers["authorization"] = headers["authorization"].replace("TC3-HMAC-SHA256 ", "TC3-HMAC-SHA256  ")
    assert verify(headers).account == "100000000001"


def verify(headers: dict[str, str]) -> Principal:
    return verify_tc3(headers["authorization"], "POST", headers, "", BODY, SECRETS.get, NOW)


@pytest.mark.parametrize(
    ("sdk", "service", "signed_host", "sent_host", "content_type"),
    [
        ("Python, Go", "kms", "127.0.0.1:8300", "127.0.0.1:8300", "application/json"),
        ("tccli (plain HTTP)", "kms", "http://127.0.0.1:8300", "http://127.0.0.1:8300", "application/json"),
        ("PHP, .NET, C++", "127", "127.0.0.1:8300", "127.0.0.1:8300", "application/json"),
        ("C++", "kms", "kms.localhost:8300", "kms.localhost:8300", "application/json"),
        ("Node.js", "127", "127.0.0.1", "127.0.0.1:8300", "application/json"),
        ("Node.js", "localhost:8300", "localhost", "localhost:8300", "application/json"),
        ("Node.js, default port", "localhost:80", "localhost", "localhost", "application/json"),
        ("Java", "127", "127.0.0.1:8300", "127.0.0.1:8300", "application/json; charset=utf-8"),
        ("Java", "openkms", "openkms.example.com", "openkms.example.com", "application/json; charset=utf-8"),
    ],
)
def test_what_each_sdk_signs_is_accepted(
    sdk: str, service: str, signed_host: str, sent_host: str, content_type: str
) -> None:
    assert verify(tc3(service, signed_host, sent_host, content_type)) == Principal("100000000001", "AKIDTESTID")


@pytest.mark.parametrize(
    ("service", "sent_host"),
    [
        ("cvm", "cvm.tencentcloudapi.com"),  # a request signed for another Tencent Cloud service
        ("127", "kms.tencentcloudapi.com"),
        ("10", "127.0.0.1:8300"),  # not the host the request reached
        ("tc3_request", "127.0.0.1:8300"),
    ],
)
def test_a_scope_naming_another_service_is_refused(service: str, sent_host: str) -> None:
    with pytest.raises(ApiError) as refused:
        verify(tc3(service, sent_host, sent_host))
    assert refused.value.code == "AuthFailure.InvalidAuthorization"


def test_a_host_other_than_the_one_received_or_its_name_still_fails() -> None:
    with pytest.raises(ApiError) as refused:
        verify(tc3("kms", "127.0.0.2", "127.0.0.1:8300"))
    assert refused.value.code == "AuthFailure.SignatureFailure"


def v1(signed_host: str, nonce: str) -> dict[str, str]:
    params = {
        "Action": "GetRegions",
        "Nonce": nonce,
        "RequestClient": "SDK_NODEJS_4.1.313",
        "SecretId": "AKIDTESTID",
        "SignatureMethod": "HmacSHA256",
        "Timestamp": str(NOW),
        "Version": "2019-01-18",
    }
    text = f"POST{signed_host}/?" + "&".join(f"{k}={params[k]}" for k in sorted(params))
    params["Signature"] = base64.b64encode(hmac.digest(b"TESTSECRETKEY", text.encode(), "sha256")).decode()
    return params


@pytest.mark.parametrize(
    ("signed_host", "sent_host"),
    [("127.0.0.1:8300", "127.0.0.1:8300"), ("localhost:80", "localhost"), ("kms.example.com:443", "kms.example.com")],
)
def test_v1_signed_with_the_endpoint_as_written_is_accepted(signed_host: str, sent_host: str) -> None:
    """The SDKs sign their endpoint, port included, but leave a default port out of the Host header."""
    for nonce in ("0", "65535", "2147483647"):  # Node.js draws 0-65535, Java 0-2**31-1
        assert verify_v1("POST", sent_host, v1(signed_host, nonce), SECRETS.get, NOW).account == "100000000001"


def test_v1_signed_for_another_port_fails() -> None:
    with pytest.raises(ApiError) as refused:
        verify_v1("POST", "localhost:8300", v1("localhost:8301", "1"), SECRETS.get, NOW)
    assert refused.value.code == "AuthFailure.SignatureFailure"
