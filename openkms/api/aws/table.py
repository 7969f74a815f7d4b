"""Every AWS KMS action OpenKMS serves: the key actions and the grant actions, in one table."""

from collections.abc import Mapping
from types import MappingProxyType

from openkms.api.aws.actions import KEY_ACTIONS, AwsAction
from openkms.api.aws.grants import GRANT_ACTIONS

AWS_ACTIONS: Mapping[str, AwsAction] = MappingProxyType({**KEY_ACTIONS, **GRANT_ACTIONS})
