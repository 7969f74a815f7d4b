"""The server's connections under hostile clients: uvicorn's httptools protocol, hardened.

uvicorn has no connection cap (its limit_concurrency answers 503 to everyone once idle sockets fill
it), no deadline for a request's headers or body, and with httptools no bound on header bytes; this
subclass adds the three; at shutdown it gives idle connections a moment to ask a last request, then
closes them (aborting TLS ones, which would wait for the client's close_notify). It relies on
uvicorn's internals (`cycle`, `connections`, the parser callbacks): pyproject pins uvicorn's minor
version, and tests/e2e/test_hostile_clients.py checks each.

Counts are per server process: with --workers N, each enforces its share of the total.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import ipaddress
import logging
import resource
import socket
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState
from uvicorn.supervisors import Multiprocess

from openkms.domain.clients import client_group
from openkms.domain.limits import MAX_HEADER_BYTES

logger = logging.getLogger("openkms.connections")
IDLE_GRACE_SECONDS = 0.5
"""At shutdown, how long an idle connection (or one accepted and not yet asked anything) may still send
a request, to be answered with Connection: close, before it is closed."""


@dataclass(frozen=True)
class ConnectionLimits:
    max_connections: int = 900
    """Open HTTP connections per server process; the excess is closed at once, with no response."""
    max_per_client: int = 64
    """Open connections per client address (per IPv6 /64) in one process; trusted proxies are exempt."""
    max_header_bytes: int = MAX_HEADER_BYTES
    """Request line and headers; a request still unfinished past this gets 431 and is closed."""
    request_seconds: float = 10.0
    """From a connection's opening, or a request's first byte, to the request's last body byte."""
    exempt: tuple[str, ...] = field(default=())
    """Networks (e.g. the trusted proxies) not limited per address."""


_PER_CLIENT: weakref.WeakKeyDictionary[ServerState, collections.Counter[str]] = weakref.WeakKeyDictionary()

_431 = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: 31\r\nconnection: close\r\n\r\nRequest header fields too large"
)


@functools.lru_cache(maxsize=64)
def _exempt_networks(exempt: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    everything = ("0.0.0.0/0", "::/0")  # uvicorn's forwarded_allow_ips accepts "*"
    return tuple(
        ipaddress.ip_network(net, strict=False) for item in exempt for net in (everything if item == "*" else (item,))
    )


def _client_key(transport: asyncio.BaseTransport, exempt: tuple[str, ...]) -> str | None:
    """The address whose connections are counted together, or None when it is not limited."""
    peer = transport.get_extra_info("peername")
    if not isinstance(peer, tuple):  # a Unix socket
        return None
    try:
        address = ipaddress.ip_address(peer[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in network for network in _exempt_networks(exempt)):
        return None
    return client_group(str(address))


class HardenedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        limits: ConnectionLimits = ConnectionLimits(),
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = limits
        self._per_client = _PER_CLIENT.setdefault(server_state, collections.Counter())
        self._client_key: str | None = None
        self._refused = False
        self._header_bytes = 0
        self._tail = b""
        self._awaiting_headers = True
        self._deadline: asyncio.TimerHandle | None = None
        self._requests_begun = 0
        self._draining = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        key = _client_key(transport, self.limits.exempt)
        if len(self.connections) >= self.limits.max_connections or (
            key is not None and self._per_client[key] >= self.limits.max_per_client
        ):
            self._refused = True
            logger.debug("refused a connection from %s", key)
            transport.abort()  # no response, no TLS close_notify wait (uvloop: FIN, or RST if data was unread)
            return
        if key is not None:
            self._client_key = key
            self._per_client[key] += 1
        super().connection_made(transport)
        self._arm_deadline()  # also bounds a connection that never sends a byte

    def connection_lost(self, exc: Exception | None) -> None:
        if self._refused:
            return
        if self._client_key is not None:
            self._per_client[self._client_key] -= 1
            if self._per_client[self._client_key] <= 0:
                del self._per_client[self._client_key]
            self._client_key = None
        self._cancel_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._deadline is None and (self.cycle is None or self.cycle.response_complete):
            self._arm_deadline()  # bytes after a response (even bare CRLFs, which start no message)
        if self._awaiting_headers and self._headers_too_long(data):
            return
        super().data_received(data)

    def _headers_too_long(self, data: bytes) -> bool:
        """Count header bytes before httptools buffers them: llhttp keeps a header value, and uvicorn the URL
        and the header list, without bound. llhttp demands CRLF, so headers end at the first CRLFCRLF."""
        end = (self._tail + data).find(b"\r\n\r\n")
        self._header_bytes += len(data) if end < 0 else end + 4 - len(self._tail)
        self._tail = data[-3:]
        if self._header_bytes <= self.limits.max_header_bytes:
            return False
        logger.debug(
            "closed a connection from %s: headers over %d bytes", self._client_key, self.limits.max_header_bytes
        )
        self._awaiting_headers = False
        self._cancel_deadline()
        self.transport.write(_431)
        self.transport.close()
        return True

    # httptools parser callbacks
    def on_headers_complete(self) -> None:
        self._awaiting_headers, self._header_bytes, self._tail = False, 0, b""
        self._requests_begun += 1
        super().on_headers_complete()
        if self._draining and self.cycle is not None:
            self.cycle.keep_alive = False  # answered, then closed: the server is stopping

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:  # a pipelined request
            self._arm_deadline()

    def on_message_complete(self) -> None:
        self._awaiting_headers = True
        self._cancel_deadline()  # uvicorn's keep-alive timeout takes over once the response is sent
        super().on_message_complete()

    def shutdown(self) -> None:
        self._draining = True
        if self.cycle is None or self.cycle.response_complete:
            # Idle, or accepted and not yet asked anything: a request may be on its way this instant.
            # Closed now, it would meet a reset; given a moment, it is answered with Connection: close.
            begun = self._requests_begun
            self.loop.call_later(IDLE_GRACE_SECONDS, self._close_if_still_idle, begun)
        else:
            super().shutdown()  # answered, then closed

    def _close_if_still_idle(self, begun: int) -> None:
        if self._requests_begun == begun and not self.transport.is_closing():
            self._close_now()

    def _close_now(self) -> None:
        # TLS is aborted: transport.close() would wait up to ssl_shutdown_timeout (30 s) for the
        # client's close_notify, and the server's shutdown waits for connection_lost(). Plain TCP is
        # closed in order (FIN), which a client reusing the connection detects before it writes.
        if self.transport.get_extra_info("ssl_object") is not None:
            self.transport.abort()
        else:
            self.transport.close()

    def _arm_deadline(self) -> None:
        self._cancel_deadline()
        self._deadline = self.loop.call_later(self.limits.request_seconds, self._deadline_expired)

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _deadline_expired(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            logger.debug(
                "closed a connection from %s: request not received within %.0f s",
                self._client_key,
                self.limits.request_seconds,
            )
            # A stalled body: the app's receive() then returns http.disconnect.
            self.transport.abort()


TLS_HANDSHAKE_SECONDS = 10.0
"""A TCP connection that has not finished its TLS handshake is invisible to the protocol (connection_made()
comes after the handshake), so this bounds it; uvloop's and asyncio's default is 60 s."""
TLS_SHUTDOWN_SECONDS = 2.0
"""How long closing a TLS connection waits for the client's close_notify (default 30 s)."""

if TYPE_CHECKING:
    _BaseLoop = asyncio.SelectorEventLoop
else:
    try:  # what uvicorn's loop="auto" picks (uvicorn/loops/auto.py)
        from uvloop import Loop as _BaseLoop
    except ImportError:
        _BaseLoop = asyncio.SelectorEventLoop


class _TlsTimeoutsLoop(_BaseLoop):
    """uvicorn gives create_server() no TLS timeouts: the defaults are 60 s handshake, 30 s shutdown."""

    async def create_server(self, *args: Any, **kwargs: Any) -> asyncio.Server:
        if kwargs.get("ssl") is not None:
            kwargs.setdefault("ssl_handshake_timeout", TLS_HANDSHAKE_SECONDS)
            kwargs.setdefault("ssl_shutdown_timeout", TLS_SHUTDOWN_SECONDS)
        return await super().create_server(*args, **kwargs)


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvicorn's `loop="<module>:new_event_loop"` (an import string, so workers import it too)."""
    return _TlsTimeoutsLoop()


def hardened_protocol(limits: ConnectionLimits) -> type[asyncio.Protocol]:
    """What to pass as uvicorn's `http=`: a partial of a module-level class, so it pickles to workers."""
    return cast("type[asyncio.Protocol]", functools.partial(HardenedHttpToolsProtocol, limits=limits))


OPEN_FILES_KEPT = 256
"""File descriptors not given to client connections: the databases, their journals, logs, the HSM."""


def limits_for(
    total: int, per_address: int, request_seconds: float, workers: int, exempt: tuple[str, ...]
) -> ConnectionLimits:
    """Each process's share of the configured limits; `total` 0 means what the open-file limit allows."""
    open_files = raise_open_file_limit()
    # Files kept for the store, logs and the like; a small limit (256 on some systems) keeps half.
    usable = max(open_files - OPEN_FILES_KEPT, open_files // 2)
    allowed = total or usable
    return ConnectionLimits(
        max_connections=max(1, min(allowed // workers if total else allowed, usable)),
        max_per_client=per_address,
        request_seconds=request_seconds,
        exempt=exempt,
    )


def raise_open_file_limit() -> int:
    """Raise RLIMIT_NOFILE's soft limit to its hard limit (inherited by uvicorn's workers); return it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard
    if hard == resource.RLIM_INFINITY:
        try:
            with open("/proc/sys/fs/nr_open") as nr_open:
                target = int(nr_open.read())
        except OSError:
            target = 1 << 20
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):  # e.g. macOS caps the soft limit at kern.maxfilesperproc
            pass
    return soft


class DrainingSupervisor(Multiprocess):
    """uvicorn's supervisor of worker processes, closing its own copy of the listening socket before it
    stops them. Otherwise the socket stays open in the supervisor while the workers drain: the kernel
    keeps completing handshakes no process will accept, and resets those connections when the
    supervisor exits. Closed first, it is gone once the workers close theirs: a client is refused."""

    def terminate_all(self) -> None:
        for listening in self.sockets:
            listening.close()
        super().terminate_all()


def run_workers(app: str, workers: int, extra_sockets: Sequence[socket.socket] = (), **options: Any) -> None:
    """What `uvicorn.run(app, factory=True, workers=N)` does, with the draining supervisor; every
    worker also accepts on `extra_sockets`."""
    config = Config(app, factory=True, workers=workers, **options)
    DrainingSupervisor(config, sockets=[config.bind_socket(), *extra_sockets]).run()
