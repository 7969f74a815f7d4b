"""AWS Signature Version 4, as the AWS SDKs and CLI sign KMS requests (header form): which credential
signed a request, checked against its secret access key (an OpenKMS credential's SecretKey).

    Authorization: AWS4-HMAC-SHA256 Credential=<AccessKeyId>/<yyyymmdd>/<region>/kms/aws4_request,
                   SignedHeaders=<names;...>, Signature=<64 hex digits>

The region in the credential scope is the request's region (the Tencent regions a server serves).
"""

import calendar
import hashlib
import hmac
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, unquote

from openkms.api.errors import ApiError
from openkms.api.signature import Access, SecretLookup
from openkms.domain.limits import TIMESTAMP_SKEW_SECONDS

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "kms"
_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 +Credential=(?P<id>[^/,\s]+)/(?P<date>\d{8})/(?P<region>[^/,\s]+)/(?P<service>[^/,\s]+)"
    r"/aws4_request *, *SignedHeaders=(?P<headers>[a-z0-9;_.-]+) *, *Signature=(?P<sig>[0-9a-f]{64})"
)
_AMZ_DATE = re.compile(r"\d{8}T\d{6}Z")


@dataclass(frozen=True)
class SigV4:
    """A verified SigV4 request."""

    access: Access
    access_key_id: str
    region: str
    signature: str
    timestamp: int


def claimed_access_key(authorization: str) -> str:
    match = re.search(r"Credential=([^/,\s]{1,128})/", authorization)
    return match.group(1) if match else ""


def _canonical_query(raw_query: str) -> str:
    pairs = []
    for part in raw_query.split("&") if raw_query else []:
        name, _, value = part.partition("=")
        pairs.append((quote(unquote(name), safe="-_.~"), quote(unquote(value), safe="-_.~")))
    return "&".join(f"{n}={v}" for n, v in sorted(pairs))


def verify(
    authorization: str,
    method: str,
    path: str,
    raw_query: str,
    headers: Mapping[str, str],
    body: bytes,
    secrets: SecretLookup,
    now: float,
) -> SigV4:
    match = _AUTHORIZATION.fullmatch(authorization.strip())
    if match is None:
        raise ApiError(
            "IncompleteSignatureException",
            "The Authorization header is not AWS4-HMAC-SHA256 Credential=<id>/<date>/<region>/kms/aws4_request, "
            "SignedHeaders=..., Signature=<64 hex digits>.",
        )
    if match["service"] != SERVICE:
        raise ApiError(
            "InvalidSignatureException", f"The credential scope names service {match['service'][:32]!r}, not kms."
        )
    signed = match["headers"].split(";")
    if "host" not in signed:
        raise ApiError("InvalidSignatureException", "SignedHeaders must include host.")
    missing = [name for name in signed if name not in headers]
    if missing:
        raise ApiError("InvalidSignatureException", f"The signed header {missing[0]} is not in the request.")
    amz_date = headers.get("x-amz-date", "")
    if not _AMZ_DATE.fullmatch(amz_date):
        raise ApiError("IncompleteSignatureException", "X-Amz-Date must be yyyymmddThhmmssZ.")
    timestamp = calendar.timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ"))
    if abs(now - timestamp) > TIMESTAMP_SKEW_SECONDS:
        raise ApiError(
            "InvalidSignatureException",
            f"Signature expired: {amz_date} is more than {TIMESTAMP_SKEW_SECONDS // 60} minutes from the server's "
            "time; check the client's clock.",
        )
    if amz_date[:8] != match["date"]:
        raise ApiError("InvalidSignatureException", "The credential date is not the date of X-Amz-Date.")
    access = secrets(match["id"])
    if access is None:
        raise ApiError("UnrecognizedClientException", "The security token included in the request is invalid.")
    payload_hash = headers.get("x-amz-content-sha256") or hashlib.sha256(body).hexdigest()
    canonical_headers = "".join(f"{name}:{' '.join(headers[name].split())}\n" for name in signed)
    canonical_request = "\n".join(
        (
            method,
            quote(path or "/", safe="/-_.~"),
            _canonical_query(raw_query),
            canonical_headers,
            match["headers"],
            payload_hash,
        )
    )
    scope = f"{match['date']}/{match['region']}/{SERVICE}/aws4_request"
    string_to_sign = f"{ALGORITHM}\n{amz_date}\n{scope}\n{hashlib.sha256(canonical_request.encode()).hexdigest()}"
    key = ("AWS4" + access.secret_key.reveal().decode()).encode()
    for part in (match["date"], match["region"], SERVICE, "aws4_request"):
        key = hmac.digest(key, part.encode(), "sha256")
    expected = hmac.digest(key, string_to_sign.encode(), "sha256").hex()
    if not hmac.compare_digest(expected, match["sig"]):
        raise ApiError(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
            "Access Key and signing method.",
        )
    return SigV4(access, match["id"], match["region"], match["sig"], timestamp)
