"""What one request is while the pipeline handles it, and the answer it ends with.

The exchange is filled in as the request is understood (its action, then who signed it, then the keys
it touches), so that the audit event says as much as was known when it was answered or refused.
"""

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from openkms.api.errors import INTERNAL_ERROR, INTERNAL_MESSAGE, ApiError, code_for
from openkms.crypto.aead import unique_bytes
from openkms.domain.errors import KmsError

log = logging.getLogger("openkms.api")


def new_request_id() -> str:
    """A random (version 4) UUID as text, like Tencent's RequestIds, without uuid.uuid4's system call."""
    raw = bytearray(unique_bytes(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    text = raw.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


@dataclass
class Exchange:
    source: str = ""
    request_id: str = field(default_factory=new_request_id)
    started: float = field(default_factory=time.perf_counter)
    action: str = "?"
    account: str = ""
    """Set once the signature verifies: from then on, what fails is the caller's doing."""
    secret_id: str = ""
    key_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outcome:
    request_id: str
    action: str
    fields: dict[str, Any]
    error_code: str | None = None


def answered(exchange: Exchange, fields: dict[str, Any]) -> Outcome:
    return Outcome(exchange.request_id, exchange.action, fields)


def refused(exchange: Exchange, code: str, message: str) -> Outcome:
    return Outcome(exchange.request_id, exchange.action, {"Error": {"Code": code, "Message": message}}, code)


def failed(exc: Exception, exchange: Exchange) -> Outcome:
    """The answer to an error raised anywhere in the pipeline: the API's own code for the API's and the
    domain's errors; InternalError, logged with the request's id and never shown, for anything else."""
    if isinstance(exc, ApiError):
        return refused(exchange, exc.code, exc.message)
    if isinstance(exc, KmsError):
        return refused(exchange, code_for(exc), str(exc))
    log.exception("internal error in %s, RequestId %s", exchange.action, exchange.request_id)
    return refused(exchange, INTERNAL_ERROR, INTERNAL_MESSAGE)
