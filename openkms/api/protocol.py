"""One API request from bytes to response fields: envelope, signature, region, parameters, dispatch.

Synchronous and free of ASGI details so it runs in a worker thread and can be tested directly.
"""

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import orjson

from openkms.api import schema
from openkms.api.actions import crypto, data_keys, key_import, keys, rotation, service  # noqa: F401  (registers)
from openkms.api.actions.registry import HANDLERS, Services
from openkms.api.errors import INTERNAL_ERROR, INTERNAL_MESSAGE, ApiError, code_for
from openkms.api.signature import Principal, SecretLookup, verify_tc3, verify_v1
from openkms.clock import Clock
from openkms.errors import KmsError
from openkms.models import Caller

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
# Fields many actions accept for Tencent features OpenKMS does not have.
MULTI_ACCOUNT_FIELDS = ("MemberAccount", "MemberAccounts")
HSM_CLUSTER_FIELD = "HsmClusterId"
SHARED_HSM_CLUSTER = "default"

log = logging.getLogger("openkms.api")


@dataclass(frozen=True)
class HttpRequest:
    method: str
    headers: Mapping[str, str]
    """Keyed by lowercase name; values as received."""
    raw_query: str
    body: bytes


@dataclass(frozen=True)
class Outcome:
    request_id: str
    action: str
    fields: dict[str, Any]
    error_code: str | None = None


@dataclass(frozen=True)
class _Envelope:
    action: str
    version: str
    region: str | None
    params: dict[str, Any]
    form: bool
    principal: Principal


class ApiProtocol:
    def __init__(self, services: Services, secrets: SecretLookup, clock: Clock, regions: Sequence[str]) -> None:
        self._services = services
        self._secrets = secrets
        self._clock = clock
        self._regions = tuple(regions)

    def handle(self, request: HttpRequest) -> Outcome:
        request_id = str(uuid.uuid4())
        action = "?"
        try:
            envelope = self._open(request)
            action = envelope.action
            fields = self._dispatch(envelope)
            return Outcome(request_id, action, fields)
        except ApiError as exc:
            return _error(request_id, action, exc.code, exc.message)
        except KmsError as exc:
            return _error(request_id, action, code_for(exc), str(exc))
        except Exception:
            log.exception("internal error in %s, RequestId %s", action, request_id)
            return _error(request_id, action, INTERNAL_ERROR, INTERNAL_MESSAGE)

    def _open(self, request: HttpRequest) -> _Envelope:
        if request.method not in ("GET", "POST"):
            raise ApiError("UnsupportedProtocol", f"HTTP method {request.method} is not supported; use POST or GET.")
        authorization = request.headers.get("authorization")
        now = self._clock.now()
        if authorization is not None:
            action = _action(request.headers.get("x-tc-action"), "X-TC-Action header")
            _check_version(request.headers.get("x-tc-version"), "X-TC-Version header")
            principal = verify_tc3(
                authorization, request.method, request.headers, request.raw_query, request.body, self._secrets, now
            )
            params, form = _tc3_params(request)
            region = request.headers.get("x-tc-region")
        else:
            fields = dict(_form_pairs(_v1_text(request)))
            action = _action(fields.get("Action"), "parameter Action")
            _check_version(fields.get("Version"), "parameter Version")
            principal = verify_v1(request.method, request.headers.get("host", ""), fields, self._secrets, now)
            region = fields.get("Region")
            params = schema.unflatten([(k, v) for k, v in fields.items() if k not in V1_COMMON_PARAMS])
            form = True
        return _Envelope(action, API_VERSION, region, params, form, principal)

    def _dispatch(self, envelope: _Envelope) -> dict[str, Any]:
        region = envelope.region or self._regions[0]
        if region not in self._regions:
            raise ApiError(
                "UnsupportedRegion", f"Region {region[:64]!r} is not served here; served: {', '.join(self._regions)}."
            )
        handler = HANDLERS.get(envelope.action)
        if handler is None:
            raise ApiError(
                "UnsupportedOperation", f"{envelope.action} is a KMS action this server does not implement yet."
            )
        params = schema.check_params(envelope.action, envelope.params, envelope.form)
        _refuse_absent_features(params)
        return handler(self._services, Caller(envelope.principal.account, region), params)


def _error(request_id: str, action: str, code: str, message: str) -> Outcome:
    return Outcome(request_id, action, {"Error": {"Code": code, "Message": message}}, code)


def error_outcome(code: str, message: str) -> Outcome:
    """An error answered before a request could be read (so with no action known)."""
    return _error(str(uuid.uuid4()), "?", code, message)


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


def _refuse_absent_features(params: Mapping[str, Any]) -> None:
    for name in MULTI_ACCOUNT_FIELDS:
        if params.get(name):
            raise ApiError("UnsupportedOperation", f"{name} is not supported: OpenKMS has no multi-account management.")
    cluster = params.get(HSM_CLUSTER_FIELD)
    if cluster and cluster != SHARED_HSM_CLUSTER:
        raise ApiError(
            "InvalidParameterValue.InvalidHsmClusterId",
            f"HsmClusterId {cluster[:64]!r} does not exist; OpenKMS has only the shared cluster.",
        )
