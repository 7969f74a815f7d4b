"""Requests made by hand, TC3-signed as the SDK would sign them, for what the SDK cannot send: extra
headers, other signed headers, odd timestamps."""

import hashlib
import hmac
import time
import uuid
from typing import Any

import requests

from tests.serverproc import Server


def sign_tc3(
    secret: dict[str, str],
    headers: dict[str, str],
    body: bytes,
    timestamp: int,
    signed: tuple[str, ...] = ("content-type", "host"),
) -> str:
    date = time.strftime("%Y-%m-%d", time.gmtime(timestamp))
    canonical_headers = "".join(f"{name}:{headers[name].lower()}\n" for name in signed)
    canonical = f"POST\n/\n\n{canonical_headers}\n{';'.join(signed)}\n{hashlib.sha256(body).hexdigest()}"
    to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{date}/kms/tc3_request\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    key = hmac.digest(("TC3" + secret["SecretKey"]).encode(), date.encode(), "sha256")
    for part in ("kms", "tc3_request"):
        key = hmac.digest(key, part.encode(), "sha256")
    signature = hmac.new(key, to_sign.encode(), "sha256").hexdigest()
    return (
        f"TC3-HMAC-SHA256 Credential={secret['SecretId']}/{date}/kms/tc3_request, "
        f"SignedHeaders={';'.join(signed)}, Signature={signature}"
    )


def raw_post(
    server: Server,
    action: str,
    body: bytes,
    timestamp: int | None = None,
    signed: tuple[str, ...] = ("content-type", "host"),
    **extra_headers: str,
) -> requests.Response:
    timestamp = int(time.time()) if timestamp is None else timestamp
    headers = {
        "content-type": "application/json; charset=utf-8",
        "host": server.endpoint,
        "x-tc-action": action,
        "x-tc-version": "2019-01-18",
        "x-tc-timestamp": str(timestamp),
        "x-tc-region": "ap-guangzhou",
    } | extra_headers
    headers["authorization"] = sign_tc3(server.first_credential(), headers, body, timestamp, signed)
    return requests.post(f"http://{server.endpoint}/", data=body, headers=headers, timeout=30)


def response_of(reply: requests.Response) -> dict[str, Any]:
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/json"
    document: dict[str, Any] = reply.json()["Response"]
    assert uuid.UUID(document["RequestId"]).version == 4
    return document
