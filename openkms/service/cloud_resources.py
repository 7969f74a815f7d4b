"""Cloud-resource bindings: which cloud product's resource uses which key (BindCloudResource).

Binding cancels the key's automatic expiry (imported material's ValidTo), as Tencent Cloud documents,
so that a key a resource depends on does not lapse. Where the documents are silent OpenKMS protects
the resource: a bound key cannot be disabled, scheduled for deletion, or lose its imported material
(FailedOperation.CmkUsedByCloudProduct, naming the resources) until every resource is unbound.
"""

from dataclasses import replace

from openkms.domain.errors import CloudResourceBindingNotFound, InvalidParameterValue, KeyUsedByCloudResources
from openkms.domain.limits import PRODUCT_ID_MAX, RESOURCE_ID_MAX
from openkms.domain.models import Caller, CloudResource, Key
from openkms.service.base import KeyPlan, KeyServiceBase
from openkms.service.states import Operation
from openkms.store.base import KeyStore, KeyWrite

SHOWN_IN_REFUSALS = 5


def check_resource(product_id: str, resource_id: str) -> CloudResource:
    if not 0 < len(product_id) <= PRODUCT_ID_MAX:
        raise InvalidParameterValue(f"ProductId is 1-{PRODUCT_ID_MAX} characters; got {len(product_id)}.")
    if not 0 < len(resource_id) <= RESOURCE_ID_MAX:
        raise InvalidParameterValue(f"ResourceId is 1-{RESOURCE_ID_MAX} characters; got {len(resource_id)}.")
    return CloudResource(product_id, resource_id)


class CloudResourceService(KeyServiceBase):
    def bind(self, caller: Caller, key_id: str, product_id: str, resource_id: str) -> None:
        resource = check_resource(product_id, resource_id)
        key = self._ring.owned(caller, key_id, fresh=True)
        if key.valid_to:
            self._lifecycle.change(caller, [key.key_id], Operation.UPDATE, lambda k: replace(k, valid_to=0))
        else:
            self._lifecycle.change(caller, [key.key_id], Operation.UPDATE)  # the key's state must allow it
        self._store.bind_cloud_resource(key.key_id, resource, int(self._clock.now()))

    def unbind(self, caller: Caller, key_id: str, product_id: str, resource_id: str) -> None:
        resource = check_resource(product_id, resource_id)
        key = self._ring.owned(caller, key_id, fresh=True)
        if not self._store.unbind_cloud_resource(key.key_id, resource):
            raise CloudResourceBindingNotFound(
                f"Key {key.key_id} is not bound to resource {resource_id[:128]!r} of product {product_id[:64]!r}."
            )

    def resources(self, caller: Caller, key_id: str) -> list[CloudResource]:
        key = self._ring.owned(caller, key_id)
        return self._store.cloud_resources_of([key.key_id]).get(key.key_id, [])


def refuse_if_bound(store: KeyStore, key_id: str, action: str) -> None:
    """Refuse `action` on a key cloud resources still use, naming them."""
    bound = store.cloud_resources_of([key_id]).get(key_id, [])
    if bound:
        named = ", ".join(f"{r.product_id}/{r.resource_id[:64]}" for r in bound[:SHOWN_IN_REFUSALS])
        more = f" and {len(bound) - SHOWN_IN_REFUSALS} more" if len(bound) > SHOWN_IN_REFUSALS else ""
        raise KeyUsedByCloudResources(
            f"Cannot {action} key {key_id}: cloud resources use it ({named}{more}). "
            "UnbindCloudResource each of them first."
        )


def unless_bound(store: KeyStore, action: str, plan: KeyPlan) -> KeyPlan:
    """The plan, refused for a key a cloud resource uses (checked once the caller is known to own it)."""

    def checked(stored: Key, moved: Key) -> KeyWrite | None:
        refuse_if_bound(store, stored.key_id, action)
        return plan(stored, moved)

    return checked
