"""The request rates a server enforces, as `--rate-limit` gives them."""

from collections.abc import Mapping
from dataclasses import dataclass

from openkms.domain.limits import DEFAULT_RATE


@dataclass(frozen=True)
class RateConfig:
    """Rates per group name (an action name is its own group unless RATE_GROUPS puts it in one).
    None for a group means unlimited; `enabled=False` turns every limit off."""

    overrides: Mapping[str, int | None]
    default: int | None = DEFAULT_RATE
    enabled: bool = True

    @classmethod
    def parse(cls, specs: list[str]) -> "RateConfig":
        """From `--rate-limit` values: `off`, `GROUP=N`, `GROUP=off`, or `default=N`."""
        if specs == ["off"]:
            return cls({}, enabled=False)
        overrides: dict[str, int | None] = {}
        default: int | None = DEFAULT_RATE
        for spec in specs:
            group, _, value = spec.partition("=")
            if not group or not value or not (value == "off" or value.isdigit()) or value == "0":
                raise ValueError(f"rate limit {spec!r}: expected GROUP=N (N > 0), GROUP=off, default=N, or off")
            rate = None if value == "off" else int(value)
            if group == "default":
                default = rate
            else:
                overrides[group] = rate
        return cls(overrides, default)
