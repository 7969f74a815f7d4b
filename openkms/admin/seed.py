"""Seed files: credentials, keys and policies a server creates at start-up, idempotently, so that a
team's own CI can start a known KMS in one command.

    credentials:
      - secret_id: AKIDlocaldev0000000000000000000001
        secret_key: local-development-only-secret
        account: "100000000001"            # optional: the server's --account
        policies:                          # optional: name -> policy document
          reader: {statement: [{effect: allow, action: "kms:Describe*", resource: "*"}]}
    keys:
      - key_id: 0b9b5a52-7a0e-4c3e-9f5d-2a1c8e7f6d10   # optional: a random id otherwise (not idempotent)
        alias: payments
        account: "100000000001"            # optional: the server's --account
        region: ap-guangzhou               # optional: the first served region
        description: ""                    # optional
        state: Enabled                     # optional: Enabled, Disabled or Archived
        material: <Base64 of 32 bytes>     # optional: fixed key material, so ciphertexts survive resets
        rotate_days: 90                    # optional: automatic rotation
        tags: {env: dev}                   # optional, at creation

Running the same file again changes nothing; a changed alias, description, state, rotation or
policy is applied; a key whose fixed material differs from the stored one is refused, as is anything
malformed, naming the entry.
"""

import base64
import binascii
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from openkms.auth.credentials import CredentialService
from openkms.domain.errors import KeyNotFound, KmsError
from openkms.domain.models import Caller, KeyState, Tag
from openkms.service.keys import KeyService
from openkms.service.rotation import RotationService

CREDENTIAL_FIELDS = {"secret_id", "secret_key", "account", "policies"}
KEY_FIELDS = {"key_id", "alias", "account", "region", "description", "state", "material", "rotate_days", "tags"}


class SeedError(Exception):
    pass


@dataclass(frozen=True)
class Seeding:
    """What a seed file is applied through, and the defaults its entries may leave out."""

    credentials: CredentialService
    keys: KeyService
    rotation: RotationService
    account: str
    regions: tuple[str, ...]


def _fields(entry: Any, allowed: set[str], where: str) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise SeedError(f"{where} must be a mapping")
    unknown = set(entry) - allowed
    if unknown:
        raise SeedError(f"{where}: unknown fields {', '.join(sorted(unknown))}")
    return entry


def apply_seed(seeding: Seeding, path: Path) -> list[str]:
    """Make the store hold what the seed file says; returns what had to change."""
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise SeedError(f"seed file {path}: {exc}") from None
    _fields(document, {"credentials", "keys"}, f"seed file {path}")
    changes: list[str] = []
    for index, entry in enumerate(document.get("credentials") or []):
        where = f"{path}: credentials[{index}]"
        try:
            changes += _credential(seeding, _fields(entry, CREDENTIAL_FIELDS, where))
        except KmsError as exc:
            raise SeedError(f"{where}: {exc}") from None
    for index, entry in enumerate(document.get("keys") or []):
        where = f"{path}: keys[{index}]"
        try:
            changes += _key(seeding, _fields(entry, KEY_FIELDS, where), where)
        except KmsError as exc:
            raise SeedError(f"{where}: {exc}") from None
    return changes


def _credential(seeding: Seeding, entry: dict[str, Any]) -> list[str]:
    secret_id, account = str(entry.get("secret_id", "")), str(entry.get("account", seeding.account))
    changes = []
    if seeding.credentials.put(secret_id, str(entry.get("secret_key", "")), account):
        changes.append(f"credential {secret_id} written")
    wanted = {name: json.dumps(doc, sort_keys=True) for name, doc in (entry.get("policies") or {}).items()}
    current = {
        p.name: json.dumps(json.loads(p.document), sort_keys=True) for p in seeding.credentials.policies(secret_id)
    }
    for name, document in wanted.items():
        if current.get(name) != document:
            seeding.credentials.attach_policy(secret_id, name, document)
            changes.append(f"policy {name} of {secret_id} attached")
    for name in set(current) - set(wanted):
        seeding.credentials.detach_policy(secret_id, name)
        changes.append(f"policy {name} of {secret_id} detached")
    return changes


def _key(seeding: Seeding, entry: dict[str, Any], where: str) -> list[str]:
    caller = Caller(str(entry.get("account", seeding.account)), str(entry.get("region", seeding.regions[0])))
    if caller.region not in seeding.regions:
        raise SeedError(f"{where}: region {caller.region} is not served")
    material = None
    if "material" in entry:
        try:
            material = base64.b64decode(str(entry["material"]), validate=True)
        except (binascii.Error, ValueError):
            raise SeedError(f"{where}: material must be Base64 of 32 bytes") from None
    state = KeyState(entry.get("state", KeyState.ENABLED.value))
    if state not in (KeyState.ENABLED, KeyState.DISABLED, KeyState.ARCHIVED):
        raise SeedError(f"{where}: state must be Enabled, Disabled or Archived")
    alias, description = str(entry.get("alias", "")), str(entry.get("description", ""))
    key_id = entry.get("key_id")
    changes = []
    try:
        key = seeding.keys.describe(caller, str(key_id)) if key_id else None
    except KeyNotFound:
        key = None
    if key is None:
        tags = [Tag(str(k), str(v)) for k, v in (entry.get("tags") or {}).items()]
        key = seeding.keys.create(caller, alias, description, tags=tags, key_id=key_id, material=material)
        changes.append(f"key {key.key_id} ({alias}) created")
    elif material is not None and seeding.keys.material_of(caller, key.key_id) != material:
        raise SeedError(f"{where}: key {key.key_id} exists with other material; fixed material cannot change")
    if key.alias != alias:
        seeding.keys.update_alias(caller, key.key_id, alias)
        changes.append(f"key {key.key_id} renamed {alias}")
    if key.description != description:
        seeding.keys.update_description(caller, key.key_id, description)
    if key.state != state:
        # Through Enabled, as the state machine allows: Archived and Disabled both lead back to it.
        if key.state == KeyState.ARCHIVED:
            seeding.keys.cancel_archive(caller, key.key_id)
        elif key.state == KeyState.DISABLED:
            seeding.keys.enable(caller, [key.key_id])
        if state == KeyState.DISABLED:
            seeding.keys.disable(caller, [key.key_id])
        elif state == KeyState.ARCHIVED:
            seeding.keys.archive(caller, key.key_id)
        changes.append(f"key {key.key_id} now {state.value}")
    rotate_days = entry.get("rotate_days")
    if rotate_days is not None and (not key.rotation_enabled or key.rotate_days != int(rotate_days)):
        seeding.rotation.enable(caller, key.key_id, int(rotate_days))
        changes.append(f"key {key.key_id} rotates every {rotate_days} days")
    elif rotate_days is None and key.rotation_enabled:
        seeding.rotation.disable(caller, key.key_id)
    return changes
