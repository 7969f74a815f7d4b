"""Access policies in the style of Tencent CAM, attached to credentials.

    {"version": "2.0",
     "statement": [{"effect": "allow",
                    "action": ["kms:Decrypt"],
                    "resource": ["qcs::kms:ap-guangzhou:uin/100000000001:key/*"],
                    "condition": {"string_equal": {"kms:EncryptionContext/tenant": "acme"}}}]}

A request is allowed when, for every resource it touches, some allow statement matches and no deny
statement does: an explicit deny wins, and no matching allow means denied. A credential with no
policy at all is its account's administrator (see PolicySet.unrestricted).
"""

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from openkms.domain.errors import InvalidParameterValue

ALLOW, DENY = "allow", "deny"
CONTEXT_KEY_PREFIX = "kms:EncryptionContext/"
OPERATORS = ("string_equal", "string_not_equal", "string_like", "string_not_like")


@dataclass(frozen=True)
class Resource:
    """Something a request touches, and the EncryptionContext it is used with (for conditions)."""

    name: str
    context: Mapping[str, str]


@dataclass(frozen=True)
class Condition:
    operator: str
    key: str
    values: tuple[str, ...]

    def holds(self, context: Mapping[str, str]) -> bool:
        actual = context.get(self.key.removeprefix(CONTEXT_KEY_PREFIX))
        if actual is None:
            return False  # a condition on a key the request does not carry never holds
        if self.operator == "string_equal":
            return actual in self.values
        if self.operator == "string_not_equal":
            return actual not in self.values
        matched = any(fnmatchcase(actual, pattern) for pattern in self.values)
        return matched if self.operator == "string_like" else not matched


@dataclass(frozen=True)
class Statement:
    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    conditions: tuple[Condition, ...]

    def matches(self, action: str, resource: Resource) -> bool:
        return (
            any(fnmatchcase(action.lower(), pattern.lower()) for pattern in self.actions)
            and any(fnmatchcase(resource.name, pattern) for pattern in self.resources)
            and all(condition.holds(resource.context) for condition in self.conditions)
        )


@dataclass(frozen=True)
class Policy:
    name: str
    statements: tuple[Statement, ...]
    document: str


@dataclass(frozen=True)
class PolicySet:
    policies: tuple[Policy, ...]

    @property
    def unrestricted(self) -> bool:
        return not self.policies

    def denial(
        self, action: str, resources: Sequence[Resource], granted: Callable[[int, Resource], bool] | None = None
    ) -> str | None:
        """Why `action` on `resources` is refused, or None when it is allowed. `granted(i, resource)`,
        asked only where no policy allows and none denies the i-th resource, may allow it instead (a
        grant of the key)."""
        if self.unrestricted:
            return None
        statements = [s for p in self.policies for s in p.statements]
        for index, resource in enumerate(resources):
            if any(s.effect == DENY and s.matches(action, resource) for s in statements):
                return f"a policy denies {action} on {resource.name}"
            if any(s.effect == ALLOW and s.matches(action, resource) for s in statements):
                continue
            if granted is None or not granted(index, resource):
                return f"no policy allows {action} on {resource.name}" + (", and no grant" if granted else "")
        return None


def _strings(value: Any, where: str) -> tuple[str, ...]:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
        raise InvalidParameterValue(f"{where} must be a non-empty string or list of strings.")
    return tuple(values)


def _conditions(raw: Any, where: str) -> tuple[Condition, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise InvalidParameterValue(f"{where}.condition must be an object of operators.")
    conditions = []
    for operator, tests in raw.items():
        if operator not in OPERATORS:
            raise InvalidParameterValue(f"{where}.condition: unknown operator {operator!r}; use one of {OPERATORS}.")
        if not isinstance(tests, dict):
            raise InvalidParameterValue(f"{where}.condition.{operator} must map condition keys to values.")
        for key, values in tests.items():
            if not key.startswith(CONTEXT_KEY_PREFIX) or key == CONTEXT_KEY_PREFIX:
                raise InvalidParameterValue(
                    f"{where}.condition: unknown key {key!r}; keys are {CONTEXT_KEY_PREFIX}<context key>."
                )
            conditions.append(Condition(operator, key, _strings(values, f"{where}.condition.{operator}.{key}")))
    return tuple(conditions)


def parse_policy(name: str, document: str) -> Policy:
    """A policy from its JSON document; InvalidParameterValue naming what is wrong."""
    try:
        raw = json.loads(document)
    except ValueError:
        raise InvalidParameterValue(f"Policy {name} is not valid JSON.") from None
    statements_raw = raw.get("statement") if isinstance(raw, dict) else None
    if not isinstance(statements_raw, list) or not statements_raw:
        raise InvalidParameterValue(f'Policy {name} needs a non-empty "statement" list.')
    statements = []
    for index, item in enumerate(statements_raw):
        where = f"statement[{index}]"
        if not isinstance(item, dict):
            raise InvalidParameterValue(f"{where} must be an object.")
        unknown = set(item) - {"effect", "action", "resource", "condition"}
        if unknown:
            raise InvalidParameterValue(f"{where} has unknown fields: {', '.join(sorted(unknown))}.")
        effect = item.get("effect")
        if effect not in (ALLOW, DENY):
            raise InvalidParameterValue(f'{where}.effect must be "allow" or "deny".')
        actions = _strings(item.get("action"), f"{where}.action")
        for action in actions:
            if action != "*" and not action.lower().startswith("kms:"):
                raise InvalidParameterValue(f"{where}.action {action!r} is not a KMS action (kms:Encrypt, kms:*).")
        resources = _strings(item.get("resource"), f"{where}.resource")
        statements.append(Statement(effect, actions, resources, _conditions(item.get("condition"), where)))
    return Policy(name, tuple(statements), document)
