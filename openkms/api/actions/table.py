"""Every action OpenKMS serves, in one table a reader can see whole: the handler that answers it, and
whether it may run on the event loop. A call runs on the loop when it only reads single rows (mostly
from the key cache) and computes: the hot path, spared a thread hand-off. Anything that writes, scans
or waits runs on a worker thread. An action of the API missing here answers UnsupportedOperation."""

from collections.abc import Mapping
from types import MappingProxyType

from openkms.api.actions import (
    asymmetric,
    audit,
    cloud_resources,
    crypto,
    data_keys,
    key_import,
    keys,
    rotation,
    service,
    whitebox,
)
from openkms.api.actions.registry import Action, Params, always


def unless_hosted(params: Params) -> bool:
    """GenerateDataKey runs on the loop unless the data key is to be stored (a write)."""
    return not params.get("IsHostedByKms")


ACTIONS: Mapping[str, Action] = MappingProxyType(
    {
        # Service
        "GetServiceStatus": Action(service.get_service_status),
        "GetRegions": Action(service.get_regions, runs_on_loop=always),
        "ListAlgorithms": Action(service.list_algorithms, runs_on_loop=always),
        # OpenKMS's own (api/schema.py EXTENSION_ACTIONS)
        "ListAuditEvents": Action(audit.list_audit_events),
        "ListKeyVersions": Action(keys.list_key_versions),
        "ListKeyTags": Action(keys.list_key_tags),
        # Key lifecycle
        "CreateKey": Action(keys.create_key),
        "DescribeKey": Action(keys.describe_key, runs_on_loop=always),
        "DescribeKeys": Action(keys.describe_keys, runs_on_loop=always),
        "ListKeys": Action(keys.list_keys),
        "ListKeyDetail": Action(keys.list_key_detail),
        "UpdateAlias": Action(keys.update_alias),
        "UpdateKeyDescription": Action(keys.update_key_description),
        "EnableKey": Action(keys.enable_key),
        "DisableKey": Action(keys.disable_key),
        "EnableKeys": Action(keys.enable_keys),
        "DisableKeys": Action(keys.disable_keys),
        "ScheduleKeyDeletion": Action(keys.schedule_key_deletion),
        "CancelKeyDeletion": Action(keys.cancel_key_deletion),
        "ArchiveKey": Action(keys.archive_key),
        "CancelKeyArchive": Action(keys.cancel_key_archive),
        # Symmetric cryptography
        "Encrypt": Action(crypto.encrypt, runs_on_loop=always),
        "Decrypt": Action(crypto.decrypt, runs_on_loop=always),
        "ReEncrypt": Action(crypto.re_encrypt, runs_on_loop=always),
        "GenerateDataKey": Action(crypto.generate_data_key, runs_on_loop=unless_hosted),
        "GenerateRandom": Action(crypto.generate_random, runs_on_loop=always),
        # Rotation
        "EnableKeyRotation": Action(rotation.enable_key_rotation),
        "DisableKeyRotation": Action(rotation.disable_key_rotation),
        "GetKeyRotationStatus": Action(rotation.get_key_rotation_status, runs_on_loop=always),
        "RotateKey": Action(rotation.rotate_key),
        # Imported key material
        "GetParametersForImport": Action(key_import.get_parameters_for_import),
        "ImportKeyMaterial": Action(key_import.import_key_material),
        "DeleteImportedKeyMaterial": Action(key_import.delete_imported_key_material),
        # Asymmetric and post-quantum keys
        "GetPublicKey": Action(asymmetric.get_public_key, runs_on_loop=always),
        "AsymmetricRsaDecrypt": Action(asymmetric.asymmetric_rsa_decrypt, runs_on_loop=always),
        "AsymmetricSm2Decrypt": Action(asymmetric.asymmetric_sm2_decrypt, runs_on_loop=always),
        "SignByAsymmetricKey": Action(asymmetric.sign_by_asymmetric_key, runs_on_loop=always),
        "VerifyByAsymmetricKey": Action(asymmetric.verify_by_asymmetric_key, runs_on_loop=always),
        "PostQuantumCryptoEncrypt": Action(asymmetric.post_quantum_crypto_encrypt),
        "PostQuantumCryptoDecrypt": Action(asymmetric.post_quantum_crypto_decrypt),
        "PostQuantumCryptoSign": Action(asymmetric.post_quantum_crypto_sign),
        "PostQuantumCryptoVerify": Action(asymmetric.post_quantum_crypto_verify),
        # Hosted data keys
        "ImportDataKey": Action(data_keys.import_data_key),
        "DescribeDataKey": Action(data_keys.describe_data_key, runs_on_loop=always),
        "DescribeDataKeys": Action(data_keys.describe_data_keys, runs_on_loop=always),
        "ListDataKeys": Action(data_keys.list_data_keys),
        "ListDataKeyDetail": Action(data_keys.list_data_key_detail),
        "GetDataKeyPlaintext": Action(data_keys.get_data_key_plaintext, runs_on_loop=always),
        "GetDataKeyCiphertextBlob": Action(data_keys.get_data_key_ciphertext_blob, runs_on_loop=always),
        "EnableDataKey": Action(data_keys.enable_data_key),
        "EnableDataKeys": Action(data_keys.enable_data_keys),
        "DisableDataKey": Action(data_keys.disable_data_key),
        "DisableDataKeys": Action(data_keys.disable_data_keys),
        "ScheduleDataKeyDeletion": Action(data_keys.schedule_data_key_deletion),
        "CancelDataKeyDeletion": Action(data_keys.cancel_data_key_deletion),
        "UpdateDataKeyName": Action(data_keys.update_data_key_name),
        "UpdateDataKeyDescription": Action(data_keys.update_data_key_description),
        # Cloud-resource bindings
        "BindCloudResource": Action(cloud_resources.bind_cloud_resource),
        "UnbindCloudResource": Action(cloud_resources.unbind_cloud_resource),
        # White-box keys (tables are generated on creation, read from the store and unsealed otherwise)
        "CreateWhiteBoxKey": Action(whitebox.create_white_box_key),
        "DeleteWhiteBoxKey": Action(whitebox.delete_white_box_key),
        "DescribeWhiteBoxKey": Action(whitebox.describe_white_box_key),
        "DescribeWhiteBoxKeyDetails": Action(whitebox.describe_white_box_key_details),
        "DescribeWhiteBoxDecryptKey": Action(whitebox.describe_white_box_decrypt_key),
        "DescribeWhiteBoxServiceStatus": Action(whitebox.describe_white_box_service_status, runs_on_loop=always),
        "EnableWhiteBoxKey": Action(whitebox.enable_white_box_key),
        "EnableWhiteBoxKeys": Action(whitebox.enable_white_box_keys),
        "DisableWhiteBoxKey": Action(whitebox.disable_white_box_key),
        "DisableWhiteBoxKeys": Action(whitebox.disable_white_box_keys),
        "EncryptByWhiteBox": Action(whitebox.encrypt_by_white_box),
        "DescribeWhiteBoxDeviceFingerprints": Action(whitebox.describe_white_box_device_fingerprints),
        "OverwriteWhiteBoxDeviceFingerprints": Action(whitebox.overwrite_white_box_device_fingerprints),
    }
)
