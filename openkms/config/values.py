"""Server configuration: everything `openkms serve` can be told, with its defaults. Each field is a
setting of the same name (config/settings.py says how it is given: flag, environment, file)."""

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from openkms.domain.limits import DEFAULT_CMK_LIMIT, DEFAULT_DATA_KEY_LIMIT

DEFAULT_DATA_DIR = Path(os.environ.get("OPENKMS_DATA_DIR", "openkms-data"))
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8300
DEFAULT_REGION = "ap-guangzhou"
DEFAULT_ACCOUNT = "100000000001"
MASTER_KEY_FILE = "master.key"
DATABASE_FILE = "openkms.db"
FIRST_CREDENTIAL_FILE = "credentials.json"
AUDIT_FILE = "audit.db"
AUDIT_CHECKPOINTS_FILE = "audit-checkpoints.jsonl"
SIGNATURES_FILE = "signatures.db"
TLS_DIRECTORY = "tls"
CONFIG_ENVIRONMENT_VARIABLE = "OPENKMS_WORKER_CONFIG"
"""How `openkms serve` hands its configuration to the worker processes it starts."""


class DataFolderError(Exception):
    """The data folder cannot be used: said in one line, with what to do."""


@dataclass(frozen=True)
class Config:
    data_dir: Path = DEFAULT_DATA_DIR
    store: str = ""
    """A PostgreSQL URL; empty for SQLite in the data folder. The master key stays in the data folder."""
    trust: str = "keyfile"
    """keyfile (master.key in the data folder) or pkcs11."""
    pkcs11_module: str = ""
    pkcs11_token: str = ""
    pkcs11_pin_file: str = ""
    crypto_standard: str = "fips"
    """fips: new symmetric keys are AES-256-GCM; national: SM4-GCM (KeyMetadata.Type 4)."""
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    workers: int = 1
    region: tuple[str, ...] = field(default=(DEFAULT_REGION,))
    """The regions served; the first is the default."""
    account: str = DEFAULT_ACCOUNT
    """The account that owns the first credential."""
    maintenance_interval: float = 60.0
    """Seconds between runs of scheduled work."""
    log_level: str = "info"
    rate_limit: tuple[str, ...] = ()
    """`--rate-limit` values: GROUP=N, GROUP=off, default=N, or off; empty means Tencent's defaults."""
    audit: str = "fail-closed"
    """fail-closed: refuse requests while the audit log cannot be written; fail-open: serve them unrecorded."""
    metrics_listen: str = ""
    aws_listen: str = ""
    console: str = "on"
    """HOST:PORT to serve /metrics on instead of the API port (one worker only)."""
    key_cache: int = 1_000_000
    """Keys (metadata and unwrapped material) each server process keeps in memory."""
    key_cache_seconds: float = 3600.0
    """How long unwrapped material stays in memory before the store (and the HSM) are asked again."""
    key_cache_preload: bool = False
    """Read every key into the cache at start, in the background (material stays wrapped until used)."""
    tls_cert: str = ""
    tls_key: str = ""
    cmk_limit: int = DEFAULT_CMK_LIMIT
    """Keys per account and region, not counting those pending deletion."""
    data_key_limit: int = DEFAULT_DATA_KEY_LIMIT
    """Hosted data keys per account and region, not counting those pending deletion."""
    connection_limit: int = 0
    """Open client connections in total; 0: what the open-file limit allows."""
    connection_limit_per_address: int = 64
    request_timeout: float = 10.0
    trusted_proxy: tuple[str, ...] = ()
    """Reverse proxies whose X-Forwarded-For is believed; with none, a request's source is its peer."""

    tls_self_signed: bool = False
    seed: Path | None = None
    """A seed file applied at start-up."""

    @property
    def audit_fail_closed(self) -> bool:
        return self.audit == "fail-closed"

    @property
    def master_key_path(self) -> Path:
        return self.data_dir / MASTER_KEY_FILE

    @property
    def database_path(self) -> Path:
        return self.data_dir / DATABASE_FILE

    @property
    def first_credential_path(self) -> Path:
        return self.data_dir / FIRST_CREDENTIAL_FILE

    @property
    def audit_path(self) -> Path:
        return self.data_dir / AUDIT_FILE

    @property
    def signatures_path(self) -> Path:
        return self.data_dir / SIGNATURES_FILE

    @property
    def audit_checkpoints_path(self) -> Path:
        return self.data_dir / AUDIT_CHECKPOINTS_FILE

    @property
    def tls_directory(self) -> Path:
        return self.data_dir / TLS_DIRECTORY

    def to_json(self) -> str:
        values = asdict(self)
        values["data_dir"] = str(self.data_dir)
        values["seed"] = None if self.seed is None else str(self.seed)
        return json.dumps(values)

    @classmethod
    def from_json(cls, text: str) -> "Config":
        values = json.loads(text)
        for name, value in values.items():
            if isinstance(value, list):
                values[name] = tuple(value)
        values["data_dir"] = Path(values["data_dir"])
        values["seed"] = None if values["seed"] is None else Path(values["seed"])
        return cls(**values)
