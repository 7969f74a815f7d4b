"""Tables and the ordered list of schema migrations, shared by every SQL dialect."""

from collections.abc import Callable
from typing import Protocol

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    insert,
    inspect,
    select,
)

metadata = MetaData()


def _tags(name: str, owner: str, id_column: str) -> Table:
    """The tags of one kind of key: (id, tag key) -> tag value, gone with the key."""
    return Table(
        name,
        metadata,
        Column(id_column, String(36), ForeignKey(f"{owner}.{id_column}", ondelete="CASCADE"), primary_key=True),
        Column("tag_key", String(255), primary_key=True),
        Column("tag_value", String(255), nullable=False),
    )


schema_migrations = Table(
    "schema_migrations",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("applied_at", BigInteger, nullable=False),
)

keys = Table(
    "keys",
    metadata,
    Column("key_id", String(36), primary_key=True),
    Column("account", String(32), nullable=False),
    Column("region", String(64), nullable=False),
    Column("alias", String(60), nullable=False),
    Column("description", Text, nullable=False),
    Column("key_usage", String(64), nullable=False),
    Column("origin", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("create_time", BigInteger, nullable=False),
    Column("deletion_date", BigInteger, nullable=False),
    Column("current_version", Integer, nullable=False),
    Column("rotation_enabled", Boolean, nullable=False, default=False),
    Column("rotate_days", Integer, nullable=False, default=0),
    Column("next_rotate_time", BigInteger, nullable=False, default=0),
    Column("last_rotate_time", BigInteger, nullable=False, default=0),
    Column("valid_to", BigInteger, nullable=False, default=0),
    Column("wrapped_material_digest", LargeBinary, nullable=True),
    Column("revision", BigInteger, nullable=False, default=0),
    Column("cipher", String(16), nullable=False, default="AES_256_GCM", server_default="AES_256_GCM"),
    UniqueConstraint("account", "region", "alias", name="uq_keys_alias"),
    Index("ix_keys_listing", "account", "region", "create_time"),
    Index("ix_keys_deletion", "state", "deletion_date"),
    Index("ix_keys_rotation", "rotation_enabled", "next_rotate_time"),
    Index("ix_keys_valid_to", "valid_to"),
)

key_versions = Table(
    "key_versions",
    metadata,
    Column("key_id", String(36), ForeignKey("keys.key_id", ondelete="CASCADE"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("bound_material", LargeBinary, nullable=False),
    Column("create_time", BigInteger, nullable=False),
    Column("rotation", String(16), nullable=False, default="", server_default=""),
)

key_tags = _tags("key_tags", "keys", "key_id")

data_keys = Table(
    "data_keys",
    metadata,
    Column("data_key_id", String(36), primary_key=True),
    Column("account", String(32), nullable=False),
    Column("region", String(64), nullable=False),
    Column("key_id", String(36), nullable=False),
    Column("name", String(100), nullable=False),
    Column("description", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("number_of_bytes", Integer, nullable=False),
    Column("origin", String(16), nullable=False),
    Column("create_time", BigInteger, nullable=False),
    Column("deletion_date", BigInteger, nullable=False),
    Column("blob", LargeBinary, nullable=False),
    Column("context", Text, nullable=False),
    Column("revision", BigInteger, nullable=False, default=0),
    UniqueConstraint("account", "region", "name", name="uq_data_keys_name"),
    Index("ix_data_keys_listing", "account", "region", "create_time"),
    Index("ix_data_keys_deletion", "state", "deletion_date"),
)

data_key_tags = _tags("data_key_tags", "data_keys", "data_key_id")

whitebox_keys = Table(
    "whitebox_keys",
    metadata,
    Column("key_id", String(36), primary_key=True),
    Column("account", String(32), nullable=False),
    Column("region", String(64), nullable=False),
    Column("alias", String(60), nullable=False),
    Column("description", Text, nullable=False),
    Column("algorithm", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("create_time", BigInteger, nullable=False),
    Column("revision", BigInteger, nullable=False, default=0),
    # The key and the key its tables are sealed under, wrapped by the root of trust, bound to the owner.
    Column("bound_key", LargeBinary, nullable=False),
    # The encryption and decryption tables, AES-256-GCM under the second key in bound_key.
    Column("sealed_tables", LargeBinary, nullable=False),
    UniqueConstraint("account", "region", "alias", name="uq_whitebox_keys_alias"),
    Index("ix_whitebox_keys_listing", "account", "region", "create_time"),
)

whitebox_key_tags = _tags("whitebox_key_tags", "whitebox_keys", "key_id")

whitebox_fingerprints = Table(
    "whitebox_fingerprints",
    metadata,
    Column("key_id", String(36), ForeignKey("whitebox_keys.key_id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("identity", String(128), nullable=False),
    Column("description", Text, nullable=False),
)

cloud_resource_bindings = Table(
    "cloud_resource_bindings",
    metadata,
    Column("key_id", String(36), ForeignKey("keys.key_id", ondelete="CASCADE"), primary_key=True),
    Column("product_id", String(64), primary_key=True),
    Column("resource_id", String(1024), primary_key=True),
    Column("create_time", BigInteger, nullable=False),
)
"""Which cloud product's resource uses which key (BindCloudResource): a bound key is not destroyed."""

grants = Table(
    "grants",
    metadata,
    Column("grant_id", String(64), primary_key=True),
    Column("key_id", String(36), ForeignKey("keys.key_id", ondelete="CASCADE"), nullable=False),
    Column("account", String(32), nullable=False),
    Column("name", String(256), nullable=False),
    Column("grantee", String(256), nullable=False),
    Column("retiring", String(256), nullable=False),
    Column("operations", Text, nullable=False),
    Column("constraints", Text, nullable=False),
    Column("create_time", BigInteger, nullable=False),
    Index("ix_grants_key", "key_id", "create_time"),
    Index("ix_grants_retiring", "account", "retiring"),
)
"""Who else may use a key, for what (AWS's grants); a grant goes with its key."""

import_tokens = Table(
    "import_tokens",
    metadata,
    Column("token", String(64), primary_key=True),
    Column("key_id", String(36), nullable=False),
    Column("wrapping_algorithm", String(32), nullable=False),
    Column("wrapped_private_key", LargeBinary, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("used", Boolean, nullable=False, default=False),
)

credentials = Table(
    "credentials",
    metadata,
    Column("secret_id", String(64), primary_key=True),
    Column("account", String(32), nullable=False),
    Column("bound_secret", LargeBinary, nullable=False),
    Column("create_time", BigInteger, nullable=False),
    Column("policy_seal", LargeBinary, nullable=True),
)

policies = Table(
    "policies",
    metadata,
    Column("secret_id", String(64), ForeignKey("credentials.secret_id", ondelete="CASCADE"), primary_key=True),
    Column("name", String(128), primary_key=True),
    Column("document", Text, nullable=False),
    Column("create_time", BigInteger, nullable=False),
)

store_secrets = Table(
    "store_secrets",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("wrapped_value", LargeBinary, nullable=False),
)
"""Secrets of the store itself (the key that seals credentials' policy sets), wrapped by the root of trust."""

anchors = Table(
    "anchors",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", LargeBinary, nullable=False),
)
"""Facts kept in the key store about things outside it (the audit log's identity and head)."""

change_log = Table(
    "change_log",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("ref", String(64), nullable=False),
    Column("at", BigInteger, nullable=False),
    sqlite_autoincrement=True,
)


def _v1_initial(conn: Connection, rebind: "Rebind | None" = None) -> None:
    metadata.create_all(
        conn,
        tables=[
            keys,
            key_versions,
            key_tags,
            data_keys,
            data_key_tags,
            import_tokens,
            credentials,
            policies,
            change_log,
        ],
    )


def _v2_key_cipher(conn: Connection, rebind: "Rebind | None" = None) -> None:
    """Keys record their symmetric cipher (SM4 in the national-standard mode); every older key is AES."""
    if "cipher" not in {column["name"] for column in inspect(conn).get_columns("keys")}:
        conn.exec_driver_sql("ALTER TABLE keys ADD COLUMN cipher VARCHAR(16) NOT NULL DEFAULT 'AES_256_GCM'")


Rebind = Callable[[Connection], None]
"""Inside the migration's transaction: wrap again, bound to their owners, the secrets wrapped before
schema version 3, and seal every credential's policy set. Needs the root of trust (openkms/admin/rebind.py)."""


RENAMED_COLUMNS: dict[tuple[str, str], str] = {
    ("key_versions", "wrapped_material"): "bound_material",
    ("credentials", "wrapped_secret"): "bound_secret",
}
"""(table, name before schema version 3) -> name since: the columns whose secrets version 3 binds to
their owners. Renamed so that an older OpenKMS still running on the store fails instead of writing
secrets bound the old way, which the new one would refuse (a key whose CreateKey returned, lost)."""


def _rename_bound_columns(conn: Connection) -> None:
    """First in the upgrade's transaction: the ALTER waits for older servers' transactions and holds
    theirs out until the upgrade commits; afterwards their statements name columns that are gone."""
    for (table, old), new in RENAMED_COLUMNS.items():
        if old in {column["name"] for column in inspect(conn).get_columns(table)}:
            conn.exec_driver_sql(f"ALTER TABLE {table} RENAME COLUMN {old} TO {new}")


def _v3_owner_bindings(conn: Connection, rebind: Rebind | None = None) -> None:
    """Wrapped secrets are bound to their owning account (and region); policy sets are sealed. One
    transaction with the rewrapping, so no half-upgraded store exists, and nothing in the database can
    ask for the upgrade again: sealing whatever policies the database holds is done once, here."""
    tables = set(inspect(conn).get_table_names())
    if {"store_secrets", "anchors"} & tables:
        raise RuntimeError(
            "the store's schema history was edited: migration 3 is recorded as not applied, but its tables exist"
        )
    _rename_bound_columns(conn)
    if "policy_seal" not in {column["name"] for column in inspect(conn).get_columns("credentials")}:
        blob = "BYTEA" if conn.dialect.name == "postgresql" else "BLOB"
        conn.exec_driver_sql(f"ALTER TABLE credentials ADD COLUMN policy_seal {blob}")
    metadata.create_all(conn, tables=[store_secrets, anchors])
    held = conn.execute(select(func.count()).select_from(key_versions)).scalar_one()
    held += conn.execute(select(func.count()).select_from(credentials)).scalar_one()
    if held:
        if rebind is None:
            raise RuntimeError("upgrading this store to schema version 3 needs its root of trust")
        rebind(conn)


def _v4_bound_column_names(conn: Connection, rebind: Rebind | None = None) -> None:
    """Stores upgraded to version 3 before it renamed the bound columns (see RENAMED_COLUMNS)."""
    _rename_bound_columns(conn)


def _v5_whitebox_keys(conn: Connection, rebind: Rebind | None = None) -> None:
    metadata.create_all(conn, tables=[whitebox_keys, whitebox_key_tags, whitebox_fingerprints])


def _v6_cloud_resource_bindings(conn: Connection, rebind: Rebind | None = None) -> None:
    metadata.create_all(conn, tables=[cloud_resource_bindings])


def _v7_grants(conn: Connection, rebind: Rebind | None = None) -> None:
    metadata.create_all(conn, tables=[grants])


def _v8_version_rotation(conn: Connection, rebind: Rebind | None = None) -> None:
    """Versions record what rotation made them (AWS's ListKeyRotations); older ones stay unrecorded."""
    if "rotation" not in {column["name"] for column in inspect(conn).get_columns("key_versions")}:
        conn.exec_driver_sql("ALTER TABLE key_versions ADD COLUMN rotation VARCHAR(16) NOT NULL DEFAULT ''")


class Migration(Protocol):
    def __call__(self, conn: Connection, rebind: Rebind | None = None) -> None: ...


MIGRATIONS: list[Migration] = [
    _v1_initial,
    _v2_key_cipher,
    _v3_owner_bindings,
    _v4_bound_column_names,
    _v5_whitebox_keys,
    _v6_cloud_resource_bindings,
    _v7_grants,
    _v8_version_rotation,
]
"""Append only: migration N (1-based) runs once on every store whose schema is older."""


def migrate(conn: Connection, now: int, rebind: Rebind | None = None) -> int:
    """Bring the schema up to date inside the caller's transaction; returns the resulting version."""
    if conn.dialect.name == "postgresql":
        # Servers starting together on one database migrate one after another.
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7100)")
    schema_migrations.create(conn, checkfirst=True)
    current = conn.execute(select(func.coalesce(func.max(schema_migrations.c.version), 0))).scalar_one()
    if current > len(MIGRATIONS):
        raise RuntimeError(
            f"the store's schema is version {current}, newer than this OpenKMS knows ({len(MIGRATIONS)})"
        )
    for version in range(current + 1, len(MIGRATIONS) + 1):
        MIGRATIONS[version - 1](conn, rebind)
        conn.execute(insert(schema_migrations).values(version=version, applied_at=now))
    return len(MIGRATIONS)
