"""Request signatures as the Tencent Cloud SDKs make them: TC3-HMAC-SHA256 and the older v1
(HmacSHA1, HmacSHA256). Comparison is constant-time; the secret is looked up only after the request
is known to be well formed and fresh."""

import base64
import functools
import hashlib
import hmac
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from openkms.api.errors import ApiError
from openkms.auth.policy import PolicySet
from openkms.crypto.secret import SecretBytes
from openkms.domain.limits import TIMESTAMP_SKEW_SECONDS

SERVICE = "kms"
TC3_ALGORITHM = "TC3-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
DEFAULT_PORTS = (80, 443)
TENCENT_API_DOMAINS = (".tencentcloudapi.com", ".tencentcloudapi.woa.com")
_AUTHORIZATION = re.compile(
    r"TC3-HMAC-SHA256 +Credential=(?P<id>[^/,\s]+)/(?P<date>\d{4}-\d{2}-\d{2})/(?P<service>[^/,\s]+)/tc3_request"
    r" *, *SignedHeaders=(?P<headers>[a-z0-9;_-]+) *, *Signature=(?P<sig>[0-9a-f]{64})"
)


class Access(Protocol):
    """A credential as the signature check finds it: whose it is, its SecretKey, what it may do."""

    @property
    def account(self) -> str: ...

    @property
    def secret_key(self) -> SecretBytes: ...

    @property
    def policies(self) -> PolicySet: ...


SecretLookup = Callable[[str], Access | None]
"""SecretId -> the credential, or None for an unknown SecretId."""


@dataclass(frozen=True)
class Principal:
    """Who signed a request; equal principals are the same credential, whatever request they signed."""

    account: str
    secret_id: str
    signature: str = field(default="", compare=False)
    """The request's signature, as sent: what the replay memory remembers."""
    timestamp: int = field(default=0, compare=False)
    access: Access | None = field(default=None, compare=False, repr=False)
    """The credential the verifier found (it holds the SecretKey: never shown)."""

    @property
    def credential(self) -> Access:
        if self.access is None:
            raise LookupError("this principal was not made by a signature check")
        return self.access


def _invalid_authorization(detail: str) -> ApiError:
    return ApiError("AuthFailure.InvalidAuthorization", f"The Authorization header is malformed: {detail}.")


def _check_timestamp(raw: str | None, now: float) -> int:
    if raw is None:
        raise ApiError("MissingParameter", "The request has no timestamp (X-TC-Timestamp header or Timestamp).")
    try:
        timestamp = int(raw)
    except ValueError:
        raise ApiError("InvalidParameter", f"The timestamp must be Unix seconds; got {raw[:32]!r}.") from None
    if abs(now - timestamp) > TIMESTAMP_SKEW_SECONDS:
        raise ApiError(
            "AuthFailure.SignatureExpire",
            f"The request was signed at {timestamp}, more than {TIMESTAMP_SKEW_SECONDS} s from the server's time "
            f"{int(now)}; check the client's clock.",
        )
    return timestamp


def _lookup(secrets: SecretLookup, secret_id: str) -> Access:
    found = secrets(secret_id)
    if found is None:
        raise ApiError("AuthFailure.SecretIdNotFound", f"SecretId {secret_id[:64]} does not exist or was deleted.")
    return found


def _hmac_sha256(key: bytes, message: str) -> bytes:
    return hmac.digest(key, message.encode(), "sha256")


@functools.lru_cache(maxsize=4096)
def signing_key(secret_key: bytes, date: str, service: str = SERVICE) -> bytes:
    """The TC3 signing key of a SecretKey for one day; memoised, as every request that day derives it."""
    k_date = hmac.digest(b"TC3" + secret_key, date.encode(), "sha256")
    return _hmac_sha256(_hmac_sha256(k_date, service), "tc3_request")


def _without_port(host: str) -> str:
    if host.startswith("["):  # [IPv6]:port
        return host[: host.index("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _signed_hosts(host: str) -> Iterator[str]:
    """The host a v1 request may have been signed with: as sent; without its port; or, where the client
    left a default port out of the Host header, with it (the SDKs sign their endpoint, port and all)."""
    yield host
    bare = _without_port(host)
    if bare != host:
        yield bare
    else:
        yield from (f"{host}:{port}" for port in DEFAULT_PORTS)


def accepted_services(host: str) -> tuple[str, ...]:
    """The services a credential scope may name: `kms`, or what an SDK that takes the service from its
    endpoint's first dot-separated label (Node.js, Java) derives from the host it connected to: "127"
    for 127.0.0.1:8300, "localhost:8300" for localhost:8300, "localhost:80" for an endpoint
    localhost:80 (whose Host header drops the default port). Never the name of another Tencent Cloud
    service: a request signed for one (cvm.tencentcloudapi.com, say) is not a KMS request."""
    if not host or _without_port(host).lower().endswith(TENCENT_API_DOMAINS):
        return (SERVICE,)
    label = _without_port(host).split(".", 1)[0]
    return (SERVICE, host.split(".", 1)[0], label, *(f"{label}:{port}" for port in DEFAULT_PORTS))


def _signed_values(signed: list[str], headers: Mapping[str, str]) -> Iterator[list[str]]:
    """The values of the signed headers as a client may have signed them: verbatim (the SDKs) or
    lowercased (the documented algorithm); and the Host as sent or without its port (the Node.js SDK
    signs its endpoint's host name but sends `Host: name:port`)."""
    verbatim = [headers[name].strip() for name in signed]
    yield verbatim  # what every SDK but Node.js signs: the others are built only when it fails
    variants = [verbatim]
    if "host" in signed:
        host_at = signed.index("host")
        bare = _without_port(verbatim[host_at])
        if bare != verbatim[host_at]:
            variants.append([bare if i == host_at else v for i, v in enumerate(verbatim)])
            yield variants[-1]
    for values in variants:
        lowered = [v.lower() for v in values]
        if lowered not in variants:
            yield lowered


@functools.lru_cache(maxsize=1024)
def _utc_date(timestamp: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(timestamp))


@dataclass(frozen=True)
class Tc3Authorization:
    """An Authorization header of the form the SDKs send, parsed once."""

    secret_id: str
    date: str
    service: str
    signed_headers: str
    signature: str


def parse_tc3(authorization: str) -> Tc3Authorization:
    match = _AUTHORIZATION.fullmatch(authorization.strip())
    if match is None:
        raise _invalid_authorization(
            "expected 'TC3-HMAC-SHA256 Credential=<SecretId>/<date>/kms/tc3_request, "
            "SignedHeaders=content-type;host, Signature=<64 hex digits>'"
        )
    return Tc3Authorization(match["id"], match["date"], match["service"], match["headers"], match["sig"])


def verify_tc3(
    authorization: str | Tc3Authorization,
    method: str,
    headers: Mapping[str, str],
    raw_query: str,
    body: bytes,
    secrets: SecretLookup,
    now: float,
) -> Principal:
    """Check a TC3-HMAC-SHA256 request; `headers` are keyed by lowercase name, values as received."""
    parsed = parse_tc3(authorization) if isinstance(authorization, str) else authorization
    service = parsed.service
    host = headers.get("host", "")
    if service != SERVICE and service not in accepted_services(host):  # the SDKs' own scope, checked first
        raise _invalid_authorization(
            f"the credential scope names service {service[:64]!r}, not 'kms' (nor the first label of the Host)"
        )
    signed = parsed.signed_headers.split(";")
    if "content-type" not in signed or "host" not in signed:
        raise _invalid_authorization("SignedHeaders must include content-type and host")
    missing = [name for name in signed if name not in headers]
    if missing:
        raise _invalid_authorization(f"the signed header {missing[0]} is not in the request")
    timestamp = _check_timestamp(headers.get("x-tc-timestamp"), now)
    date = parsed.date
    if _utc_date(timestamp) != date:
        raise ApiError(
            "AuthFailure.SignatureFailure", f"The credential date {date} is not the UTC date of X-TC-Timestamp."
        )
    access = _lookup(secrets, parsed.secret_id)

    if headers.get("x-tc-content-sha256") == UNSIGNED_PAYLOAD:
        payload_hash = hashlib.sha256(UNSIGNED_PAYLOAD.encode()).hexdigest()
    else:
        payload_hash = hashlib.sha256(b"" if method == "GET" else body).hexdigest()
    query = raw_query if method == "GET" else ""
    k_signing = signing_key(access.secret_key.reveal(), date, service)
    scope = f"{date}/{service}/tc3_request"
    expected_signature = parsed.signature.encode()

    for values in _signed_values(signed, headers):
        canonical_headers = "".join(f"{name}:{value}\n" for name, value in zip(signed, values, strict=True))
        canonical_request = f"{method}\n/\n{query}\n{canonical_headers}\n{parsed.signed_headers}\n{payload_hash}"
        digest = hashlib.sha256(canonical_request.encode()).hexdigest()
        string_to_sign = f"{TC3_ALGORITHM}\n{timestamp}\n{scope}\n{digest}"
        signature = hmac.digest(k_signing, string_to_sign.encode(), "sha256").hex().encode()
        if hmac.compare_digest(signature, expected_signature):
            return Principal(access.account, parsed.secret_id, parsed.signature, timestamp, access)
    raise ApiError(
        "AuthFailure.SignatureFailure",
        "The signature does not match: check the SecretKey, and that the request was not changed after signing.",
    )


V1_METHODS = {"HmacSHA1": "sha1", "HmacSHA256": "sha256"}


def verify_v1(method: str, host: str, params: Mapping[str, str], secrets: SecretLookup, now: float) -> Principal:
    """Check a v1 request; `params` are every decoded form or query field, Signature included."""
    secret_id = params.get("SecretId")
    signature = params.get("Signature")
    if not secret_id or not signature:
        raise ApiError(
            "AuthFailure.InvalidAuthorization",
            "The request is not signed: send a TC3-HMAC-SHA256 Authorization header, or SecretId and Signature.",
        )
    sign_method = params.get("SignatureMethod") or "HmacSHA1"
    if sign_method not in V1_METHODS:
        raise ApiError("InvalidParameterValue", f"SignatureMethod must be HmacSHA1 or HmacSHA256; got {sign_method!r}.")
    timestamp = _check_timestamp(params.get("Timestamp"), now)
    if not params.get("Nonce"):
        raise ApiError("MissingParameter", "The required parameter Nonce is missing.")
    access = _lookup(secrets, secret_id)
    secret_key = access.secret_key.reveal()
    signed = {k.replace("_", "."): v for k, v in params.items() if k != "Signature"}
    query = "&".join(f"{k}={signed[k]}" for k in sorted(signed))
    for signed_host in _signed_hosts(host):
        text = f"{method}{signed_host}/?{query}"
        expected = base64.b64encode(hmac.digest(secret_key, text.encode(), V1_METHODS[sign_method]))
        if hmac.compare_digest(expected, signature.encode()):
            return Principal(access.account, secret_id, signature, timestamp, access)
    raise ApiError(
        "AuthFailure.SignatureFailure",
        "The signature does not match: check the SecretKey, and that the request was not changed after signing.",
    )
