"""The composition root: config -> root of trust -> store -> services -> ASGI application.

No module-level state: tests build as many independent servers as they like.
"""

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from openkms.api.actions.registry import Services
from openkms.api.asgi import ApiApp, Receive, Scope, Send
from openkms.api.protocol import ApiProtocol
from openkms.auth.credentials import CredentialService
from openkms.clock import Clock, SystemClock
from openkms.config import CONFIG_ENVIRONMENT_VARIABLE, Config
from openkms.service.changes import ChangeFeed
from openkms.service.crypto_ops import CryptoService
from openkms.service.keyring import KeyRing
from openkms.service.keys import KeyService
from openkms.store.sql import SqlStore
from openkms.store.sqlite import open_sqlite_store
from openkms.trust.keyfile import MasterKeyFile

CHANGE_LOG_RETENTION_SECONDS = 3600
log = logging.getLogger("openkms")


@dataclass
class Runtime:
    config: Config
    clock: Clock
    store: SqlStore
    keys: KeyService
    crypto: CryptoService
    credentials: CredentialService

    def close(self) -> None:
        self.store.close()


def prepare_data_dir(config: Config) -> None:
    config.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)


def build_runtime(config: Config, clock: Clock | None = None) -> Runtime:
    clock = clock or SystemClock()
    prepare_data_dir(config)
    trust = MasterKeyFile.open_or_create(config.master_key_path)
    store = open_sqlite_store(config.database_path, clock.now)
    feed = ChangeFeed(store)
    ring = KeyRing(store, trust, clock, feed)
    return Runtime(
        config=config,
        clock=clock,
        store=store,
        keys=KeyService(store, trust, ring, clock),
        crypto=CryptoService(ring),
        credentials=CredentialService(store, trust, clock, feed),
    )


def ensure_first_credential(runtime: Runtime) -> bool:
    """On a new data folder, create a credential and write it to a 0600 file; True if it did."""
    path = runtime.config.first_credential_path
    if runtime.credentials.list() or path.exists():
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
        services = Services(runtime.keys, runtime.crypto, runtime.credentials, runtime.config.regions)
        protocol = ApiProtocol(services, runtime.credentials.secret_for, runtime.clock, runtime.config.regions)
        self._api = ApiApp(protocol)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._api(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        message = await receive()
        assert message["type"] == "lifespan.startup"
        async with self._background():
            await send({"type": "lifespan.startup.complete"})
            message = await receive()
        self.runtime.close()
        await send({"type": "lifespan.shutdown.complete"})

    @contextlib.asynccontextmanager
    async def _background(self) -> AsyncIterator[None]:
        task = asyncio.create_task(self._purge_loop())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _purge_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                purged = await loop.run_in_executor(None, self.runtime.keys.purge_due)
                if purged:
                    log.info("destroyed %d keys whose deletion window had passed", purged)
                older_than = int(self.runtime.clock.now()) - CHANGE_LOG_RETENTION_SECONDS
                await loop.run_in_executor(None, self.runtime.store.prune_changes, older_than)
            except Exception:
                log.exception("background deletion task failed; retrying at the next interval")
            await asyncio.sleep(self.runtime.config.purge_interval_seconds)


def create_app(config: Config, clock: Clock | None = None) -> OpenKmsApp:
    return OpenKmsApp(build_runtime(config, clock))


def app_from_environment() -> Any:
    """The factory uvicorn's worker processes call; the parent passes the config in the environment."""
    return create_app(Config.from_json(os.environ[CONFIG_ENVIRONMENT_VARIABLE]))
