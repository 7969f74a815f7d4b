"""The wire protocol as the SDKs speak it: signatures, envelopes, regions, and hostile input."""

import json
import re
import socket
import time
import uuid

import pytest
import requests
from tencentcloud.common import credential
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

from tests.raw import raw_post, response_of, sign_tc3
from tests.sdk import call, code_of
from tests.serverproc import Server

SIGNATURES = [
    ("TC3-HMAC-SHA256", "POST"),
    ("TC3-HMAC-SHA256", "GET"),
    ("HmacSHA1", "GET"),
    ("HmacSHA1", "POST"),
    ("HmacSHA256", "GET"),
    ("HmacSHA256", "POST"),
]


@pytest.mark.parametrize(("sign_method", "method"), SIGNATURES)
def test_every_signature_style_the_sdk_offers(server: Server, sign_method: str, method: str) -> None:
    client = server.client(sign_method=sign_method, method=method)
    created = call(
        client,
        "CreateKey",
        Alias=f"sig-{uuid.uuid4().hex[:12]}",
        Tags=[{"TagKey": "env", "TagValue": "dev"}, {"TagKey": "team", "TagValue": "a b&c=d"}],
    )
    blob = call(client, "Encrypt", KeyId=created["KeyId"], Plaintext="aGVsbG8=", EncryptionContext='{"k":"v w+x"}')[
        "CiphertextBlob"
    ]
    assert call(client, "Decrypt", CiphertextBlob=blob, EncryptionContext='{"k":"v w+x"}')["Plaintext"] == "aGVsbG8="
    described = call(client, "DescribeKeys", KeyIds=[created["KeyId"]])["KeyMetadatas"]
    assert described[0]["KeyId"] == created["KeyId"]
    tagged = call(client, "ListKeyDetail", TagFilters=[{"TagKey": "team", "TagValue": ["a b&c=d"]}])
    assert created["KeyId"] in [m["KeyId"] for m in tagged["KeyMetadatas"]]


def test_wrong_secret_key_is_a_signature_failure(server: Server) -> None:
    secret = server.first_credential() | {"SecretKey": "wrong" * 6}
    for sign_method, method in SIGNATURES:
        assert code_of(server.client(secret, sign_method=sign_method, method=method), "GetRegions") == (
            "AuthFailure.SignatureFailure"
        )


def test_unknown_secret_id(server: Server) -> None:
    secret = {"SecretId": "AKIDunknown", "SecretKey": "whatever"}
    assert code_of(server.client(secret), "GetRegions") == "AuthFailure.SecretIdNotFound"
    assert code_of(server.client(secret, sign_method="HmacSHA256"), "GetRegions") == "AuthFailure.SecretIdNotFound"


@pytest.mark.parametrize(("sign_method", "method"), SIGNATURES)
def test_temporary_credentials_are_refused_plainly(server: Server, sign_method: str, method: str) -> None:
    """OpenKMS issues no STS tokens, so it cannot check one: never served as if it had."""
    secret = server.first_credential()
    client = server.client(secret, sign_method=sign_method, method=method)
    client.credential = credential.Credential(secret["SecretId"], secret["SecretKey"], "a-session-token")
    assert code_of(client, "GetRegions") == "AuthFailure.TokenFailure"


def test_unsigned_payload_option(server: Server) -> None:
    client = server.client()
    client.profile.unsignedPayload = True
    assert call(client, "GenerateRandom", NumberOfBytes=4)["Plaintext"]


def test_common_client_and_raw_dicts(server: Server) -> None:
    secret = server.first_credential()
    cred = credential.Credential(secret["SecretId"], secret["SecretKey"])
    profile = ClientProfile(httpProfile=HttpProfile(endpoint=server.endpoint, protocol="http"))
    common = CommonClient("kms", "2019-01-18", cred, "ap-guangzhou", profile=profile)
    assert common.call_json("GenerateRandom", {"NumberOfBytes": 8})["Response"]["Plaintext"]


def test_documentation_style_signature_with_more_signed_headers(server: Server) -> None:
    reply = raw_post(server, "GenerateRandom", b'{"NumberOfBytes": 4}', signed=("content-type", "host", "x-tc-action"))
    assert "Plaintext" in response_of(reply)


def test_signed_action_header_cannot_be_swapped(server: Server) -> None:
    body = b'{"NumberOfBytes": 4}'
    timestamp = int(time.time())
    headers = {"content-type": "application/json", "host": server.endpoint, "x-tc-action": "generaterandom"}
    authorization = sign_tc3(
        server.first_credential(), headers, body, timestamp, ("content-type", "host", "x-tc-action")
    )
    reply = requests.post(
        f"http://{server.endpoint}/",
        data=body,
        timeout=30,
        headers={
            "content-type": "application/json",
            "x-tc-action": "GetRegions",
            "x-tc-version": "2019-01-18",
            "x-tc-timestamp": str(timestamp),
            "authorization": authorization,
        },
    )
    assert response_of(reply)["Error"]["Code"] == "AuthFailure.SignatureFailure"


def test_expired_and_future_timestamps(server: Server) -> None:
    body = b"{}"
    for skew in (-301, 301, -3600):
        reply = raw_post(server, "GetRegions", body, timestamp=int(time.time()) + skew)
        assert response_of(reply)["Error"]["Code"] == "AuthFailure.SignatureExpire", skew
    assert "Regions" in response_of(raw_post(server, "GetRegions", body, timestamp=int(time.time()) - 200))


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        ("", "AuthFailure.InvalidAuthorization"),
        ("Bearer abc", "AuthFailure.InvalidAuthorization"),
        (
            "TC3-HMAC-SHA256 Credential=AKID/2026-01-01/cvm/tc3_request, SignedHeaders=content-type;host, Signature="
            + "0" * 64,
            "AuthFailure.InvalidAuthorization",
        ),
        (
            "TC3-HMAC-SHA256 Credential=AKID/2026-01-01/kms/tc3_request, SignedHeaders=host, Signature=" + "0" * 64,
            "AuthFailure.InvalidAuthorization",
        ),
    ],
)
def test_malformed_authorization(server: Server, authorization: str, code: str) -> None:
    reply = requests.post(
        f"http://{server.endpoint}/",
        data=b"{}",
        timeout=30,
        headers={
            "content-type": "application/json",
            "x-tc-action": "GetRegions",
            "x-tc-version": "2019-01-18",
            "x-tc-timestamp": str(int(time.time())),
            "authorization": authorization,
        },
    )
    assert response_of(reply)["Error"]["Code"] == code


def test_unknown_action_and_wrong_version(server: Server) -> None:
    assert response_of(raw_post(server, "StealKeys", b"{}"))["Error"]["Code"] == "InvalidAction"
    reply = raw_post(server, "GetRegions", b"{}", **{"x-tc-version": "2017-03-12"})
    assert response_of(reply)["Error"]["Code"] == "NoSuchVersion"


def test_parameter_types_and_names(server: Server) -> None:
    cases = {
        b'{"NumberOfBytes": "8"}': "InvalidParameter",
        b'{"NumberOfBytes": true}': "InvalidParameter",
        b'{"NumberOfBytes": -1}': "InvalidParameter",
        b'{"NumberOfBytes": 1.5}': "InvalidParameter",
        b"{}": "MissingParameter",
        b'{"NumberOfBytes": 8, "Extra": 1}': "UnknownParameter",
        b"[1, 2]": "InvalidParameter",
        b'{"NumberOfBytes": 8': "InvalidParameter",
        b"\xff\xfe garbage": "InvalidParameter",
        b'{"a": ' * 2000: "InvalidParameter",
    }
    for body, code in cases.items():
        assert response_of(raw_post(server, "GenerateRandom", body))["Error"]["Code"] == code, body[:30]
    created = response_of(raw_post(server, "CreateKey", b'{"Alias": "x", "Tags": [{"TagKey": 1}]}'))
    assert created["Error"]["Code"] == "InvalidParameter"


def test_regions(server: Server) -> None:
    guangzhou = server.client(region="ap-guangzhou")
    shanghai = server.client(region="ap-shanghai")
    key_id = call(shanghai, "CreateKey", Alias=f"sh-{uuid.uuid4().hex[:12]}")["KeyId"]
    blob = call(shanghai, "Encrypt", KeyId=key_id, Plaintext="aGk=")["CiphertextBlob"]
    assert code_of(guangzhou, "DescribeKey", KeyId=key_id) == "ResourceUnavailable.CmkNotFound"
    assert code_of(guangzhou, "Decrypt", CiphertextBlob=blob) == "ResourceUnavailable.CmkNotFound"
    assert call(shanghai, "Decrypt", CiphertextBlob=blob)["Plaintext"] == "aGk="
    assert code_of(server.client(region="eu-frankfurt"), "GetRegions") == "UnsupportedRegion"
    no_region = server.client(region=None)
    default_key = call(no_region, "CreateKey", Alias=f"gz-{uuid.uuid4().hex[:12]}")["KeyId"]
    assert call(guangzhou, "DescribeKey", KeyId=default_key)["KeyMetadata"]["KeyId"] == default_key


def test_huge_body_is_refused_without_being_read(server: Server) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 50000000\r\n\r\n" + b"{" * 1000
        )
        received = b""
        while chunk := sock.recv(65536):  # the server answers at once and closes the connection
            received += chunk
        reply = received.decode()
    assert reply.startswith("HTTP/1.1 200")
    assert "RequestSizeLimitExceeded" in reply
    assert "content-type: application/json\r\n" in reply.lower()

    chunked = b"{" * (1024 * 1024 + 10)
    reply2 = requests.post(
        f"http://{server.endpoint}/", data=iter([chunked]), timeout=30, headers={"content-type": "application/json"}
    )
    assert response_of(reply2)["Error"]["Code"] == "RequestSizeLimitExceeded"


def test_other_methods_and_unsigned_requests(server: Server) -> None:
    reply = requests.put(f"http://{server.endpoint}/", data=b"{}", timeout=30)
    assert response_of(reply)["Error"]["Code"] == "UnsupportedProtocol"
    reply = requests.post(
        f"http://{server.endpoint}/",
        data=b"{}",
        timeout=30,
        headers={"content-type": "application/json", "x-tc-action": "GetRegions", "x-tc-version": "2019-01-18"},
    )
    assert response_of(reply)["Error"]["Code"] == "AuthFailure.InvalidAuthorization"
    reply = requests.get(f"http://{server.endpoint}/?Action=GetRegions&Version=2019-01-18", timeout=30)
    assert response_of(reply)["Error"]["Code"] == "AuthFailure.InvalidAuthorization"


def test_errors_leave_no_trace_of_internals(server: Server) -> None:
    for body in (b"\x00" * 100, json.dumps({"NumberOfBytes": 10**30}).encode()):
        document = response_of(raw_post(server, "GenerateRandom", body))
        message = document["Error"]["Message"]
        assert "Traceback" not in message and 'File "' not in message


@pytest.mark.parametrize(("sign_method", "method"), SIGNATURES)
def test_errors_speak_the_language_the_client_asks_for(server: Server, sign_method: str, method: str) -> None:
    missing = str(uuid.uuid4())
    for language, meaning in (("zh-CN", "CMK 不存在"), ("en-US", "")):
        client = server.client(sign_method=sign_method, method=method, language=language)
        try:
            call(client, "DescribeKey", KeyId=missing)
        except TencentCloudSDKException as refused:
            assert refused.code == "ResourceUnavailable.CmkNotFound"
            assert missing in refused.message, "the specifics stay, in either language"
            assert (meaning in refused.message) if meaning else not re.search(r"[\u4e00-\u9fff]", refused.message)
        else:
            raise AssertionError("DescribeKey of a key that does not exist succeeded")
