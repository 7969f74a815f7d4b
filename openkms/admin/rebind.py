"""The upgrade to schema version 3: secrets wrapped by an older OpenKMS (bound to a key id and version,
or a SecretId, only) are wrapped again bound to their owning account and region, and every
credential's policy set is sealed as it stands. Runs once, inside the migration's transaction."""

from functools import partial

from sqlalchemy import Connection, insert, select, update

from openkms.auth.credentials import policy_seal
from openkms.crypto.aead import new_key
from openkms.store.schema import Rebind, credentials, key_versions, keys, policies, store_secrets
from openkms.trust.base import RootOfTrust
from openkms.trust.bindings import (
    POLICY_SEAL_KEY,
    credential_secret,
    key_material,
    legacy_credential_secret,
    legacy_key_material,
    store_secret,
)


def rebinder(trust: RootOfTrust) -> Rebind:
    return partial(_rebind, trust)


def _rebind(trust: RootOfTrust, conn: Connection) -> None:
    versions = conn.execute(
        select(
            key_versions.c.key_id,
            key_versions.c.version,
            key_versions.c.bound_material,
            keys.c.account,
            keys.c.region,
        ).join(keys, keys.c.key_id == key_versions.c.key_id)
    ).all()
    for row in versions:
        material = trust.unwrap(row.bound_material, legacy_key_material(row.key_id, row.version))
        rewrapped = trust.wrap(material, key_material(row.key_id, row.version, row.account, row.region))
        conn.execute(
            update(key_versions)
            .where(key_versions.c.key_id == row.key_id, key_versions.c.version == row.version)
            .values(bound_material=rewrapped)
        )

    seal_key = new_key()
    conn.execute(
        insert(store_secrets).values(
            name=POLICY_SEAL_KEY, wrapped_value=trust.wrap(seal_key, store_secret(POLICY_SEAL_KEY))
        )
    )
    for owner in conn.execute(select(credentials.c.secret_id, credentials.c.account, credentials.c.bound_secret)).all():
        secret = trust.unwrap(owner.bound_secret, legacy_credential_secret(owner.secret_id))
        documents = conn.execute(
            select(policies.c.name, policies.c.document)
            .where(policies.c.secret_id == owner.secret_id)
            .order_by(policies.c.name)
        ).all()
        conn.execute(
            update(credentials)
            .where(credentials.c.secret_id == owner.secret_id)
            .values(
                bound_secret=trust.wrap(secret, credential_secret(owner.secret_id, owner.account)),
                policy_seal=policy_seal(
                    seal_key, owner.secret_id, owner.account, tuple((d.name, d.document) for d in documents)
                ),
            )
        )
