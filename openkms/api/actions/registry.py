"""The table of implemented actions: name -> handler. Each handler parses its typed parameters,
calls the domain, and shapes the response fields; nothing else."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from openkms.models import Caller
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
    regions: Sequence[str]


Params = dict[str, Any]
Response = dict[str, Any]
Handler = Callable[[Services, Caller, Params], Response]

HANDLERS: dict[str, Handler] = {}


def action(name: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        HANDLERS[name] = handler
        return handler

    return register
