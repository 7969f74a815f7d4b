"""AWS Signature Version 4, as the AWS SDKs and CLI sign KMS requests: which credential signed a
request, checked against its secret access key (an OpenKMS credential's SecretKey). Header form:

    Authorization: AWS4-HMAC-SHA256 Credential=<AccessKeyId>/<yyyymmdd>/<region>/kms/aws4_request,
                   SignedHeaders=<names;...>, Signature=<64 hex digits>

or query form (a presigned request): X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date, X-Amz-Expires,
X-Amz-SignedHeaders and X-Amz-Signature in the query string. Either way the body is signed: its
SHA-256 is computed here, never taken from the request (X-Amz-Content-Sha256, if sent, must match).
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
_CREDENTIAL = re.compile(r"(?P<id>[^/,\s]+)/(?P<date>\d{8})/(?P<region>[^/,\s]+)/(?P<service>[^/,\s]+)/aws4_request")
_SIGNED_HEADERS = re.compile(r"[a-z0-9;_.-]+")
_SIGNATURE = re.compile(r"[0-9a-f]{64}")
QUERY_SIGNATURE = "X-Amz-Signature"
QUERY_EXPIRES_MAX_SECONDS = TIMESTAMP_SKEW_SECONDS
"""A presigned request is good for at most as long as a header-signed one may be late."""


@dataclass(frozen=True)
class SigV4:
    """A verified SigV4 request."""

    access: Access
    access_key_id: str
    region: str
    signature: str
    timestamp: int
    expires: int
    """Until when the signature may be used (Unix seconds): a replay guard remembers it that long."""


@dataclass(frozen=True)
class _Claim:
    """What a request says about its signature, in either form."""

    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: str
    signature: str
    amz_date: str
    expires_in: int | None
    """Query form: X-Amz-Expires; None for the header form (a fixed window either side)."""
    canonical_query: str


def claimed_access_key(authorization: str) -> str:
    match = re.search(r"Credential=([^/,\s]{1,128})/", authorization)
    return match.group(1) if match else ""


def is_query_signed(raw_query: str) -> bool:
    return "X-Amz-Signature=" in raw_query


def _query_pairs(raw_query: str) -> list[tuple[str, str]]:
    return [(unquote(n), unquote(v)) for n, _, v in (part.partition("=") for part in raw_query.split("&") if part)]


def _canonical_query(pairs: list[tuple[str, str]]) -> str:
    encoded = sorted((quote(name, safe="-_.~"), quote(value, safe="-_.~")) for name, value in pairs)
    return "&".join(f"{n}={v}" for n, v in encoded)


def _header_claim(authorization: str, raw_query: str, headers: Mapping[str, str]) -> _Claim:
    match = _AUTHORIZATION.fullmatch(authorization.strip())
    if match is None:
        raise ApiError(
            "IncompleteSignatureException",
            "The Authorization header is not AWS4-HMAC-SHA256 Credential=<id>/<date>/<region>/kms/aws4_request, "
            "SignedHeaders=..., Signature=<64 hex digits>.",
        )
    return _Claim(
        match["id"], match["date"], match["region"], match["service"], match["headers"], match["sig"],
        headers.get("x-amz-date", ""), None, _canonical_query(_query_pairs(raw_query)),
    )  # fmt: skip


def query_claim_access_key(raw_query: str) -> str:
    credential = dict(_query_pairs(raw_query)).get("X-Amz-Credential", "")
    return credential.partition("/")[0][:128]


def _query_claim(raw_query: str) -> _Claim:
    pairs = _query_pairs(raw_query)
    given = dict(pairs)
    credential = _CREDENTIAL.fullmatch(given.get("X-Amz-Credential", ""))
    signed_headers = given.get("X-Amz-SignedHeaders", "")
    signature = given.get(QUERY_SIGNATURE, "")
    expires = given.get("X-Amz-Expires", "")
    if (
        given.get("X-Amz-Algorithm") != ALGORITHM
        or credential is None
        or not _SIGNED_HEADERS.fullmatch(signed_headers)
        or not _SIGNATURE.fullmatch(signature)
        or not expires.isdigit()
    ):
        raise ApiError(
            "IncompleteSignatureException",
            "A query-signed request needs X-Amz-Algorithm=AWS4-HMAC-SHA256, X-Amz-Credential=<id>/<date>/<region>/"
            "kms/aws4_request, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders and X-Amz-Signature.",
        )
    if not 0 < int(expires) <= QUERY_EXPIRES_MAX_SECONDS:
        raise ApiError(
            "InvalidSignatureException",
            f"X-Amz-Expires is 1-{QUERY_EXPIRES_MAX_SECONDS} seconds here: a KMS request is signed shortly before "
            "it is sent.",
        )
    return _Claim(
        credential["id"], credential["date"], credential["region"], credential["service"], signed_headers,
        signature, given.get("X-Amz-Date", ""), int(expires),
        _canonical_query([(n, v) for n, v in pairs if n != QUERY_SIGNATURE]),
    )  # fmt: skip


def verify(
    authorization: str | None,
    method: str,
    path: str,
    raw_query: str,
    headers: Mapping[str, str],
    body: bytes,
    secrets: SecretLookup,
    now: float,
) -> SigV4:
    """The request's signature, from its Authorization header or, without one, its query string."""
    claim = _header_claim(authorization, raw_query, headers) if authorization is not None else _query_claim(raw_query)
    if claim.service != SERVICE:
        raise ApiError(
            "InvalidSignatureException", f"The credential scope names service {claim.service[:32]!r}, not kms."
        )
    signed = claim.signed_headers.split(";")
    if "host" not in signed or "x-amz-target" not in signed:
        # X-Amz-Target names the action: unsigned, a request signed for DescribeKey could be sent as
        # ScheduleKeyDeletion with the same body and signature.
        raise ApiError("InvalidSignatureException", "SignedHeaders must include host and x-amz-target.")
    missing = [name for name in signed if name not in headers]
    if missing:
        raise ApiError("InvalidSignatureException", f"The signed header {missing[0]} is not in the request.")
    if not _AMZ_DATE.fullmatch(claim.amz_date):
        raise ApiError("IncompleteSignatureException", "X-Amz-Date must be yyyymmddThhmmssZ.")
    try:
        timestamp = calendar.timegm(time.strptime(claim.amz_date, "%Y%m%dT%H%M%SZ"))
    except ValueError:
        raise ApiError("IncompleteSignatureException", "X-Amz-Date is not a date and time.") from None
    expires = timestamp + (TIMESTAMP_SKEW_SECONDS if claim.expires_in is None else claim.expires_in)
    if now < timestamp - TIMESTAMP_SKEW_SECONDS or now > expires:
        raise ApiError(
            "InvalidSignatureException",
            f"Signature expired: {claim.amz_date} is more than {TIMESTAMP_SKEW_SECONDS // 60} minutes from the "
            "server's time (or past X-Amz-Expires); check the client's clock.",
        )
    if claim.amz_date[:8] != claim.date:
        raise ApiError("InvalidSignatureException", "The credential date is not the date of X-Amz-Date.")
    access = secrets(claim.access_key_id)
    if access is None:
        raise ApiError("UnrecognizedClientException", "The security token included in the request is invalid.")
    payload_hash = hashlib.sha256(body).hexdigest()
    if headers.get("x-amz-content-sha256", payload_hash) != payload_hash:
        raise ApiError(
            "InvalidSignatureException",
            "X-Amz-Content-Sha256 is not the SHA-256 of the body: OpenKMS verifies every body it is sent.",
        )
    canonical_headers = "".join(f"{name}:{' '.join(headers[name].split())}\n" for name in signed)
    canonical_request = "\n".join(
        (method, quote(path or "/", safe="/-_.~"), claim.canonical_query, canonical_headers, claim.signed_headers,
         payload_hash)
    )  # fmt: skip
    scope = f"{claim.date}/{claim.region}/{SERVICE}/aws4_request"
    string_to_sign = f"{ALGORITHM}\n{claim.amz_date}\n{scope}\n{hashlib.sha256(canonical_request.encode()).hexdigest()}"
    key = ("AWS4" + access.secret_key.reveal().decode()).encode()
    for part in (claim.date, claim.region, SERVICE, "aws4_request"):
        key = hmac.digest(key, part.encode(), "sha256")
    expected = hmac.digest(key, string_to_sign.encode(), "sha256").hex()
    if not hmac.compare_digest(expected, claim.signature):
        raise ApiError(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
            "Access Key and signing method.",
        )
    return SigV4(access, claim.access_key_id, claim.region, claim.signature, timestamp, expires)
