"""The composition root: config -> root of trust -> store -> services (server/app.py serves them).

No module-level state: tests build as many independent servers as they like.
"""

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from openkms.admin.rebind import rebinder
from openkms.audit.log import AuditLog
from openkms.auth.credentials import CredentialService
from openkms.config.values import Config, DataFolderError
from openkms.domain.clock import Clock, SystemClock
from openkms.service.asymmetric import AsymmetricService
from openkms.service.cloud_resources import CloudResourceService
from openkms.service.crypto_ops import CryptoService
from openkms.service.data_keys import DataKeyService
from openkms.service.due import DueWork
from openkms.service.grants import GrantService
from openkms.service.key_import import ImportService
from openkms.service.keyring import KeyRing
from openkms.service.keys import CIPHER_OF_STANDARD, KeyService, key_pair_generations
from openkms.service.mac import MacService
from openkms.service.maintenance import Maintenance
from openkms.service.rotation import RotationService
from openkms.service.whitebox import WhiteBoxService
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
    whitebox: WhiteBoxService
    cloud_resources: CloudResourceService
    grants: GrantService
    mac: MacService
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
    ring = KeyRing(store, trust, clock, feed, config.key_cache, config.key_cache_seconds, due)
    generations = key_pair_generations()
    keys = KeyService(
        store, trust, ring, clock, CIPHER_OF_STANDARD[config.crypto_standard], config.cmk_limit, generations
    )
    crypto = CryptoService(ring, generations)
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
        whitebox=WhiteBoxService(store, trust, clock),
        cloud_resources=CloudResourceService(store, trust, ring, clock),
        grants=GrantService(store, ring, clock),
        mac=MacService(ring),
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
