"""The ASGI application a server runs: the API pipeline, the operator routes (/healthz, /readyz), and
the work that runs beside them while the server is up (maintenance, repeated-failure records, the
audit anchor, the soundness check, the key preload)."""

import asyncio
import contextlib
import gc
import logging
import os
import threading
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
from prometheus_client import start_http_server

from openkms.api.actions.registry import Services
from openkms.api.asgi import Receive, Scope, Send
from openkms.api.pipeline import Pipeline
from openkms.api.ratelimit import RateLimiter
from openkms.api.recording import Recorder
from openkms.api.replay import ReplayGuard
from openkms.config.rates import RateConfig
from openkms.config.values import CONFIG_ENVIRONMENT_VARIABLE, Config
from openkms.domain.clock import Clock
from openkms.server.console import Console
from openkms.server.observability import Observed, Observer
from openkms.server.runtime import Runtime, build_runtime, open_audit_log, open_signature_memory

log = logging.getLogger("openkms")
BLOCKING_THREADS = 32
SOUNDNESS_CHECK_SECONDS = 3600.0
"""How often a running server runs SQLite's quick_check of its store (and at every start)."""


class OpenKmsApp:
    """The ASGI application: the API, plus the background work that runs while the server is up."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.audit = open_audit_log(runtime)
        config = runtime.config
        limiter = RateLimiter(RateConfig.parse(list(config.rate_limit)), processes=config.workers)
        services = Services(
            keys=runtime.keys,
            crypto=runtime.crypto,
            rotation=runtime.rotation,
            imports=runtime.imports,
            data_keys=runtime.data_keys,
            asymmetric=runtime.asymmetric,
            whitebox=runtime.whitebox,
            cloud_resources=runtime.cloud_resources,
            grants=runtime.grants,
            mac=runtime.mac,
            audit=self.audit,
            regions=runtime.config.region,
            qps=limiter.account_rate("Encrypt") or 0,
        )
        self.observer = Observer(Observed(runtime.store, runtime.trust, runtime.ring, runtime.maintenance, self.audit))
        self.signatures = open_signature_memory(config)
        self._next_soundness_check = time.monotonic() + SOUNDNESS_CHECK_SECONDS  # checked at start-up
        self._api = Pipeline(
            services,
            runtime.credentials.access,
            runtime.clock,
            config.region,
            limiter,
            limiter.failure_limiter(),
            ReplayGuard(self.signatures),
            Recorder(self.audit, runtime.clock, self.observer.request_finished),
            int(config.aws_listen.rpartition(":")[2] or 0),
        )
        self._console = Console() if config.console == "on" else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            if scope["method"] in ("GET", "HEAD") and (path == "/console" or path.startswith("/console/")):
                if self._console is None:
                    await _plain(send, 404, b"the console is off (openkms serve --console on)\n", b"text/plain")
                else:
                    await self._console.serve(scope["path"], send, head=scope["method"] == "HEAD")
                return
            route = OPERATOR_ROUTES.get(scope["path"]) if scope["method"] == "GET" else None
            if route is None:
                await self._api(scope, receive, send)
            else:
                await route(self, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _healthz(self, send: Send) -> None:
        await _plain(send, 200, b'{"status":"ok"}', b"application/json")

    async def _readyz(self, send: Send) -> None:
        problems = await asyncio.get_running_loop().run_in_executor(None, self.observer.readiness)
        body = orjson.dumps({"status": "unready", "problems": problems} if problems else {"status": "ready"})
        await _plain(send, 503 if problems else 200, body, b"application/json")

    async def _metrics(self, send: Send) -> None:
        # Never on the API port: metrics describe every account, and anyone can reach the API port.
        await _plain(send, 404, b"metrics are served only on --metrics-listen\n", b"text/plain")

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        message = await receive()
        assert message["type"] == "lifespan.startup"
        # Blocking actions (writes, scans) run on these threads; concurrent CreateKeys of one process
        # share commits (store GroupCommit), so more threads waiting means fewer fsyncs, not more work.
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(max_workers=BLOCKING_THREADS, thread_name_prefix="openkms-blocking")
        )
        # Reads on the event loop must not write: what they find due is destroyed on this thread instead.
        destroyer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="openkms-due")
        self.runtime.due.hand_to(destroyer)
        if self.runtime.config.metrics_listen:
            host, _, port = self.runtime.config.metrics_listen.rpartition(":")
            start_http_server(int(port), host.strip("[]") or "127.0.0.1", registry=self.observer.registry)
        async with self._background():
            await send({"type": "lifespan.startup.complete"})
            message = await receive()
        self.runtime.due.hand_to(None)
        destroyer.shutdown(wait=True)
        await asyncio.get_running_loop().run_in_executor(None, self._anchor_audit_log)
        self.audit.close()
        self.signatures.close()
        self.runtime.close()
        await send({"type": "lifespan.shutdown.complete"})

    @contextlib.asynccontextmanager
    async def _background(self) -> AsyncIterator[None]:
        task = asyncio.create_task(self._maintenance_loop())
        repeats = asyncio.create_task(self._record_repeated_failures())
        stopping = threading.Event()
        preload = threading.Thread(target=self._preload, args=(stopping,), name="openkms-preload", daemon=True)
        if self.runtime.config.key_cache_preload:
            self.runtime.ring.warming = True
            preload.start()
        try:
            yield
        finally:
            stopping.set()
            for running in (task, repeats):
                running.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await running
            await self._api.recorder.record_repeated_failures(float("inf"))
            if preload.is_alive():
                preload.join()

    def _preload(self, stopping: threading.Event) -> None:
        started = time.monotonic()
        try:
            count = self.runtime.ring.preload(stopping)
            # Millions of long-lived cache objects would otherwise be walked by every full garbage
            # collection; frozen, the collector skips them. Entries are not cyclic, so those evicted
            # later are still freed (by reference counting).
            gc.freeze()
            log.info("key cache preloaded: %d keys in %.1f s", count, time.monotonic() - started)
        except Exception:
            log.exception("could not preload the key cache; keys load on first use")
        finally:
            self.runtime.ring.warming = False

    async def _maintenance_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if time.monotonic() >= self._next_soundness_check:
                await loop.run_in_executor(None, self._check_soundness)
            await loop.run_in_executor(None, self.runtime.maintenance.run_once)
            await loop.run_in_executor(None, self._anchor_audit_log)
            await loop.run_in_executor(None, self._forget_expired_signatures)
            await asyncio.sleep(self.runtime.config.maintenance_interval)

    async def _record_repeated_failures(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            await self._api.recorder.record_repeated_failures(self.runtime.clock.now())

    def _check_soundness(self) -> None:
        """SQLite's quick_check of the store, now and then: a page damaged while the server runs makes
        /readyz say so (and the log), instead of being served as wrong answers."""
        self._next_soundness_check = time.monotonic() + SOUNDNESS_CHECK_SECONDS
        problem = self.runtime.store.soundness_problem()
        if problem is not None and problem != self.runtime.store.damage:
            log.error("%s: stop every server using it and restore it from a backup (openkms restore)", problem)
        self.runtime.store.damage = problem

    def _forget_expired_signatures(self) -> None:
        try:
            self.signatures.forget_expired(int(self.runtime.clock.now()))
        except Exception:
            log.exception("could not forget expired request signatures")

    def _anchor_audit_log(self) -> None:
        try:
            self.audit.anchor(self.runtime.clock.now())
        except Exception:
            log.exception("could not anchor the audit log's head in the key store")


OPERATOR_ROUTES = {
    "/healthz": OpenKmsApp._healthz,
    "/readyz": OpenKmsApp._readyz,
    "/metrics": OpenKmsApp._metrics,
}
"""Not part of the Tencent Cloud API and not signed: health for load balancers (metrics are served only
on --metrics-listen)."""


async def _plain(send: Send, status: int, body: bytes, content_type: bytes) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def create_app(config: Config, clock: Clock | None = None) -> OpenKmsApp:
    return OpenKmsApp(build_runtime(config, clock))


def app_from_environment() -> Any:
    """The factory uvicorn's worker processes call; the parent passes the config in the environment."""
    return create_app(Config.from_json(os.environ[CONFIG_ENVIRONMENT_VARIABLE]))
