"""The table of implemented actions: name -> handler. Each handler parses its typed parameters,
calls the domain, and shapes the response fields; nothing else."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from openkms.models import Caller
from openkms.service.asymmetric import AsymmetricService
from openkms.service.crypto_ops import CryptoService
from openkms.service.data_keys import DataKeyService
from openkms.service.key_import import ImportService
from openkms.service.keys import KeyService
from openkms.service.rotation import RotationService


@dataclass(frozen=True)
class Services:
    keys: KeyService
    crypto: CryptoService
    rotation: RotationService
    imports: ImportService
    data_keys: DataKeyService
    asymmetric: AsymmetricService
    regions: Sequence[str]
    qps: int
    """The account's symmetric-operation rate (what Tencent Cloud reports as its QPS); 0 when unlimited."""


Params = dict[str, Any]
Response = dict[str, Any]
Handler = Callable[[Services, Caller, Params], Response]

Inline = Callable[[Params], bool]
"""Whether a call may run on the event loop: it only reads single rows and computes (the hot path).
Anything that writes, scans or waits goes to a worker thread."""


@dataclass(frozen=True)
class Registered:
    handler: Handler
    inline: Inline


HANDLERS: dict[str, Registered] = {}


def _never(params: Params) -> bool:
    return False


def _always(params: Params) -> bool:
    return True


def action(name: str, inline: bool | Inline = False) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        decide = inline if callable(inline) else (_always if inline else _never)
        HANDLERS[name] = Registered(handler, decide)
        return handler

    return register
