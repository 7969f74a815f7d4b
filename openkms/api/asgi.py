"""The HTTP face of the API: an ASGI application serving POST / and GET /.

Reads at most MAX_REQUEST_BODY_BYTES of body, has ApiProtocol prepare the request on the event loop
(cheap, no disk writes), checks it for replays, runs the action on the loop or in a worker thread (where
the store may block on disk), records it, and always answers HTTP 200 with `Content-Type: application/json`
exactly: the Python SDK ignores error bodies under any other content type.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Protocol

import orjson

from openkms.api.errors import INTERNAL_ERROR, INTERNAL_MESSAGE, ApiError
from openkms.api.messages import DEFAULT_LANGUAGE, localized, requested_language
from openkms.api.protocol import ApiProtocol, HttpRequest, Outcome, new_request_id
from openkms.api.replay import ReplayGuard
from openkms.audit.events import AuditEvent
from openkms.audit.repeats import RepeatedFailures
from openkms.domain.limits import MAX_REQUEST_BODY_BYTES

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

JSON_HEADERS = [(b"content-type", b"application/json")]
log = logging.getLogger("openkms.api")


class BodyTooLarge(Exception):
    pass


async def read_body(receive: Receive, limit: int, declared: str | None) -> bytes:
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def render(outcome: Outcome, language: str = DEFAULT_LANGUAGE) -> bytes:
    fields = outcome.fields
    error = fields.get("Error")
    if error is not None:
        fields = {**fields, "Error": {**error, "Message": localized(error["Code"], error["Message"], language)}}
    return orjson.dumps({"Response": {**fields, "RequestId": outcome.request_id}})


def language_of(request: HttpRequest) -> str:
    """The language of a request's error messages (a v1 request may name it in its form or query)."""
    v1_fields = "" if "authorization" in request.headers else request.raw_query or request.body.decode("latin-1")
    return requested_language(request.headers.get("x-tc-language"), v1_fields)


class AuditWriter(Protocol):
    async def write(self, event: AuditEvent, canonical: bytes) -> bool:
        """Record the event; False if a fail-closed log could not (the answer must then not be sent)."""


Finished = Callable[[AuditEvent, bytes], None]
"""Told of every answered request: its audit event and that event's canonical JSON."""


class ApiApp:
    def __init__(self, protocol: ApiProtocol, audit: AuditWriter, finished: Finished, replays: ReplayGuard) -> None:
        self._protocol = protocol
        self._replays = replays
        self._audit = audit
        self._finished = finished
        self._repeats = RepeatedFailures()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        client = scope.get("client")
        source = str(client[0]) if client else ""
        try:
            body = await read_body(receive, MAX_REQUEST_BODY_BYTES, headers.get("content-length"))
        except BodyTooLarge:
            message = f"The request body exceeds {MAX_REQUEST_BODY_BYTES} bytes."
            outcome, event = self._protocol.refuse("RequestSizeLimitExceeded", message, source)
            language = requested_language(headers.get("x-tc-language"), None)
            await _respond(send, render(await self._recorded(outcome, event), language), close=True)
            return
        query = scope.get("query_string", b"").decode("latin-1")
        request = HttpRequest(scope["method"], headers, query, body, source)
        try:
            prepared = self._protocol.prepare(request)
            if prepared.signature is not None:
                try:
                    await self._replays.check(prepared.signature)
                except ApiError as replayed:
                    prepared = self._protocol.refused(prepared, replayed)
            if prepared.inline:
                outcome, event = self._protocol.run(prepared)
            else:
                outcome, event = await asyncio.get_running_loop().run_in_executor(None, self._protocol.run, prepared)
            outcome = await self._recorded(outcome, event)
        except Exception:  # the protocol maps its own errors; this is a last line of defence
            log.exception("unhandled error")
            outcome = Outcome(new_request_id(), "?", {"Error": {"Code": INTERNAL_ERROR, "Message": INTERNAL_MESSAGE}})
        await _respond(send, render(outcome, language_of(request) if "Error" in outcome.fields else DEFAULT_LANGUAGE))

    async def _recorded(self, outcome: Outcome, event: AuditEvent | None) -> Outcome:
        if event is None:
            return outcome
        if not event.account and not self._repeats.admit(event):
            return outcome  # failed before authentication, changed nothing: counted into one event
        canonical = event.canonical()
        recorded = await self._audit.write(event, canonical)
        self._finished(event, canonical)
        return outcome if recorded else self._protocol.unrecorded(outcome)

    async def record_repeated_failures(self, now: float) -> None:
        """Write the counted events of the repeated-failure windows that have closed."""
        for event in self._repeats.close(now):
            canonical = event.canonical()
            await self._audit.write(event, canonical)
            self._finished(event, canonical)


async def _respond(send: Send, body: bytes, close: bool = False) -> None:
    headers = [*JSON_HEADERS, (b"content-length", str(len(body)).encode())]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
