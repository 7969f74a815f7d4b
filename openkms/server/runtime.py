"""The composition root: config -> root of trust -> store -> services -> ASGI application.

No module-level state: tests build as many independent servers as they like.
"""

import asyncio
import contextlib
import gc
import json
import logging
import os
import threading
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from prometheus_client import start_http_server

from openkms.admin.rebind import rebinder
from openkms.api.actions.registry import Services
from openkms.api.asgi import Receive, Scope, Send
from openkms.api.pipeline import Pipeline
from openkms.api.ratelimit import RateLimiter
from openkms.api.recording import Recorder
from openkms.api.replay import ReplayGuard
from openkms.audit.log import AuditLog
from openkms.auth.credentials import CredentialService
from openkms.config.rates import RateConfig
from openkms.config.values import CONFIG_ENVIRONMENT_VARIABLE, Config, DataFolderError
from openkms.domain.clock import Clock, SystemClock
from openkms.server.observability import Observed, Observer
from openkms.service.asymmetric import AsymmetricService
from openkms.service.crypto_ops import CryptoService
from openkms.service.data_keys import DataKeyService
from openkms.service.due import DueWork
from openkms.service.key_import import ImportService
from openkms.service.keyring import KeyRing
from openkms.service.keys import CIPHER_OF_STANDARD, KeyService
from openkms.service.maintenance import Maintenance
from openkms.service.rotation import RotationService
from openkms.store.feed import ChangeFeed
from openkms.store.postgres import open_postgres_store, postgres_engine
from openkms.store.schema import RENAMED_COLUMNS
from openkms.store.signatures import SignatureMemory
from openkms.store.sql import SqlStore
from openkms.store.sqlite import check_sound, open_sqlite_store, sqlite_engine
from openkms.store.wrapped import any_wrapped_secret
from openkms.trust import bindings
from openkms.trust.base import RootOfTrust
from openkms.trust.composite import MigratingRootOfTrust
from openkms.trust.keyfile import MasterKeyFileError, MasterKeyRing, wrapped_by

log = logging.getLogger("openkms")
BLOCKING_THREADS = 32
SOUNDNESS_CHECK_SECONDS = 3600.0
"""How often a running server runs SQLite's quick_check of its store (and at every start)."""


@dataclass
class Runtime:
    config: Config
    clock: Clock
    store: SqlStore
    keys: KeyService
    crypto: CryptoService
    rotation: RotationService
    imports: ImportService
    data_keys: DataKeyService
    asymmetric: AsymmetricService
    credentials: CredentialService
    maintenance: Maintenance
    trust: RootOfTrust
    feed: ChangeFeed
    ring: KeyRing
    due: DueWork

    def close(self) -> None:
        self.store.close()


def prepare_data_dir(config: Config) -> None:
    """Make the data folder, and fail at once, clearly, where it cannot be written: SQLite would open
    its files read-only without a word and fail each write later."""
    try:
        config.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        probe = config.data_dir / f".write-probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise DataFolderError(
            f"the data folder {config.data_dir} cannot be written ({exc.strerror}): give the server's account "
            "write access to it and to its files"
        ) from None


def build_runtime(config: Config, clock: Clock | None = None) -> Runtime:
    clock = clock or SystemClock()
    prepare_data_dir(config)
    trust = open_root_of_trust(config)
    store = open_store(config, clock, trust)
    feed = ChangeFeed(store)
    due = DueWork()
    ring = KeyRing(store, trust, clock, feed, config.key_cache_entries, config.key_cache_seconds, due)
    keys = KeyService(store, trust, ring, clock, CIPHER_OF_STANDARD[config.crypto_standard], config.cmk_limit)
    crypto = CryptoService(ring)
    rotation = RotationService(store, trust, ring, clock)
    imports = ImportService(store, trust, ring, clock)
    data_keys = DataKeyService(store, crypto, clock, config.data_key_limit, due)
    return Runtime(
        config=config,
        clock=clock,
        store=store,
        keys=keys,
        crypto=crypto,
        rotation=rotation,
        imports=imports,
        data_keys=data_keys,
        asymmetric=AsymmetricService(ring),
        credentials=CredentialService(store, trust, clock, feed),
        maintenance=Maintenance(store, keys, rotation, imports, data_keys, clock, getattr(trust, "reload", None)),
        trust=trust,
        feed=feed,
        ring=ring,
        due=due,
    )


def open_root_of_trust(config: Config) -> RootOfTrust:
    if config.trust == "keyfile" and not config.master_key_path.exists():
        # A new master key is for a new store only: made beside a store that holds wrapped secrets, it
        # would open none of them, and invite someone to "fix" the folder by wiping the database.
        wrapped_under = stored_master_key_id(config)
        if wrapped_under == "":
            raise MasterKeyFileError(
                f"{config.master_key_path} is missing, and the store holds secrets wrapped by another root of "
                "trust than a master key file (an HSM: start with --trust pkcs11); refusing to make a new one."
            )
        if wrapped_under is not None:
            raise MasterKeyFileError(
                f"{config.master_key_path} is missing, but the store holds secrets wrapped under master key "
                f"{wrapped_under}: restore that file from its backup (nothing decrypts without it); "
                "refusing to make a new one."
            )
    if config.trust == "pkcs11":
        from openkms.trust.pkcs11 import Pkcs11RootOfTrust

        pin = Path(config.pkcs11_pin_file).read_text().strip()
        # The HSM's key is made for a new store, or one moving from the key file (whose secrets the key
        # file still opens); never beside secrets an HSM key wrapped.
        stored = stored_master_key_id(config)
        may_create = stored is None or (stored != "" and config.master_key_path.exists())
        hsm = Pkcs11RootOfTrust(Path(config.pkcs11_module), config.pkcs11_token, pin, may_create=may_create)
        if config.master_key_path.exists():
            # Moving from the key file to the HSM: keep opening what the key file wrapped.
            return MigratingRootOfTrust(hsm, MasterKeyRing(config.data_dir))
        return hsm
    return MasterKeyRing(config.data_dir)


def stored_master_key_id(config: Config) -> str | None:
    """The id of the master key a stored wrapped secret names ("" if it is not a master key file's: an
    HSM's), or None when the store and the audit log hold no wrapped secret: a new folder or database."""
    places = [(w.table, w.column) for w in bindings.WRAPPED_COLUMNS]
    places += list(RENAMED_COLUMNS)  # a store not yet upgraded
    places.append(("audit_meta", "value"))  # the audit log's chain key
    if config.store:
        engines = [postgres_engine(config.store)]
    else:
        engines = [sqlite_engine(path) for path in (config.database_path, config.audit_path) if path.exists()]
    try:
        for engine in engines:
            found = any_wrapped_secret(engine, places)
            if found is not None:
                return wrapped_by(found)
    finally:
        for engine in engines:
            engine.dispose()
    return None


def open_store(config: Config, clock: Clock, trust: RootOfTrust) -> SqlStore:
    if config.store:
        return open_postgres_store(config.store, clock.now, rebinder(trust))
    return open_sqlite_store(config.database_path, clock.now, rebinder(trust))


def open_audit_log(runtime: Runtime) -> AuditLog:
    """The audit log lives beside the keys: audit.db in the data folder, or the same PostgreSQL."""
    config = runtime.config
    engine = postgres_engine(config.store) if config.store else sqlite_engine(config.audit_path)
    if not config.store:
        check_sound(engine, config.audit_path)
    return AuditLog(engine, runtime.trust, config.audit_fail_closed, runtime.store, config.audit_checkpoints_path)


def open_signature_memory(config: Config) -> SignatureMemory:
    """Beside the audit log: a file of its own in the data folder (no fsync: it is only a window's
    worth of signatures), or an unlogged table in the same PostgreSQL."""
    engine = postgres_engine(config.store) if config.store else sqlite_engine(config.signatures_path, synchronous="OFF")
    return SignatureMemory(engine)


def ensure_first_credential(runtime: Runtime) -> bool:
    """On a new data folder, create a credential and write it to a 0600 file; True if it did."""
    path = runtime.config.first_credential_path
    if runtime.credentials.all() or path.exists():
        return False
    credential, secret_key = runtime.credentials.create(runtime.config.account)
    document = {"SecretId": credential.secret_id, "SecretKey": secret_key, "Account": credential.account}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        json.dump(document, file, indent=2)
        file.write("\n")
        file.flush()
        os.fsync(file.fileno())
    return True


class OpenKmsApp:
    """The ASGI application: the API, plus the background work that runs while the server is up."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.audit = open_audit_log(runtime)
        config = runtime.config
        limiter = RateLimiter(RateConfig.parse(list(config.rate_limits)), processes=config.workers)
        services = Services(
            keys=runtime.keys,
            crypto=runtime.crypto,
            rotation=runtime.rotation,
            imports=runtime.imports,
            data_keys=runtime.data_keys,
            asymmetric=runtime.asymmetric,
            regions=runtime.config.regions,
            qps=limiter.account_rate("Encrypt") or 0,
        )
        self.observer = Observer(Observed(runtime.store, runtime.trust, runtime.ring, runtime.maintenance, self.audit))
        self.signatures = open_signature_memory(config)
        self._next_soundness_check = time.monotonic() + SOUNDNESS_CHECK_SECONDS  # checked at start-up
        self._api = Pipeline(
            services,
            runtime.credentials.access,
            runtime.clock,
            config.regions,
            limiter,
            limiter.failure_limiter(),
            ReplayGuard(self.signatures),
            Recorder(self.audit, runtime.clock, self.observer.request_finished),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
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
            await asyncio.sleep(self.runtime.config.maintenance_interval_seconds)

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
