"""One API request from bytes to response fields: envelope, signature, rate limit, parameters,
authorization, dispatch, and its audit event.

Synchronous and free of ASGI details so it runs in a worker thread and can be tested directly.
"""

import functools
import hashlib
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qsl

import orjson

from openkms.api import schema
from openkms.api.actions.registry import Services
from openkms.api.actions.table import ACTIONS
from openkms.api.errors import INTERNAL_ERROR, INTERNAL_MESSAGE, ApiError, code_for
from openkms.api.ratelimit import FailureLimiter, RateLimiter
from openkms.api.replay import SignatureUse
from openkms.api.resources import key_ids_in, key_ids_of, resources_of
from openkms.api.signature import UNSIGNED_PAYLOAD, Principal, verify_tc3, verify_v1
from openkms.audit.events import AuditEvent
from openkms.auth.policy import PolicySet
from openkms.crypto.aead import unique_bytes
from openkms.crypto.secret import SecretBytes
from openkms.domain.clock import Clock
from openkms.domain.errors import KmsError, Unauthorized
from openkms.domain.limits import TIMESTAMP_SKEW_SECONDS, request_cost
from openkms.domain.models import Caller

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
AUDIT_DOWN = "UnsupportedOperation.ServiceTemporaryUnavailable"
SUCCESS = "Success"
_CLAIMED_SECRET_ID = re.compile(r"Credential=([^/,\s]{1,128})/")

log = logging.getLogger("openkms.api")


class Access(Protocol):
    @property
    def account(self) -> str: ...

    @property
    def secret_key(self) -> SecretBytes: ...

    @property
    def policies(self) -> PolicySet: ...


class Credentials(Protocol):
    def access(self, secret_id: str) -> Access | None: ...


class AuditState(Protocol):
    @property
    def fail_closed(self) -> bool: ...

    @property
    def available(self) -> bool: ...


@dataclass(frozen=True)
class HttpRequest:
    method: str
    headers: Mapping[str, str]
    """Keyed by lowercase name; values as received."""
    raw_query: str
    body: bytes
    source: str = ""


@dataclass(frozen=True)
class Outcome:
    request_id: str
    action: str
    fields: dict[str, Any]
    error_code: str | None = None


@dataclass(frozen=True)
class _Envelope:
    action: str
    region: str | None
    params: dict[str, Any]
    form: bool
    principal: Principal
    policies: PolicySet
    signature: SignatureUse


def new_request_id() -> str:
    """A random (version 4) UUID as text, like Tencent's RequestIds, without uuid.uuid4's system call."""
    raw = bytearray(unique_bytes(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    text = raw.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


@dataclass
class _Exchange:
    """What the audit event will say about a request, filled in as the request is understood."""

    source: str = ""
    request_id: str = field(default_factory=new_request_id)
    started: float = field(default_factory=time.perf_counter)
    action: str = "?"
    account: str = ""
    secret_id: str = ""
    key_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Prepared:
    """A request after its checks: either an answer already (a refusal) or a call ready to run."""

    exchange: _Exchange
    call: Callable[[], dict[str, Any]] | None = None
    outcome: Outcome | None = None
    inline: bool = True
    """False when the call may block (writes, scans): it then runs in a worker thread."""
    recorded: bool = True
    signature: SignatureUse | None = None
    """To be checked against replays (asynchronously, api/replay.py) before the call runs."""


class ApiProtocol:
    def __init__(
        self,
        services: Services,
        credentials: Credentials,
        clock: Clock,
        regions: Sequence[str],
        limiter: RateLimiter,
        audit: AuditState,
        failures: FailureLimiter | None = None,
    ) -> None:
        """`failures` limits, per source address, the requests that fail authentication."""
        self._services = services
        self._credentials = credentials
        self._clock = clock
        self._regions = tuple(regions)
        self._limiter = limiter
        self._audit = audit
        self._failures = failures

    def prepare(self, request: HttpRequest) -> "Prepared":
        """Everything before the action runs: envelope, signature, limits, parameters, authorization.
        Cheap and free of disk writes, so it runs on the event loop."""
        exchange = _Exchange(source=request.source)
        if self._audit.fail_closed and not self._audit.available:
            refusal = "The audit log cannot be written, so this server answers no requests."
            return Prepared(exchange, outcome=_error(exchange, AUDIT_DOWN, refusal), recorded=False)
        if self._failures is not None and self._failures.blocked(request.source):
            refusal = f"Too many requests from {request.source} failed authentication; slow down and retry."
            return Prepared(exchange, outcome=_error(exchange, "RequestLimitExceeded", refusal))
        try:
            return self._checked(request, exchange)
        except Exception as exc:
            if not exchange.account and self._failures is not None:
                self._failures.failed(request.source)
            return Prepared(exchange, outcome=self._failure(exc, exchange))

    def run(self, prepared: "Prepared") -> tuple[Outcome, AuditEvent | None]:
        """Run the prepared action (if it got that far); the answer and the audit event to record first."""
        exchange = prepared.exchange
        outcome = prepared.outcome
        if outcome is None:
            assert prepared.call is not None
            try:
                fields = prepared.call()
                outcome = Outcome(exchange.request_id, exchange.action, fields)
                exchange.key_ids = exchange.key_ids or key_ids_in(fields)
            except Exception as exc:
                outcome = self._failure(exc, exchange)
        return outcome, self._event(outcome, exchange) if prepared.recorded else None

    @staticmethod
    def _failure(exc: Exception, exchange: "_Exchange") -> Outcome:
        if isinstance(exc, ApiError):
            return _error(exchange, exc.code, exc.message)
        if isinstance(exc, KmsError):
            return _error(exchange, code_for(exc), str(exc))
        log.exception("internal error in %s, RequestId %s", exchange.action, exchange.request_id)
        return _error(exchange, INTERNAL_ERROR, INTERNAL_MESSAGE)

    def refuse(self, code: str, message: str, source: str) -> tuple[Outcome, AuditEvent | None]:
        """Answer (and audit) a request refused before it could be read."""
        exchange = _Exchange(source=source)
        outcome = _error(exchange, code, message)
        return outcome, self._event(outcome, exchange)

    @staticmethod
    def unrecorded(outcome: Outcome) -> Outcome:
        """What a fail-closed server answers instead when it could not record the request."""
        message = "The audit log could not record this request; it may have taken effect. Retry later."
        return Outcome(
            outcome.request_id, outcome.action, {"Error": {"Code": AUDIT_DOWN, "Message": message}}, AUDIT_DOWN
        )

    def _event(self, outcome: Outcome, exchange: "_Exchange") -> AuditEvent:
        return AuditEvent.of_request(
            time=self._clock.now(),
            request_id=exchange.request_id,
            account=exchange.account,
            secret_id=exchange.secret_id,
            source=exchange.source,
            action=exchange.action,
            key_ids=exchange.key_ids,
            code=outcome.error_code or SUCCESS,
            latency_ms=(time.perf_counter() - exchange.started) * 1000,
        )

    def _checked(self, request: HttpRequest, exchange: "_Exchange") -> "Prepared":
        envelope = self._open(request, exchange)
        principal = envelope.principal
        if not self._limiter.allow(principal.account, envelope.action, request_cost(envelope.action, envelope.params)):
            raise ApiError(
                "RequestLimitExceeded",
                f"Too many {self._limiter.group_of(envelope.action)} requests for this account; slow down and retry.",
            )
        region = envelope.region or self._regions[0]
        if region not in self._regions:
            raise ApiError(
                "UnsupportedRegion", f"Region {region[:64]!r} is not served here; served: {', '.join(self._regions)}."
            )
        action = ACTIONS.get(envelope.action)
        if action is None:
            raise ApiError(
                "UnsupportedOperation", f"{envelope.action} is a KMS action this server does not implement yet."
            )
        params = schema.check_params(envelope.action, envelope.params, envelope.form)
        _refuse_absent_features(params)
        caller = Caller(principal.account, region)
        exchange.key_ids = key_ids_in(params)
        call = functools.partial(action.handler, self._services, caller, params)
        if not envelope.policies.unrestricted:
            call = functools.partial(self._authorized, call, envelope, caller, params, exchange)
        return Prepared(exchange, call=call, inline=action.runs_on_loop(params), signature=envelope.signature)

    @staticmethod
    def refused(prepared: "Prepared", error: ApiError) -> "Prepared":
        """The prepared request, answered with `error` instead of run."""
        return Prepared(prepared.exchange, outcome=_error(prepared.exchange, error.code, error.message))

    def _authorized(
        self,
        call: Callable[[], dict[str, Any]],
        envelope: _Envelope,
        caller: Caller,
        params: dict[str, Any],
        exchange: _Exchange,
    ) -> dict[str, Any]:
        """Check the credential's policies against every resource the request touches, then run it.
        Runs where the action runs: finding a hosted data key's CMK reads the store."""
        resources = resources_of(envelope.action, caller, params, self._services.data_keys.owner)
        exchange.key_ids = key_ids_of(resources)
        denial = envelope.policies.denial(f"kms:{envelope.action}", resources)
        if denial is not None:
            raise Unauthorized(f"Credential {envelope.principal.secret_id} may not do this: {denial}.")
        return call()

    def _open(self, request: HttpRequest, exchange: _Exchange) -> _Envelope:
        if request.method not in ("GET", "POST"):
            raise ApiError("UnsupportedProtocol", f"HTTP method {request.method} is not supported; use POST or GET.")
        authorization = request.headers.get("authorization")
        now = self._clock.now()
        found: list[Access] = []

        def secret_for(secret_id: str) -> tuple[str, bytes] | None:
            access = self._credentials.access(secret_id)
            if access is None:
                return None
            found.append(access)
            return access.account, access.secret_key.reveal()

        if authorization is not None:
            _refuse_token(request.headers.get("x-tc-token"))
            claimed = _CLAIMED_SECRET_ID.search(authorization)
            exchange.secret_id = claimed.group(1) if claimed else ""
            exchange.action = _action(request.headers.get("x-tc-action"), "X-TC-Action header")
            _check_version(request.headers.get("x-tc-version"), "X-TC-Version header")
            principal = verify_tc3(
                authorization,
                request.method,
                request.headers,
                request.raw_query,
                request.body,
                secret_for,
                now,
            )
            exchange.account = principal.account  # authenticated: what fails from here is the caller's
            params, form = _tc3_params(request)
            region = request.headers.get("x-tc-region")
            used_for = f"{exchange.action}|{region or ''}|{request.headers.get('x-tc-version')}"
            if request.headers.get("x-tc-content-sha256") == UNSIGNED_PAYLOAD:
                # The signature does not cover this body: the body is part of what the signature was used for.
                used_for += f"|{hashlib.sha256(request.body).hexdigest()}"
            expires = principal.timestamp + TIMESTAMP_SKEW_SECONDS
            use = SignatureUse(f"tc3:{principal.signature}", used_for, expires, True, request.source, now)
        else:
            fields = dict(_form_pairs(_v1_text(request)))
            _refuse_token(fields.get("Token"))
            exchange.secret_id = fields.get("SecretId", "")[:128]
            exchange.action = _action(fields.get("Action"), "parameter Action")
            _check_version(fields.get("Version"), "parameter Version")
            principal = verify_v1(request.method, request.headers.get("host", ""), fields, secret_for, now)
            exchange.account = principal.account
            expires = principal.timestamp + TIMESTAMP_SKEW_SECONDS
            use = SignatureUse(f"v1:{principal.signature}", exchange.request_id, expires, False, request.source, now)
            region = fields.get("Region")
            params = schema.unflatten([(k, v) for k, v in fields.items() if k not in V1_COMMON_PARAMS])
            form = True
        return _Envelope(exchange.action, region, params, form, principal, found[-1].policies, use)


def _refuse_token(token: str | None) -> None:
    """Temporary credentials (STS tokens) are Tencent Cloud CAM's; OpenKMS issues none, so a request
    made with one is refused plainly rather than served as if the token had been checked."""
    if token:
        raise ApiError(
            "AuthFailure.TokenFailure",
            "OpenKMS issues no temporary credentials, so it cannot check this token (X-TC-Token or Token): "
            "sign with a permanent SecretId and SecretKey, and send no token.",
        )


def _error(exchange: _Exchange, code: str, message: str) -> Outcome:
    return Outcome(exchange.request_id, exchange.action, {"Error": {"Code": code, "Message": message}}, code)


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
