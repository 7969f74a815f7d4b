"""The bare endpoint: only the work any Encrypt endpoint must do, as a reference for the Python limit.

Parse JSON, check one TC3-HMAC-SHA256 signature (signing key memoised, as OpenKMS does), decode the
Base64 plaintext, AES-256-GCM it, encode Base64, answer JSON. Served by the same ASGI server with the
same worker count as OpenKMS. Run by bench/run.py; not part of the product.
"""

import hashlib
import hmac
import os
import time
from typing import Any

import orjson
import pybase64
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SECRET_KEY = os.environ.get("BENCH_SECRET_KEY", "").encode()
AEAD = AESGCM(os.urandom(32))
_signing: dict[str, bytes] = {}


def _signing_key(date: str) -> bytes:
    if date not in _signing:
        key = hmac.digest(b"TC3" + SECRET_KEY, date.encode(), "sha256")
        key = hmac.digest(hmac.digest(key, b"kms", "sha256"), b"tc3_request", "sha256")
        _signing[date] = key
    return _signing[date]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    timestamp = headers["x-tc-timestamp"]
    date = time.strftime("%Y-%m-%d", time.gmtime(int(timestamp)))
    canonical = (
        f"POST\n/\n\ncontent-type:{headers['content-type']}\nhost:{headers['host']}\n\ncontent-type;host\n"
        f"{hashlib.sha256(body).hexdigest()}"
    )
    to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{date}/kms/tc3_request\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    signature = hmac.new(_signing_key(date), to_sign.encode(), "sha256").hexdigest()
    params = orjson.loads(body)
    if not hmac.compare_digest(signature, headers["authorization"].rsplit("Signature=", 1)[1]):
        response = {"Response": {"Error": {"Code": "AuthFailure.SignatureFailure", "Message": ""}, "RequestId": "x"}}
    else:
        nonce = os.urandom(12)
        sealed = nonce + AEAD.encrypt(nonce, pybase64.b64decode(params["Plaintext"], validate=True), None)
        blob = pybase64.b64encode_as_string(sealed)
        response = {"Response": {"CiphertextBlob": blob, "KeyId": params["KeyId"], "RequestId": "x"}}
    payload = orjson.dumps(response)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": payload})
