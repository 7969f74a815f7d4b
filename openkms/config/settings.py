"""Every setting of `openkms serve`, in one table: its flag, its environment variable, its key in the
configuration file, its type, default and help.

Precedence, lowest first: default, configuration file (TOML, `--config FILE`), environment variable
(`OPENKMS_<NAME>`), command-line flag. A value that does not fit stops start-up with a message that
names the setting and where the value came from.
"""

import argparse
import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openkms.config.rates import RateConfig
from openkms.config.values import Config

ENV_PREFIX = "OPENKMS_"
DEFAULTS = Config()
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


class SettingError(ValueError):
    pass


@dataclass(frozen=True)
class Setting:
    """How one field of Config is given. Its name is the field's; its default, the field's default."""

    name: str
    kind: str
    """str, int, float, bool, path, list (of strings), or choice."""
    help: str
    choices: tuple[str, ...] = ()
    metavar: str | None = None

    @property
    def default(self) -> Any:
        default = getattr(DEFAULTS, self.name)
        return list(default) if isinstance(default, tuple) else default

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting("data_dir", "path", "folder holding the master key, the database and the audit log"),
    Setting(
        "store",
        "str",
        "PostgreSQL URL of the store (postgresql://user@host/db[?schema=name]); empty for SQLite in the data folder",
        metavar="URL",
    ),
    Setting(
        "trust",
        "choice",
        "root of trust: keyfile (master.key in the data folder) or pkcs11 (an HSM)",
        choices=("keyfile", "pkcs11"),
    ),
    Setting(
        "pkcs11_module",
        "str",
        "the PKCS#11 library of the HSM (e.g. /usr/lib/softhsm/libsofthsm2.so)",
        metavar="PATH",
    ),
    Setting("pkcs11_token", "str", "the label of the PKCS#11 token holding the master key", metavar="LABEL"),
    Setting("pkcs11_pin_file", "str", "a file holding the token's user PIN", metavar="FILE"),
    Setting(
        "crypto_standard",
        "choice",
        "cipher of new symmetric keys: fips (AES-256-GCM, KeyMetadata.Type 2) or national (SM4-GCM, Type 4, "
        "as in Tencent Cloud's national-standard regions); existing keys keep theirs",
        choices=("fips", "national"),
    ),
    Setting("host", "str", "address to listen on"),
    Setting("port", "int", "port to listen on"),
    Setting("workers", "int", "server processes"),
    Setting(
        "region",
        "list",
        "a region to serve; repeat for several, the first is the default",
        metavar="REGION",
    ),
    Setting("account", "str", "account (UIN) of the first credential"),
    Setting(
        "maintenance_interval",
        "float",
        "seconds between runs of scheduled work: deletions, rotations, expiry of imported material",
    ),
    Setting(
        "rate_limit",
        "list",
        "requests per second per account: GROUP=N or GROUP=off (a group is symmetric, GenerateDataKey, "
        "GenerateRandom, asymmetric-decrypt, post-quantum or any other action's name), default=N for the "
        "actions in no group, or off; repeatable (default: Tencent Cloud's quotas)",
        metavar="SPEC",
    ),
    Setting(
        "audit",
        "choice",
        "when the audit log cannot be written: refuse requests (fail-closed) or serve them unrecorded",
        choices=("fail-closed", "fail-open"),
    ),
    Setting(
        "trusted_proxy",
        "list",
        "the address of a reverse proxy whose X-Forwarded-For and X-Forwarded-Proto are believed; "
        "repeatable (default none: the audit log records each connection's own address)",
        metavar="ADDRESS",
    ),
    Setting(
        "cmk_limit",
        "int",
        "keys an account may have per region, not counting those pending deletion (Tencent Cloud's default; "
        "0: no quota)",
        metavar="N",
    ),
    Setting(
        "data_key_limit",
        "int",
        "hosted data keys an account may have per region, not counting those pending deletion (0: no quota)",
        metavar="N",
    ),
    Setting(
        "connection_limit",
        "int",
        "open client connections in total (shared among the workers); further ones are closed at once "
        "(default 0: as many as the open-file limit allows, which start-up raises to its hard limit)",
        metavar="N",
    ),
    Setting(
        "connection_limit_per_address",
        "int",
        "open client connections from one address (an IPv6 /64), per worker; trusted proxies are exempt",
        metavar="N",
    ),
    Setting(
        "request_timeout",
        "float",
        "seconds a request's headers and body may take to arrive, counted from the connection or the "
        "request's first byte; slower ones are closed",
        metavar="SECONDS",
    ),
    Setting("tls_cert", "str", "serve HTTPS with this certificate (PEM)", metavar="FILE"),
    Setting("tls_key", "str", "the private key of --tls-cert (PEM)", metavar="FILE"),
    Setting("tls_self_signed", "bool", "serve HTTPS with a self-signed certificate made in DATA_DIR/tls"),
    Setting(
        "metrics_listen",
        "str",
        "serve Prometheus /metrics on [HOST:]PORT (HOST 127.0.0.1 unless given); never on the API port, "
        "since metrics describe every account (default: no metrics)",
        metavar="[HOST:]PORT",
    ),
    Setting(
        "aws_listen",
        "str",
        "also serve the AWS KMS API on [HOST:]PORT (HOST: the API's), and only it there; the API port serves "
        "both protocols either way (default: no second port)",
        metavar="[HOST:]PORT",
    ),
    Setting(
        "console",
        "choice",
        "serve the web console at /console/ on the API's origin (it signs requests in the browser)",
        choices=("on", "off"),
    ),
    Setting("key_cache", "int", "keys each process keeps unwrapped in memory for the hot path", metavar="N"),
    Setting(
        "key_cache_seconds",
        "float",
        "seconds unwrapped key material stays in memory before it is read (and unwrapped) again",
        metavar="SECONDS",
    ),
    Setting(
        "key_cache_preload",
        "bool",
        "at start, read every key (up to --key-cache) into memory in the background, so that first uses "
        "do not wait for the store; /readyz answers 503 until it is done; material stays wrapped until a "
        "key is used (about 1.3 KB of memory a key, each process)",
    ),
    Setting(
        "seed",
        "path",
        "a YAML file of credentials, keys and policies to create at start-up (idempotent)",
        metavar="FILE",
    ),
    Setting("log_level", "choice", "log level", choices=LOG_LEVELS),
)
BY_NAME = {setting.name: setting for setting in SETTINGS}


def config_from(values: Mapping[str, tuple[Any, str]]) -> Config:
    """The Config resolved settings make: each setting is the field of the same name."""
    given: dict[str, Any] = {name: tuple(v) if isinstance(v, list) else v for name, (v, _) in values.items()}
    given["data_dir"] = Path(given["data_dir"]).resolve()
    return Config(**given)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="FILE",
        help=f"a TOML file of settings (also ${ENV_PREFIX}CONFIG_FILE)",
    )
    for setting in SETTINGS:
        help_text = f"{setting.help} (default {setting.default!r}; env {setting.env})"
        if setting.kind == "bool":
            parser.add_argument(setting.flag, dest=setting.name, action="store_true", default=None, help=help_text)
        elif setting.kind == "list":
            parser.add_argument(
                setting.flag, dest=setting.name, action="append", default=None, metavar=setting.metavar, help=help_text
            )
        else:
            parser.add_argument(
                setting.flag,
                dest=setting.name,
                default=None,
                metavar=setting.metavar,
                choices=setting.choices or None,
                help=help_text,
            )


def _convert(setting: Setting, value: Any, source: str) -> Any:
    where = f"setting {setting.name} (from {source})"
    try:
        if setting.kind == "list":
            items = value.split(",") if isinstance(value, str) else value
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                raise SettingError(f"{where}: expected a list of strings")
            return [i.strip() for i in items if i.strip()]
        if setting.kind == "bool":
            if isinstance(value, bool):
                return value
            if str(value).lower() in ("1", "true", "yes", "on"):
                return True
            if str(value).lower() in ("0", "false", "no", "off", ""):
                return False
            raise SettingError(f"{where}: expected true or false, got {value!r}")
        if setting.kind == "int":
            if isinstance(value, bool):
                raise SettingError(f"{where}: expected an integer")
            return int(value)
        if setting.kind == "float":
            return float(value)
        if setting.kind == "path":
            return Path(str(value)) if value not in (None, "") else None
        if setting.kind == "choice" and value not in setting.choices:
            raise SettingError(f"{where}: expected one of {', '.join(setting.choices)}, got {value!r}")
        if not isinstance(value, str):
            raise SettingError(f"{where}: expected a string")
        return value
    except (TypeError, ValueError) as exc:
        if isinstance(exc, SettingError):
            raise
        raise SettingError(f"{where}: {value!r} is not a valid {setting.kind}") from None


def resolve(args: argparse.Namespace, environ: Mapping[str, str] = os.environ) -> dict[str, tuple[Any, str]]:
    """Every setting's value and where it came from: default, file, environment or flag."""
    values: dict[str, tuple[Any, str]] = {s.name: (s.default, "default") for s in SETTINGS}
    config_file = args.config or (
        Path(environ[f"{ENV_PREFIX}CONFIG_FILE"]) if environ.get(f"{ENV_PREFIX}CONFIG_FILE") else None
    )
    if config_file is not None:
        try:
            document = tomllib.loads(config_file.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SettingError(f"configuration file {config_file}: {exc}") from None
        for name, value in document.items():
            if name not in BY_NAME:
                raise SettingError(f"configuration file {config_file}: unknown setting {name!r}")
            values[name] = (_convert(BY_NAME[name], value, str(config_file)), str(config_file))
    for setting in SETTINGS:
        if setting.env in environ:
            values[setting.name] = (_convert(setting, environ[setting.env], setting.env), setting.env)
        given = getattr(args, setting.name, None)
        if given is not None:
            values[setting.name] = (_convert(setting, given, setting.flag), setting.flag)
    _check(values)
    return values


def _check(values: dict[str, tuple[Any, str]]) -> None:
    def value(name: str) -> Any:
        return values[name][0]

    try:
        RateConfig.parse(value("rate_limit"))
    except ValueError as exc:
        raise SettingError(f"setting rate_limit (from {values['rate_limit'][1]}): {exc}") from None
    if bool(value("tls_cert")) != bool(value("tls_key")):
        raise SettingError("settings tls_cert and tls_key go together")
    if value("trust") == "pkcs11" and not (
        value("pkcs11_module") and value("pkcs11_token") and value("pkcs11_pin_file")
    ):
        raise SettingError("setting trust = pkcs11 needs pkcs11_module, pkcs11_token and pkcs11_pin_file")
    if value("metrics_listen") and not value("metrics_listen").rpartition(":")[2].isdigit():
        raise SettingError(f"setting metrics_listen: {value('metrics_listen')!r} is not [HOST:]PORT")
    if value("metrics_listen") and value("workers") != 1:
        raise SettingError("setting metrics_listen needs workers = 1 (each worker would bind the address)")
    if value("aws_listen") and not value("aws_listen").rpartition(":")[2].isdigit():
        raise SettingError(f"setting aws_listen: {value('aws_listen')!r} is not [HOST:]PORT")
    if value("aws_listen") and int(value("aws_listen").rpartition(":")[2]) == value("port"):
        # Requests are told apart by the port they arrive on: the AWS-only port must be its own.
        raise SettingError(f"setting aws_listen: port {value('port')} is the API's port; give it another")
    if not 0 < value("port") < 65536:
        raise SettingError(f"setting port (from {values['port'][1]}): {value('port')} is not a port")
    if value("connection_limit") < 0 or value("connection_limit_per_address") < 1 or value("request_timeout") <= 0:
        raise SettingError("settings connection_limit (0: automatic), connection_limit_per_address and request_timeout")
    if value("workers") < 1 or value("key_cache") < 1:
        raise SettingError("settings workers and key_cache must be at least 1")
    if value("cmk_limit") < 0 or value("data_key_limit") < 0:
        raise SettingError("settings cmk_limit and data_key_limit are at least 0 (0: no quota)")
    if not value("region"):
        raise SettingError("setting region: at least one region must be served")


def has_password(url: str) -> bool:
    return re.search(r"://[^:/@]+:[^@]+@", url) is not None


PASSWORD_ON_COMMAND_LINE = (
    "the store's URL carries a password on the command line, where every local user can read it (ps, "
    "/proc); give the URL in OPENKMS_STORE or the configuration file instead, or keep the password in a "
    "libpq password file (~/.pgpass, or PGPASSFILE)"
)


def warnings(values: dict[str, tuple[Any, str]]) -> list[str]:
    """What start-up should warn about in this configuration (it works, but it is exposed)."""
    found = []
    store, source = values["store"]
    if store and source.startswith("--") and has_password(store):
        found.append(PASSWORD_ON_COMMAND_LINE)
    host = values["host"][0]
    plain = not (values["tls_cert"][0] or values["tls_self_signed"][0])
    if plain and not _loopback(host):
        found.append(
            f"serving plain HTTP on {host}, which is not a loopback address: signed requests can be captured "
            "and replayed within their 300 s validity, and responses (plaintexts, data keys) read on the way; "
            "serve HTTPS (--tls-cert/--tls-key) or listen on 127.0.0.1 behind a TLS proxy"
        )
    return found


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


def redact(url: str) -> str:
    """A URL with its password, if any, replaced."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def show(values: dict[str, tuple[Any, str]]) -> str:
    """The effective configuration as TOML, each value's source beside it. A password in the store's
    URL is redacted; a seed file's contents are never printed, only its path."""
    lines = []
    for setting in SETTINGS:
        value, source = values[setting.name]
        if setting.name == "store" and value:
            value = redact(value)
        if value is None:
            lines.append(f"# {setting.name} is not set  # {source}")
            continue
        rendered = f'"{value}"' if isinstance(value, str | Path) else repr(value).replace("'", '"')
        if isinstance(value, bool):
            rendered = "true" if value else "false"
        lines.append(f"{setting.name} = {rendered}  # {source}")
    return "\n".join(lines)
