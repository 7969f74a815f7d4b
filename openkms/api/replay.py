"""Replayed requests, refused whichever server process they reach.

The SDKs sign only `content-type;host` of a TC3 request, so its action, region and version are not
covered by its signature: a captured request could be sent again within its 300 s as another action
(a DescribeKey as a DisableKey) or in another region; a request sent with `X-TC-Content-SHA256:
UNSIGNED-PAYLOAD` leaves its body out too. Each accepted TC3 signature is remembered with the
action, region and version it came with (and the body's digest, when the body was not signed), and
where from; the same signature with any other is refused, unless it comes from the same address
within REUSE_SECONDS of the first: the SDKs sign with a one-second timestamp, so one client's
DescribeKey and DisableKey of one key in the same second carry the same signature, and are not a
replay. An identical replay within the window is served, as Tencent Cloud serves it. A v1 signature
covers every parameter, its Nonce included, so a v1 request is refused the second time, except from
the same address within REUSE_SECONDS: an SDK that draws its Nonce from a small range (Node.js:
0-65535) signs two identical requests made in one second identically.

Requests arriving in one turn of the event loop are remembered together, in one transaction.
"""

import asyncio
import logging
import time
from dataclasses import dataclass

from openkms.api.errors import ApiError
from openkms.store.signatures import Recorded, SignatureMemory, SignatureMemoryBusy

log = logging.getLogger("openkms.api")
REUSE_SECONDS = 2.0
"""How long after a signature's first use its client may use it again for another request (see above)."""
BUSY_RETRY_SECONDS = 0.001
BUSY_LIMIT_SECONDS = 1.0
UNAVAILABLE = "UnsupportedOperation.ServiceTemporaryUnavailable"


@dataclass(frozen=True)
class SignatureUse:
    signature: str
    request: str
    """What the signature was used for: action, region and version (TC3), or this request's id (v1)."""
    expires: int
    """When the signature's timestamp leaves the validity window: it cannot be replayed after."""
    repeatable: bool
    """True for TC3: the same signature with the same request is allowed again."""
    source: str
    seen: float
    """When the server received it (Unix seconds)."""

    def allowed_after(self, first: Recorded | None) -> bool:
        """Whether this use may follow the recorded first use of its signature (None: this is it)."""
        if first is None:
            return True
        request, source, seen_ms = first
        if request == self.request:
            return True  # this use is the first (v1 requests are told apart by their own id), or identical
        # The SDKs sign one-second timestamps: within a moment, the client that first used a signature
        # makes it again for a request of its own (TC3: another action with the same body; v1: the same
        # request drawing the same Nonce, which Node.js draws from 0-65535).
        return source == self.source and self.seen - seen_ms / 1000 <= REUSE_SECONDS


class ReplayGuard:
    def __init__(self, memory: SignatureMemory) -> None:
        self._memory = memory
        self._pending: list[tuple[SignatureUse, asyncio.Future[Recorded | None]]] = []
        self._flush_scheduled = False
        self._busy_since = 0.0

    async def check(self, use: SignatureUse) -> None:
        """Remember the use; ApiError if the signature was used before for something else (or at all, v1)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Recorded | None] = loop.create_future()
        self._pending.append((use, future))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            loop.call_soon(self._flush)
        if use.allowed_after(await future):
            return
        if use.repeatable:
            raise ApiError(
                "AuthFailure.SignatureFailure",
                "This signature was already used for another action, region or version: the request is a replay.",
            )
        raise ApiError("AuthFailure.SignatureFailure", "This signed request was already used: it is a replay.")

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        self._flush_scheduled = False
        if not batch:
            return
        try:
            found = self._memory.remember(
                [(use.signature, use.request, use.source, round(use.seen * 1000), use.expires) for use, _ in batch]
            )
        except SignatureMemoryBusy:
            now = time.monotonic()
            self._busy_since = self._busy_since or now
            if now - self._busy_since < BUSY_LIMIT_SECONDS:
                self._pending[:0] = batch
                self._flush_scheduled = True
                asyncio.get_running_loop().call_later(BUSY_RETRY_SECONDS, self._flush)
                return
            self._fail(batch, "the signature memory stayed locked by another process")
            return
        except Exception:
            log.exception("could not remember %d request signatures", len(batch))
            self._fail(batch, "the signature memory could not be written")
            return
        self._busy_since = 0.0
        for use, future in batch:
            if not future.done():
                future.set_result(found.get(use.signature))

    def _fail(self, batch: list[tuple[SignatureUse, "asyncio.Future[Recorded | None]"]], why: str) -> None:
        self._busy_since = 0.0
        error = ApiError(UNAVAILABLE, f"The server cannot check requests for replays right now ({why}); retry.")
        for _, future in batch:
            if not future.done():
                future.set_exception(error)
