"""The first two stages of the pipeline: a request as read off the wire, and what its signature proves.

Tencent API 3.0 has two ways to sign: TC3-HMAC-SHA256 (an Authorization header; the action, region and
version in X-TC-* headers; parameters as JSON, or as a form or query) and v1 (HmacSHA1/HmacSHA256 over
every form or query field, the action and signature among them). Both end as one `Authenticated`.
"""

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import orjson

from openkms.api import schema
from openkms.api.errors import ApiError
from openkms.api.exchange import Exchange
from openkms.api.messages import requested_language
from openkms.api.replay import SignatureUse
from openkms.api.signature import (
    UNSIGNED_PAYLOAD,
    Access,
    SecretLookup,
    Tc3Authorization,
    parse_tc3,
    verify_tc3,
    verify_v1,
)
from openkms.domain.limits import TIMESTAMP_SKEW_SECONDS

API_VERSION = "2019-01-18"
V1_COMMON_PARAMS = frozenset(
    {
        "Action",
        "Version",
        "Region",
        "Timestamp",
        "Nonce",
        "SecretId",
        "Signature",
        "SignatureMethod",
        "Language",
        "RequestClient",
        "Token",
    }
)
_CLAIMED_SECRET_ID = re.compile(r"Credential=([^/,\s]{1,128})/")


@dataclass(frozen=True)
class HttpRequest:
    method: str
    headers: Mapping[str, str]
    """Keyed by lowercase name; values as received."""
    raw_query: str
    body: bytes
    source: str = ""


@dataclass(frozen=True)
class Authenticated:
    """A request whose signature verified: what it asks, and the credential that signed it."""

    action: str
    region: str | None
    params: dict[str, Any]
    form: bool
    """True when the parameters came flattened (form or query: `Tags.0.TagKey=...`)."""
    access: Access
    signature: SignatureUse
    """To be checked against replays before the request runs (api/replay.py)."""


def language_of(request: HttpRequest) -> str:
    """The language of a request's error messages (a v1 request may name it in its form or query)."""
    v1_fields = "" if "authorization" in request.headers else request.raw_query or request.body.decode("latin-1")
    return requested_language(request.headers.get("x-tc-language"), v1_fields)


def authenticate(request: HttpRequest, exchange: Exchange, secrets: SecretLookup, now: float) -> Authenticated:
    """Verify the request's signature and read its action and parameters, filling in the exchange."""
    if request.method not in ("GET", "POST"):
        raise ApiError("UnsupportedProtocol", f"HTTP method {request.method} is not supported; use POST or GET.")
    authorization = request.headers.get("authorization")
    if authorization is not None:
        return _tc3(request, authorization, exchange, secrets, now)
    return _v1(request, exchange, secrets, now)


def _tc3(
    request: HttpRequest, authorization: str, exchange: Exchange, secrets: SecretLookup, now: float
) -> Authenticated:
    headers = request.headers
    _refuse_token(headers.get("x-tc-token"))
    parsed: Tc3Authorization | ApiError
    try:
        parsed = parse_tc3(authorization)
        exchange.secret_id = parsed.secret_id
    except ApiError as malformed:
        parsed = malformed
        claimed = _CLAIMED_SECRET_ID.search(authorization)  # who it claims to be, for the audit event
        exchange.secret_id = claimed.group(1) if claimed else ""
    exchange.action = _action(headers.get("x-tc-action"), "X-TC-Action header")
    _check_version(headers.get("x-tc-version"), "X-TC-Version header")
    if isinstance(parsed, ApiError):
        raise parsed
    principal = verify_tc3(parsed, request.method, headers, request.raw_query, request.body, secrets, now)
    exchange.account = principal.account
    params, form = _tc3_params(request)
    region = headers.get("x-tc-region")
    used_for = f"{exchange.action}|{region or ''}|{headers.get('x-tc-version')}"
    if headers.get("x-tc-content-sha256") == UNSIGNED_PAYLOAD:
        # The signature does not cover this body: the body is part of what the signature was used for.
        used_for += f"|{hashlib.sha256(request.body).hexdigest()}"
    expires = principal.timestamp + TIMESTAMP_SKEW_SECONDS
    use = SignatureUse(f"tc3:{principal.signature}", used_for, expires, True, request.source, now)
    return Authenticated(exchange.action, region, params, form, principal.credential, use)


def _v1(request: HttpRequest, exchange: Exchange, secrets: SecretLookup, now: float) -> Authenticated:
    fields = dict(_form_pairs(_v1_text(request)))
    _refuse_token(fields.get("Token"))
    exchange.secret_id = fields.get("SecretId", "")[:128]
    exchange.action = _action(fields.get("Action"), "parameter Action")
    _check_version(fields.get("Version"), "parameter Version")
    principal = verify_v1(request.method, request.headers.get("host", ""), fields, secrets, now)
    exchange.account = principal.account
    expires = principal.timestamp + TIMESTAMP_SKEW_SECONDS
    use = SignatureUse(f"v1:{principal.signature}", exchange.request_id, expires, False, request.source, now)
    params = schema.unflatten([(k, v) for k, v in fields.items() if k not in V1_COMMON_PARAMS])
    return Authenticated(exchange.action, fields.get("Region"), params, True, principal.credential, use)


def _refuse_token(token: str | None) -> None:
    """Temporary credentials (STS tokens) are Tencent Cloud CAM's; OpenKMS issues none, so a request
    made with one is refused plainly rather than served as if the token had been checked."""
    if token:
        raise ApiError(
            "AuthFailure.TokenFailure",
            "OpenKMS issues no temporary credentials, so it cannot check this token (X-TC-Token or Token): "
            "sign with a permanent SecretId and SecretKey, and send no token.",
        )


def _action(name: str | None, where: str) -> str:
    if not name:
        raise ApiError("MissingParameter", f"The request names no action ({where}).")
    if name not in schema.ACTIONS:
        raise ApiError("InvalidAction", f"{name[:64]!r} is not an action of KMS API {API_VERSION}.")
    return name


def _check_version(version: str | None, where: str) -> None:
    if not version:
        raise ApiError("MissingParameter", f"The request names no API version ({where}); KMS is {API_VERSION}.")
    if version != API_VERSION:
        raise ApiError("NoSuchVersion", f"KMS API version {version[:32]!r} does not exist; use {API_VERSION}.")


def _content_type(request: HttpRequest) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _tc3_params(request: HttpRequest) -> tuple[dict[str, Any], bool]:
    if request.method == "GET":
        return schema.unflatten(_form_pairs(request.raw_query)), True
    content_type = _content_type(request)
    if content_type == "application/json":
        try:
            params = orjson.loads(request.body) if request.body else {}
        except orjson.JSONDecodeError:
            raise ApiError("InvalidParameter", "The request body is not valid JSON.") from None
        if not isinstance(params, dict):
            raise ApiError("InvalidParameter", "The request body must be a JSON object of parameters.")
        return params, False
    if content_type == "application/x-www-form-urlencoded":
        return schema.unflatten(_form_pairs(_utf8(request.body))), True
    raise ApiError("InvalidParameter", f"Content-Type {content_type[:64]!r} is not supported; send application/json.")


def _v1_text(request: HttpRequest) -> str:
    if request.method == "GET":
        return request.raw_query
    if _content_type(request) != "application/x-www-form-urlencoded":
        raise ApiError(
            "AuthFailure.InvalidAuthorization",
            "The request has no Authorization header; a TC3-HMAC-SHA256 request needs one, and a v1 request "
            "is sent as application/x-www-form-urlencoded.",
        )
    return _utf8(request.body)


def _utf8(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError("InvalidParameter", "The request body is not UTF-8.") from None


def _form_pairs(text: str) -> list[tuple[str, str]]:
    try:
        return parse_qsl(text, keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise ApiError("InvalidParameter", "The parameters are not valid percent-encoded UTF-8.") from None
