"""AWS's grant actions (CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant) and
grant tokens, over the grant service.

A grant token names its grant (base64url of `openkms-grant-token/1/<key id>/<grant id>`): it retires
the grant, and is accepted wherever AWS takes GrantTokens. Grants apply the moment CreateGrant
returns, so a token adds no permission; one that is not a token OpenKMS made is refused
(InvalidGrantTokenException), as AWS refuses it."""

import base64
import binascii
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from openkms.api.actions.registry import Services
from openkms.api.aws.actions import (
    AwsAction,
    Params,
    Response,
    arn,
    as_is,
    page_request,
    paged,
    resolve_key_id,
    with_key,
)
from openkms.api.errors import ApiError
from openkms.domain.errors import InvalidParameterValue, MissingParameter
from openkms.domain.models import Caller, Grant
from openkms.service.grants import GrantUse, check_principal, check_terms

TOKEN_PREFIX = "openkms-grant-token/1/"
GRANT_TOKENS_MAX = 10
GRANT_TOKEN_MAX_CHARS = 8192
LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT = 50, 100
TERMS = "_grant_terms"
"""Where a CreateGrant's checked terms travel from its translation to the policy check and handler."""


def grant_token(grant: Grant) -> str:
    return base64.urlsafe_b64encode(f"{TOKEN_PREFIX}{grant.key_id}/{grant.grant_id}".encode()).decode()


def parse_grant_token(token: object) -> tuple[str, str]:
    """(key id, grant id) of a token OpenKMS made; InvalidGrantTokenException for anything else."""
    if isinstance(token, str) and 0 < len(token) <= GRANT_TOKEN_MAX_CHARS:
        try:
            text = base64.urlsafe_b64decode(token.encode()).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            text = ""
        if text.startswith(TOKEN_PREFIX):
            key_id, _, grant_id = text[len(TOKEN_PREFIX) :].partition("/")
            if key_id and grant_id:
                return key_id, grant_id
    raise ApiError("InvalidGrantTokenException", "The grant token is not one OpenKMS issued.")


def check_grant_tokens(params: Params) -> None:
    """GrantTokens, wherever a request carries them: at most ten, each one OpenKMS issued."""
    tokens = params.get("GrantTokens")
    if tokens is None:
        return
    if not isinstance(tokens, list) or len(tokens) > GRANT_TOKENS_MAX:
        raise InvalidParameterValue(f"GrantTokens is a list of at most {GRANT_TOKENS_MAX} grant tokens.")
    for token in tokens:
        parse_grant_token(token)


def grant_use(action: str, translated: Params) -> GrantUse:
    """What the request asks of a grant, for the policy check (the grant it retires or creates)."""
    if action == "RetireGrant":
        return GrantUse(retiring=str(translated["GrantId"]))
    if action == "CreateGrant":
        return GrantUse(creating=translated[TERMS])
    return GrantUse()


def _dry_run(p: Params) -> None:
    if p.get("DryRun") is True:
        raise ApiError("DryRunOperationException", "The request would have succeeded; DryRun was set.")


def _entry(caller: Caller, grant: Grant) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "KeyId": arn(caller, grant.key_id),
        "GrantId": grant.grant_id,
        "CreationDate": grant.create_time,
        "GranteePrincipal": grant.grantee,
        "IssuingAccount": f"arn:aws:iam::{grant.account}:root",
        "Operations": list(grant.operations),
    }
    if grant.name:
        entry["Name"] = grant.name
    if grant.retiring:
        entry["RetiringPrincipal"] = grant.retiring
    if grant.context_subset is not None:
        entry["Constraints"] = {"EncryptionContextSubset": dict(grant.context_subset)}
    if grant.context_equals is not None:
        entry["Constraints"] = {"EncryptionContextEquals": dict(grant.context_equals)}
    return entry


def _page(caller: Caller, grants: list[Grant], p: Params) -> Response:
    offset, limit = page_request(p, LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT)
    page = grants[offset : offset + limit]
    return paged({"Grants": [_entry(caller, grant) for grant in page]}, offset, len(page), len(grants))


def _create_params(services: Services, caller: Caller, p: Params) -> Params:
    constraints = p.get("Constraints") or {}
    if not isinstance(constraints, dict):
        raise InvalidParameterValue("Constraints is a map.")
    terms = check_terms(
        p.get("Operations"), constraints.get("EncryptionContextSubset"), constraints.get("EncryptionContextEquals")
    )
    return {"KeyId": resolve_key_id(services, caller, p.get("KeyId")), TERMS: terms}


def create_grant(services: Services, caller: Caller, p: Params, t: Params) -> Response:
    grantee = check_principal(caller.account, p.get("GranteePrincipal"), "GranteePrincipal")
    retiring = check_principal(caller.account, p.get("RetiringPrincipal"), "RetiringPrincipal", required=False)
    name = p.get("Name", "")
    if not isinstance(name, str):
        raise InvalidParameterValue("Name is text.")
    _dry_run(p)
    grant = services.grants.create(caller, t["KeyId"], grantee, t[TERMS], retiring, name)
    return {"GrantToken": grant_token(grant), "GrantId": grant.grant_id}


def list_grants(services: Services, caller: Caller, p: Params, t: Params) -> Response:
    grant_id, grantee = p.get("GrantId", ""), p.get("GranteePrincipal", "")
    if not isinstance(grant_id, str) or not isinstance(grantee, str):
        raise InvalidParameterValue("GrantId and GranteePrincipal are text.")
    return _page(caller, services.grants.of_key(caller, t["KeyId"], grant_id, grantee), p)


def list_retirable_grants(services: Services, caller: Caller, p: Params, t: Params) -> Response:
    retiring = check_principal(caller.account, p.get("RetiringPrincipal"), "RetiringPrincipal")
    return _page(caller, services.grants.retirable(caller, retiring), p)


def _retire_params(services: Services, caller: Caller, p: Params) -> Params:
    if p.get("GrantToken") is not None:
        key_id, grant_id = parse_grant_token(p["GrantToken"])
        return {"KeyId": key_id, "GrantId": grant_id}
    return _grant_params(services, caller, p)


def _grant_params(services: Services, caller: Caller, p: Params) -> Params:
    grant_id = p.get("GrantId")
    if not isinstance(grant_id, str) or not grant_id:
        raise MissingParameter("GrantId is required (or, to retire, GrantToken).")
    key_id = (
        resolve_key_id(services, caller, p["KeyId"]) if "KeyId" in p else services.grants.key_of_grant(caller, grant_id)
    )
    return {"KeyId": key_id, "GrantId": grant_id}


def retire_grant(services: Services, caller: Caller, p: Params, t: Params) -> Response:
    _dry_run(p)
    services.grants.remove(caller, t["KeyId"], t["GrantId"])
    return {}


def revoke_grant(services: Services, caller: Caller, p: Params, t: Params) -> Response:
    if "KeyId" not in p:
        raise MissingParameter("KeyId is required.")
    _dry_run(p)
    services.grants.remove(caller, t["KeyId"], t["GrantId"])
    return {}


GRANT_ACTIONS: Mapping[str, AwsAction] = MappingProxyType(
    {
        "CreateGrant": AwsAction("CreateGrant", _create_params, create_grant),
        "ListGrants": AwsAction("ListGrants", with_key, list_grants),
        "ListRetirableGrants": AwsAction("ListRetirableGrants", as_is, list_retirable_grants),
        "RetireGrant": AwsAction("RetireGrant", _retire_params, retire_grant),
        "RevokeGrant": AwsAction("RevokeGrant", _grant_params, revoke_grant),
    }
)
"""AWS-only actions, authorized under their own names (kms:CreateGrant, ...)."""
