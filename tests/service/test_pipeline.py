"""The request pipeline in-process, with hand-made ASGI scopes: what each stage answers, and what the
audit trail keeps of it (the end-to-end suite proves the same through the SDKs, in minutes)."""

import asyncio
import base64
import hashlib
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from openkms.audit.events import AuditEvent
from openkms.domain.clock import FixedClock
from openkms.domain.limits import MAX_REQUEST_BODY_BYTES
from openkms.domain.models import Caller
from openkms.server.app import OpenKmsApp
from openkms.server.runtime import Runtime
from tests.raw import sign_tc3

CALLER = Caller("100000000001", "ap-guangzhou")
HOST = "127.0.0.1:8300"


@pytest.fixture
def app(runtime: Runtime) -> Iterator[OpenKmsApp]:
    served = OpenKmsApp(runtime)
    yield served
    served.audit.close()
    served.signatures.close()


@pytest.fixture
def secret(runtime: Runtime) -> dict[str, str]:
    credential, secret_key = runtime.credentials.create(CALLER.account)
    return {"SecretId": credential.secret_id, "SecretKey": secret_key}


def call(
    app: OpenKmsApp,
    clock: FixedClock,
    action: str,
    params: dict[str, Any],
    secret: dict[str, str] | None,
    source: str = "192.0.2.1",
    body: bytes | None = None,
    **extra: str,
) -> tuple[dict[str, Any], list[tuple[bytes, bytes]]]:
    """Send one request through the app as uvicorn would; the Response object and the HTTP headers."""
    body = json.dumps(params).encode() if body is None else body
    timestamp = int(clock.now())
    headers = {
        "content-type": "application/json; charset=utf-8",
        "host": HOST,
        "x-tc-action": action,
        "x-tc-version": "2019-01-18",
        "x-tc-timestamp": str(timestamp),
        "x-tc-region": CALLER.region,
        "x-tc-language": "en-US",
    } | extra
    if secret is not None:
        headers["authorization"] = sign_tc3(secret, headers, body, timestamp)
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "query_string": b"",
        "headers": [(name.encode(), value.encode()) for name, value in headers.items()],
        "client": (source, 50000),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 200
    return json.loads(sent[1]["body"])["Response"], sent[0]["headers"]


def recorded(app: OpenKmsApp) -> list[AuditEvent]:
    return [event for _, event in app.audit.events()]


def test_a_signed_request_runs_its_action_and_is_recorded_with_its_key(
    app: OpenKmsApp, runtime: Runtime, clock: FixedClock, secret: dict[str, str]
) -> None:
    key = runtime.keys.create(CALLER, "pipeline")
    plaintext = base64.b64encode(b"hello").decode()
    answer, headers = call(app, clock, "Encrypt", {"KeyId": key.key_id, "Plaintext": plaintext}, secret)
    assert answer["KeyId"] == key.key_id and answer["CiphertextBlob"]
    assert (b"content-type", b"application/json") in headers
    [event] = [e for e in recorded(app) if e.action == "Encrypt"]
    assert (event.account, event.secret_id, event.code, event.key_ids) == (
        CALLER.account,
        secret["SecretId"],
        "Success",
        (key.key_id,),
    )
    assert event.request_id == answer["RequestId"]


def test_a_body_over_the_limit_is_refused_unread_and_the_connection_closed(
    app: OpenKmsApp, clock: FixedClock, secret: dict[str, str]
) -> None:
    answer, headers = call(app, clock, "Encrypt", {}, secret, body=b"x" * (MAX_REQUEST_BODY_BYTES + 1))
    assert answer["Error"]["Code"] == "RequestSizeLimitExceeded"
    assert (b"connection", b"close") in headers


def test_a_bad_signature_is_refused_and_counted_against_its_source_not_an_account(
    app: OpenKmsApp, clock: FixedClock, secret: dict[str, str]
) -> None:
    forged = {**secret, "SecretKey": "not-the-secret"}
    answer, _ = call(app, clock, "DescribeKeys", {"KeyIds": ["x"]}, forged)
    assert answer["Error"]["Code"] == "AuthFailure.SignatureFailure"
    [event] = recorded(app)
    assert (event.account, event.secret_id, event.action) == ("", secret["SecretId"], "DescribeKeys")


def test_a_policy_denial_names_the_key_it_protects_in_the_audit_event(
    app: OpenKmsApp, runtime: Runtime, clock: FixedClock, secret: dict[str, str]
) -> None:
    key = runtime.keys.create(CALLER, "guarded")
    policy = {"statement": [{"effect": "allow", "action": "kms:Describe*", "resource": "*"}]}
    runtime.credentials.attach_policy(secret["SecretId"], "reader", json.dumps(policy))
    answer, _ = call(app, clock, "DisableKey", {"KeyId": key.key_id}, secret)
    assert answer["Error"]["Code"] == "UnauthorizedOperation"
    assert runtime.keys.describe(CALLER, key.key_id).state.value == "Enabled"
    [event] = recorded(app)
    assert (event.code, event.key_ids) == ("UnauthorizedOperation", (key.key_id,))


def test_stages_refuse_in_order_action_before_region_before_parameters(
    app: OpenKmsApp, clock: FixedClock, secret: dict[str, str]
) -> None:
    unknown, _ = call(app, clock, "StealKeys", {"KeyId": 5}, secret, **{"x-tc-region": "mars-1"})
    assert unknown["Error"]["Code"] == "InvalidAction"
    elsewhere, _ = call(app, clock, "Encrypt", {"KeyId": 5}, secret, **{"x-tc-region": "mars-1"})
    assert elsewhere["Error"]["Code"] == "UnsupportedRegion"
    malformed, _ = call(app, clock, "Encrypt", {"KeyId": 5}, secret)
    assert malformed["Error"]["Code"].startswith(("InvalidParameter", "MissingParameter"))


def test_a_fail_closed_server_whose_log_cannot_be_written_answers_nothing_and_records_nothing(
    app: OpenKmsApp, runtime: Runtime, clock: FixedClock, secret: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    key = runtime.keys.create(CALLER, "unrecorded")
    monkeypatch.setattr(type(app.audit), "available", property(lambda self: False))
    answer, _ = call(app, clock, "DisableKey", {"KeyId": key.key_id}, secret)
    assert answer["Error"]["Code"] == "UnsupportedOperation.ServiceTemporaryUnavailable"
    assert runtime.keys.describe(CALLER, key.key_id).state.value == "Enabled"
    monkeypatch.undo()
    assert recorded(app) == []


def test_a_replayed_signature_for_another_action_is_refused(
    app: OpenKmsApp, runtime: Runtime, clock: FixedClock, secret: dict[str, str]
) -> None:
    key = runtime.keys.create(CALLER, "replayed")
    body = json.dumps({"KeyId": key.key_id}).encode()
    first, _ = call(app, clock, "DescribeKey", {}, secret, body=body)
    assert first["KeyMetadata"]["KeyId"] == key.key_id
    # Signed alike (the SDKs sign content-type and host only), sent as DisableKey from elsewhere.
    replay, _ = call(app, clock, "DisableKey", {}, secret, source="198.51.100.7", body=body)
    assert replay["Error"]["Code"] == "AuthFailure.SignatureFailure"
    assert runtime.keys.describe(CALLER, key.key_id).state.value == "Enabled"


def _json_query_auth() -> type:
    from botocore.auth import SigV4QueryAuth

    class JsonQueryAuth(SigV4QueryAuth):  # type: ignore[misc]
        """botocore's query-form signer, which moves a body into the query (as the AWS Query protocol
        wants); AWS JSON keeps its body, which the signature then covers."""

        def _modify_request_before_signing(self, request: Any) -> None:
            body, request.data = request.data, b""
            super()._modify_request_before_signing(request)
            request.data = body

    return JsonQueryAuth


def aws_call(
    app: OpenKmsApp,
    clock: FixedClock,
    secret: dict[str, str],
    action: str,
    fields: dict[str, Any],
    query_form: bool = False,
    signed_headers: dict[str, str] | None = None,
    sent_fields: dict[str, Any] | None = None,
    unsigned_headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    """An AWS request signed by botocore (header form, or query form as a presigned URL), sent to the
    app as a server would hand it over; `sent_fields`: a body other than the one signed."""
    from urllib.parse import urlsplit

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    JsonQueryAuth = _json_query_auth()
    from botocore.credentials import Credentials

    body = json.dumps(fields).encode()
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"TrentService.{action}"}
    for name in unsigned_headers or {}:
        headers.pop(name, None)
    signed = AWSRequest(method="POST", url=f"http://{HOST}/", data=body, headers={**headers, **(signed_headers or {})})
    clock.advance(time.time() - clock.now())  # botocore signs with the real time
    credentials = Credentials(secret["SecretId"], secret["SecretKey"])
    signer: SigV4Auth = SigV4Auth(credentials, "kms", CALLER.region)
    if query_form:
        signer = JsonQueryAuth(credentials, "kms", CALLER.region, expires=300)
    signer.add_auth(signed)
    sent_body = json.dumps(sent_fields).encode() if sent_fields is not None else body
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "query_string": urlsplit(signed.url).query.encode(),
        "headers": [
            (b"host", HOST.encode()),  # signed from the URL; sent by the HTTP client
            *((name.lower().encode(), value.encode()) for name, value in signed.headers.items()),
            *((name.lower().encode(), value.encode()) for name, value in (unsigned_headers or {}).items()),
        ],
        "client": ("192.0.2.9", 50000),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": sent_body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], json.loads(sent[1]["body"])


def test_an_aws_request_whose_body_is_not_the_one_signed_is_refused(
    app: OpenKmsApp, runtime: Runtime, clock: FixedClock, secret: dict[str, str]
) -> None:
    signed_for, swapped_to = (runtime.keys.create(CALLER, name).key_id for name in ("signed-for", "swapped-to"))
    signed_hash = hashlib.sha256(json.dumps({"KeyId": signed_for}).encode()).hexdigest()
    status, answer = aws_call(
        app, clock, secret, "DisableKey", {"KeyId": signed_for},
        signed_headers={"X-Amz-Content-Sha256": signed_hash}, sent_fields={"KeyId": swapped_to},
    )  # fmt: skip
    assert (status, answer["__type"]) == (400, "InvalidSignatureException")
    assert runtime.keys.describe(CALLER, swapped_to).state.value == "Enabled"


@pytest.mark.parametrize("query_form", [False, True])
def test_an_aws_request_must_sign_the_action_it_names(
    app: OpenKmsApp, runtime: Runtime, clock: FixedClock, secret: dict[str, str], query_form: bool
) -> None:
    key = runtime.keys.create(CALLER, "target-unsigned")
    status, answer = aws_call(
        app, clock, secret, "DescribeKey", {"KeyId": key.key_id}, query_form=query_form,
        unsigned_headers={"X-Amz-Target": "TrentService.DisableKey"},
    )  # fmt: skip
    assert (status, answer["__type"]) == (400, "InvalidSignatureException")
    assert runtime.keys.describe(CALLER, key.key_id).state.value == "Enabled"


def test_an_aws_context_binds_only_where_it_is_used_by_policies_too(
    app: OpenKmsApp, runtime: Runtime, clock: FixedClock, secret: dict[str, str]
) -> None:
    """A policy conditioned on the EncryptionContext allows no action that takes none, whatever
    context the request names, and no asymmetric decryption (which a context does not bind)."""
    acme_only = {
        "effect": "allow",
        "action": ["kms:*"],
        "resource": "*",
        "condition": {"string_equal": {"kms:EncryptionContext/tenant": "acme"}},
    }
    runtime.credentials.attach_policy(secret["SecretId"], "acme", json.dumps({"statement": [acme_only]}))
    key = runtime.keys.create(CALLER, "context-injected")
    acme = json.dumps({"tenant": "acme"})
    status, answer = aws_call(app, clock, secret, "DisableKey", {"KeyId": key.key_id, "EncryptionContext": acme})
    assert (status, answer["__type"]) == (400, "AccessDeniedException")
    assert runtime.keys.describe(CALLER, key.key_id).state.value == "Enabled"
    rsa = runtime.keys.create(CALLER, "rsa", usage="ASYMMETRIC_DECRYPT_RSA_2048")
    status, answer = aws_call(
        app, clock, secret, "Decrypt",
        {"KeyId": rsa.key_id, "CiphertextBlob": base64.b64encode(b"x" * 256).decode(),
         "EncryptionAlgorithm": "RSAES_OAEP_SHA_256", "EncryptionContext": {"tenant": "acme"}},
    )  # fmt: skip
    assert (status, answer["__type"]) == (400, "ValidationException")


def test_an_aws_request_signed_in_the_query_string_is_served(
    app: OpenKmsApp, runtime: Runtime, clock: FixedClock, secret: dict[str, str]
) -> None:
    key = runtime.keys.create(CALLER, "presigned")
    status, answer = aws_call(app, clock, secret, "DescribeKey", {"KeyId": key.key_id}, query_form=True)
    assert (status, answer["KeyMetadata"]["KeyId"]) == (200, key.key_id)
    status, answer = aws_call(
        app, clock, secret, "DisableKey", {"KeyId": key.key_id}, query_form=True, sent_fields={"KeyId": "x"}
    )
    assert (status, answer["__type"]) == (400, "InvalidSignatureException")


def test_an_aws_request_runs_through_the_same_stages_and_is_recorded_as_aws(
    app: OpenKmsApp, runtime: Runtime, clock: FixedClock, secret: dict[str, str]
) -> None:
    key = runtime.keys.create(CALLER, "aws-side")
    fields = {"KeyId": key.key_id, "Plaintext": base64.b64encode(b"hi").decode()}
    status, answer = aws_call(app, clock, secret, "Encrypt", fields)
    assert status == 200, answer
    assert answer["KeyId"].endswith(key.key_id)
    [event] = [e for e in recorded(app) if e.action == "aws:Encrypt"]
    assert (event.account, event.code, event.key_ids) == (CALLER.account, "Success", (key.key_id,))
