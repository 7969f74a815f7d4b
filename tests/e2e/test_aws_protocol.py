"""The AWS KMS protocol through boto3 on the same port, with the same credentials, keys, policies and
audit trail as the Tencent API: what one protocol encrypts the other decrypts."""

import base64
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.e2e.test_accounts_and_credentials import create_credential
from tests.e2e.test_authorization import attach, key_resource
from tests.sdk import call
from tests.serverproc import Server, free_port

REGION = "ap-guangzhou"


def aws(server: Server, secret: dict[str, str] | None = None, retries: int = 3) -> Any:
    secret = secret or server.first_credential()
    return boto3.client(
        "kms",
        endpoint_url=f"http://{server.endpoint}",
        region_name=REGION,
        aws_access_key_id=secret["SecretId"],
        aws_secret_access_key=secret["SecretKey"],
        config=Config(retries={"total_max_attempts": retries}),
    )


def error_code(action: Any, **fields: Any) -> str:
    with pytest.raises(ClientError) as caught:
        action(**fields)
    code: str = caught.value.response["Error"]["Code"]
    return code


def test_a_key_made_through_aws_encrypts_decrypts_and_describes_itself(server: Server) -> None:
    kms = aws(server)
    metadata = kms.create_key(Description="made by boto3")["KeyMetadata"]
    key_id = metadata["KeyId"]
    account = server.first_credential()["Account"]
    assert metadata["Arn"] == f"arn:aws:kms:{REGION}:{account}:key/{key_id}"
    assert (metadata["KeyState"], metadata["Enabled"], metadata["KeySpec"]) == ("Enabled", True, "SYMMETRIC_DEFAULT")
    context = {"tenant": "acme", "purpose": "test"}
    sealed = kms.encrypt(KeyId=key_id, Plaintext=b"over the wire", EncryptionContext=context)
    assert sealed["KeyId"] == metadata["Arn"]
    opened = kms.decrypt(CiphertextBlob=sealed["CiphertextBlob"], EncryptionContext=context)
    assert (opened["Plaintext"], opened["KeyId"]) == (b"over the wire", metadata["Arn"])
    assert error_code(kms.decrypt, CiphertextBlob=sealed["CiphertextBlob"]) == "InvalidCiphertextException"
    assert kms.describe_key(KeyId=metadata["Arn"])["KeyMetadata"]["Description"] == "made by boto3"


def test_data_keys_random_bytes_and_listing(server: Server) -> None:
    kms = aws(server)
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    generated = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")
    assert len(generated["Plaintext"]) == 32
    assert kms.decrypt(CiphertextBlob=generated["CiphertextBlob"])["Plaintext"] == generated["Plaintext"]
    blind = kms.generate_data_key_without_plaintext(KeyId=key_id, NumberOfBytes=16)
    assert "Plaintext" not in blind and len(kms.decrypt(CiphertextBlob=blind["CiphertextBlob"])["Plaintext"]) == 16
    assert len(kms.generate_random(NumberOfBytes=24)["Plaintext"]) == 24
    seen, marker = [], None
    while True:
        page = kms.list_keys(Limit=2, **({"Marker": marker} if marker else {}))
        seen += [k["KeyId"] for k in page["Keys"]]
        if not page["Truncated"]:
            break
        marker = page["NextMarker"]
    assert key_id in seen and len(seen) == len(set(seen))


def test_disabled_unknown_and_unserved_are_refused_in_aws_terms(server: Server) -> None:
    kms = aws(server)
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.disable_key(KeyId=key_id)
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Disabled"
    assert error_code(kms.encrypt, KeyId=key_id, Plaintext=b"x") == "DisabledException"
    kms.enable_key(KeyId=key_id)
    assert error_code(kms.encrypt, KeyId=str(uuid.uuid4()), Plaintext=b"x") == "NotFoundException"
    assert error_code(kms.encrypt, KeyId="alias/no-such-alias", Plaintext=b"x") == "NotFoundException"
    unserved = error_code(kms.update_primary_region, KeyId=key_id, PrimaryRegion="us-east-1")
    assert unserved == "UnsupportedOperationException"


def test_a_wrong_secret_or_an_unknown_access_key_is_refused(server: Server) -> None:
    secret = server.first_credential()
    wrong = aws(server, {**secret, "SecretKey": "not-the-secret"})
    assert error_code(wrong.list_keys) == "InvalidSignatureException"
    unknown = aws(server, {**secret, "SecretId": "AKIDunknown000000000000000000000000"})
    assert error_code(unknown.list_keys) == "UnrecognizedClientException"


def test_what_one_protocol_encrypts_the_other_decrypts(server: Server) -> None:
    tencent, kms = server.client(), aws(server)
    alias = f"both-{uuid.uuid4().hex[:10]}"
    key_id = call(tencent, "CreateKey", Alias=alias)["KeyId"]
    context = {"tenant": "acme"}
    blob = call(
        tencent, "Encrypt", KeyId=key_id, Plaintext=base64.b64encode(b"from tencent").decode(),
        EncryptionContext=json.dumps(context),
    )["CiphertextBlob"]  # fmt: skip
    assert kms.decrypt(CiphertextBlob=base64.b64decode(blob), EncryptionContext=context)["Plaintext"] == b"from tencent"
    generated = kms.generate_data_key(KeyId=f"alias/{alias}", KeySpec="AES_256", EncryptionContext=context)
    opened = call(
        tencent, "Decrypt", CiphertextBlob=base64.b64encode(generated["CiphertextBlob"]).decode(),
        EncryptionContext=json.dumps(context),
    )  # fmt: skip
    assert base64.b64decode(opened["Plaintext"]) == generated["Plaintext"]


def test_one_policy_governs_both_protocols(fresh_server: Server, tmp_path: Path) -> None:
    admin = aws(fresh_server)
    allowed = admin.create_key()["KeyMetadata"]["KeyId"]
    other = admin.create_key()["KeyMetadata"]["KeyId"]
    secret = create_credential(fresh_server)
    statement = {"effect": "allow", "action": ["kms:Encrypt"], "resource": key_resource(allowed)}
    attach(fresh_server, secret["SecretId"], "encrypt-one", [statement], tmp_path)
    restricted = aws(fresh_server, secret)
    sealed = restricted.encrypt(KeyId=allowed, Plaintext=b"ok")["CiphertextBlob"]
    assert error_code(restricted.encrypt, KeyId=other, Plaintext=b"no") == "AccessDeniedException"
    assert error_code(restricted.decrypt, CiphertextBlob=sealed) == "AccessDeniedException"


def aws_environment(server: Server, secret: dict[str, str] | None = None) -> dict[str, str]:
    secret = secret or server.first_credential()
    return {
        **os.environ,
        "AWS_ACCESS_KEY_ID": secret["SecretId"],
        "AWS_SECRET_ACCESS_KEY": secret["SecretKey"],
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL": f"http://{server.endpoint}",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }


def tool(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def test_the_aws_cli_creates_and_uses_keys(server: Server, tmp_path: Path) -> None:
    environment = aws_environment(server)
    (tmp_path / "plain").write_bytes(b"hello")
    created = subprocess.run(
        [tool("aws"), "kms", "create-key", "--description", "from the cli", "--output", "json"],
        capture_output=True, text=True, env=environment, timeout=60,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    key_id = json.loads(created.stdout)["KeyMetadata"]["KeyId"]
    sealed = subprocess.run(
        [tool("aws"), "kms", "encrypt", "--key-id", key_id, "--plaintext", f"fileb://{tmp_path / 'plain'}"],
        capture_output=True, text=True, env=environment, timeout=60,
    )  # fmt: skip
    assert sealed.returncode == 0, sealed.stderr
    blob = base64.b64decode(json.loads(sealed.stdout)["CiphertextBlob"])
    assert aws(server).decrypt(CiphertextBlob=blob)["Plaintext"] == b"hello"
    missing = subprocess.run(
        [tool("aws"), "kms", "describe-key", "--key-id", str(uuid.uuid4())],
        capture_output=True, text=True, env=environment, timeout=60,
    )  # fmt: skip
    assert missing.returncode != 0 and "NotFoundException" in missing.stderr


def test_a_file_sealed_by_the_aws_encryption_sdk_opens_until_the_key_is_disabled_or_denied(
    fresh_server: Server, tmp_path: Path
) -> None:
    kms = aws(fresh_server)
    key_arn = kms.create_key()["KeyMetadata"]["Arn"]
    (tmp_path / "plain").write_bytes(os.urandom(10_000))
    environment = aws_environment(fresh_server)
    common = ["--wrapping-keys", f"key={key_arn}", "--encryption-context", "purpose=test", "-S"]

    def cli(direction: str, source: str, target: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        command = [tool("aws-encryption-cli"), direction, "--input", str(tmp_path / source)]
        return subprocess.run(
            [*command, "--output", str(tmp_path / target), *common],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )

    assert cli("--encrypt", "plain", "sealed", environment).returncode == 0
    opened = cli("--decrypt", "sealed", "opened", environment)
    assert opened.returncode == 0, opened.stderr
    assert (tmp_path / "opened").read_bytes() == (tmp_path / "plain").read_bytes()

    secret = create_credential(fresh_server)
    statement = {"effect": "allow", "action": ["kms:Encrypt", "kms:GenerateDataKey"], "resource": "*"}
    attach(fresh_server, secret["SecretId"], "no-decrypt", [statement], tmp_path)
    assert cli("--decrypt", "sealed", "denied", aws_environment(fresh_server, secret)).returncode != 0
    kms.disable_key(KeyId=key_arn)
    assert cli("--decrypt", "sealed", "disabled", environment).returncode != 0
    assert not (tmp_path / "denied").exists() and not (tmp_path / "disabled").exists()


def test_aliases_name_keys_in_the_one_alias_namespace_of_both_protocols(server: Server) -> None:
    kms, tencent = aws(server), server.client()
    first, second = (kms.create_key()["KeyMetadata"]["KeyId"] for _ in range(2))
    name = f"alias/aws-{uuid.uuid4().hex[:10]}"
    kms.create_alias(AliasName=name, TargetKeyId=first)
    assert call(tencent, "DescribeKey", KeyId=first)["KeyMetadata"]["Alias"] == name.removeprefix("alias/")
    assert error_code(kms.create_alias, AliasName=name, TargetKeyId=second) == "AlreadyExistsException"
    listed = {a["AliasName"]: a["TargetKeyId"] for a in kms.list_aliases(KeyId=first)["Aliases"]}
    assert listed == {name: first}
    kms.update_alias(AliasName=name, TargetKeyId=second)
    assert kms.describe_key(KeyId=name)["KeyMetadata"]["KeyId"] == second
    kms.delete_alias(AliasName=name)
    assert error_code(kms.describe_key, KeyId=name) == "NotFoundException"
    assert error_code(kms.create_alias, AliasName="alias/aws/reserved", TargetKeyId=first) == "ValidationException"


def test_moving_an_alias_needs_permission_on_the_key_it_leaves(fresh_server: Server, tmp_path: Path) -> None:
    admin = aws(fresh_server)
    held, wanted = (admin.create_key()["KeyMetadata"]["KeyId"] for _ in range(2))
    admin.create_alias(AliasName="alias/prod", TargetKeyId=held)
    secret = create_credential(fresh_server)
    statement = {"effect": "allow", "action": ["kms:UpdateAlias"], "resource": key_resource(wanted)}
    attach(fresh_server, secret["SecretId"], "alias-on-one-key", [statement], tmp_path)
    restricted = aws(fresh_server, secret, retries=1)
    assert error_code(restricted.update_alias, AliasName="alias/prod", TargetKeyId=wanted) == "AccessDeniedException"
    [alias] = [a for a in admin.list_aliases()["Aliases"] if a["AliasName"] == "alias/prod"]
    assert alias["TargetKeyId"] == held


def test_rotation_description_deletion_and_re_encryption_through_aws(server: Server) -> None:
    kms = aws(server)
    key_id, other = (kms.create_key()["KeyMetadata"]["KeyId"] for _ in range(2))
    kms.update_key_description(KeyId=key_id, Description="renamed")
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["Description"] == "renamed"
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=90)
    status = kms.get_key_rotation_status(KeyId=key_id)
    assert (status["KeyRotationEnabled"], status["RotationPeriodInDays"]) == (True, 90)
    sealed = kms.encrypt(KeyId=key_id, Plaintext=b"before rotation", EncryptionContext={"a": "b"})["CiphertextBlob"]
    assert kms.list_key_rotations(KeyId=key_id)["Rotations"] == []
    kms.rotate_key_on_demand(KeyId=key_id)
    [rotation] = kms.list_key_rotations(KeyId=key_id)["Rotations"]
    assert (rotation["KeyId"], rotation["RotationType"]) == (key_id, "ON_DEMAND")
    assert kms.decrypt(CiphertextBlob=sealed, EncryptionContext={"a": "b"})["Plaintext"] == b"before rotation"
    moved = kms.re_encrypt(
        CiphertextBlob=sealed, SourceEncryptionContext={"a": "b"}, DestinationKeyId=other,
        DestinationEncryptionContext={"c": "d"},
    )  # fmt: skip
    assert moved["KeyId"].endswith(other) and moved["SourceKeyId"].endswith(key_id)
    opened = kms.decrypt(CiphertextBlob=moved["CiphertextBlob"], EncryptionContext={"c": "d"})
    assert opened["Plaintext"] == b"before rotation"
    kms.disable_key_rotation(KeyId=key_id)
    scheduled = kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)  # an enabled key, as AWS allows
    assert scheduled["KeyState"] == "PendingDeletion"
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingDeletion"
    assert error_code(kms.encrypt, KeyId=key_id, Plaintext=b"x") == "KMSInvalidStateException"
    kms.cancel_key_deletion(KeyId=key_id)
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Disabled"


@pytest.mark.parametrize(
    ("key_spec", "algorithm"),
    [("RSA_2048", "RSASSA_PSS_SHA_256"), ("ECC_NIST_P256", "ECDSA_SHA_256"), ("ECC_NIST_P384", "ECDSA_SHA_384")],
)
def test_asymmetric_keys_sign_and_verify_as_aws_defines_the_algorithms(
    server: Server, key_spec: str, algorithm: str
) -> None:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

    kms = aws(server)
    metadata = kms.create_key(KeySpec=key_spec, KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    assert metadata["KeySpec"] == key_spec and algorithm in metadata["SigningAlgorithms"]
    public = kms.get_public_key(KeyId=metadata["KeyId"])
    assert public["KeyUsage"] == "SIGN_VERIFY"
    signed = kms.sign(KeyId=metadata["KeyId"], Message=b"signed through aws", SigningAlgorithm=algorithm)
    key = serialization.load_der_public_key(public["PublicKey"])
    if isinstance(key, rsa.RSAPublicKey):
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)
        key.verify(signed["Signature"], b"signed through aws", pss, hashes.SHA256())
    else:
        assert isinstance(key, ec.EllipticCurvePublicKey)
        digest = hashes.SHA256() if algorithm.endswith("256") else hashes.SHA384()
        key.verify(signed["Signature"], b"signed through aws", ec.ECDSA(digest))
    verified = kms.verify(
        KeyId=metadata["KeyId"],
        Message=b"signed through aws",
        Signature=signed["Signature"],
        SigningAlgorithm=algorithm,
    )
    assert verified["SignatureValid"] is True
    forged = error_code(
        kms.verify, KeyId=metadata["KeyId"], Message=b"something else", Signature=signed["Signature"],
        SigningAlgorithm=algorithm,
    )  # fmt: skip
    assert forged == "KMSInvalidSignatureException"


def test_asymmetric_keys_encrypt_and_decrypt_as_aws_defines_the_algorithms(server: Server) -> None:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    kms, tencent = aws(server), server.client()
    rsa_key = kms.create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]
    assert rsa_key["EncryptionAlgorithms"] == ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]
    key_id = rsa_key["KeyId"]
    sealed = kms.encrypt(KeyId=key_id, Plaintext=b"a data key", EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    assert (sealed["KeyId"], sealed["EncryptionAlgorithm"]) == (rsa_key["Arn"], "RSAES_OAEP_SHA_256")
    opened = kms.decrypt(
        KeyId=key_id, CiphertextBlob=sealed["CiphertextBlob"], EncryptionAlgorithm="RSAES_OAEP_SHA_256"
    )
    assert opened["Plaintext"] == b"a data key"
    by_tencent = call(
        tencent,
        "AsymmetricRsaDecrypt",
        KeyId=key_id,
        Ciphertext=base64.b64encode(sealed["CiphertextBlob"]).decode(),
        Algorithm="RSAES_OAEP_SHA_256",
    )
    assert base64.b64decode(by_tencent["Plaintext"]) == b"a data key"
    public = serialization.load_der_public_key(kms.get_public_key(KeyId=key_id)["PublicKey"])
    assert isinstance(public, rsa.RSAPublicKey)
    oaep_sha1 = padding.OAEP(padding.MGF1(hashes.SHA1()), hashes.SHA1(), None)
    offline = public.encrypt(b"sealed offline", oaep_sha1)
    assert kms.decrypt(KeyId=key_id, CiphertextBlob=offline, EncryptionAlgorithm="RSAES_OAEP_SHA_1")["Plaintext"] == (
        b"sealed offline"
    )
    refusals = {
        "too long": error_code(
            kms.encrypt, KeyId=key_id, Plaintext=b"x" * 191, EncryptionAlgorithm="RSAES_OAEP_SHA_256"
        ),
        "symmetric algorithm": error_code(kms.encrypt, KeyId=key_id, Plaintext=b"x"),
        "no key id": error_code(kms.decrypt, CiphertextBlob=offline, EncryptionAlgorithm="RSAES_OAEP_SHA_1"),
        "wrong padding": error_code(
            kms.decrypt, KeyId=key_id, CiphertextBlob=offline, EncryptionAlgorithm="RSAES_OAEP_SHA_256"
        ),
    }
    assert refusals == {
        "too long": "ValidationException",
        "symmetric algorithm": "InvalidKeyUsageException",
        "no key id": "ValidationException",
        "wrong padding": "InvalidCiphertextException",
    }
    sm2_key = kms.create_key(KeySpec="SM2", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]["KeyId"]
    sealed = kms.encrypt(KeyId=sm2_key, Plaintext=b"national", EncryptionAlgorithm="SM2PKE")
    by_tencent = call(
        tencent, "AsymmetricSm2Decrypt", KeyId=sm2_key, Ciphertext=base64.b64encode(sealed["CiphertextBlob"]).decode()
    )
    assert base64.b64decode(by_tencent["Plaintext"]) == b"national"
    assert (
        kms.decrypt(KeyId=sm2_key, CiphertextBlob=sealed["CiphertextBlob"], EncryptionAlgorithm="SM2PKE")["Plaintext"]
        == b"national"
    )


@pytest.mark.parametrize("spec", ["ECC_NIST_P256", "RSA_2048", "SM2"])
def test_a_data_key_pair_comes_with_its_private_key_sealed_as_encrypt_seals(server: Server, spec: str) -> None:
    from cryptography.hazmat.primitives import serialization

    kms, tencent = aws(server), server.client()
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    context = {"purpose": "signing"}
    pair = kms.generate_data_key_pair(KeyId=key_id, KeyPairSpec=spec, EncryptionContext=context)
    assert pair["KeyPairSpec"] == spec and pair["KeyId"].endswith(key_id)
    if spec == "SM2":  # the cryptography package reads no SM2 keys; OpenSSL's SM2, as the server uses it
        from openkms.crypto import sm2

        assert sm2.public_key(pair["PrivateKeyPlaintext"])[0] == pair["PublicKey"]
    else:
        private = serialization.load_der_private_key(pair["PrivateKeyPlaintext"], None)
        public = private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        assert public == pair["PublicKey"]
    opened = kms.decrypt(CiphertextBlob=pair["PrivateKeyCiphertextBlob"], EncryptionContext=context)
    assert opened["Plaintext"] == pair["PrivateKeyPlaintext"]
    by_tencent = call(
        tencent,
        "Decrypt",
        CiphertextBlob=base64.b64encode(pair["PrivateKeyCiphertextBlob"]).decode(),
        EncryptionContext=json.dumps(context),
    )
    assert base64.b64decode(by_tencent["Plaintext"]) == pair["PrivateKeyPlaintext"]
    bare = kms.generate_data_key_pair_without_plaintext(KeyId=key_id, KeyPairSpec=spec)
    assert "PrivateKeyPlaintext" not in bare
    assert bare["PublicKey"] != pair["PublicKey"] and "PrivateKeyCiphertextBlob" in bare
    assert error_code(kms.generate_data_key_pair, KeyId=key_id, KeyPairSpec="DSA_1024") == "ValidationException"


def test_an_hmac_key_generates_and_verifies_macs_and_does_nothing_else(server: Server) -> None:
    kms = aws(server)
    metadata = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
    assert (metadata["KeySpec"], metadata["MacAlgorithms"]) == ("HMAC_256", ["HMAC_SHA_256"])
    key_id = metadata["KeyId"]
    made = kms.generate_mac(KeyId=key_id, Message=b"authentic", MacAlgorithm="HMAC_SHA_256")
    assert len(made["Mac"]) == 32 and made["KeyId"] == metadata["Arn"]
    again = kms.generate_mac(KeyId=key_id, Message=b"authentic", MacAlgorithm="HMAC_SHA_256")["Mac"]
    assert again == made["Mac"]
    checked = kms.verify_mac(KeyId=key_id, Message=b"authentic", MacAlgorithm="HMAC_SHA_256", Mac=made["Mac"])
    assert checked["MacValid"] is True
    tencent = call(server.client(), "DescribeKey", KeyId=key_id)["KeyMetadata"]
    assert tencent["KeyUsage"] == "HMAC_256"
    refusals = {
        "forged": error_code(
            kms.verify_mac, KeyId=key_id, Message=b"forged", MacAlgorithm="HMAC_SHA_256", Mac=made["Mac"]
        ),
        "other algorithm": error_code(kms.generate_mac, KeyId=key_id, Message=b"x", MacAlgorithm="HMAC_SHA_512"),
        "encrypt": error_code(kms.encrypt, KeyId=key_id, Plaintext=b"x"),
        "mac with an AES key": error_code(
            kms.generate_mac,
            KeyId=kms.create_key()["KeyMetadata"]["KeyId"],
            Message=b"x",
            MacAlgorithm="HMAC_SHA_256",
        ),
    }
    assert refusals == {
        "forged": "KMSInvalidMacException",
        "other algorithm": "InvalidKeyUsageException",
        "encrypt": "InvalidKeyUsageException",
        "mac with an AES key": "InvalidKeyUsageException",
    }
    kms.disable_key(KeyId=key_id)
    assert error_code(kms.generate_mac, KeyId=key_id, Message=b"x", MacAlgorithm="HMAC_SHA_256") == (
        "DisabledException"
    )


def test_tags_are_added_overwritten_removed_and_filter_tencent_listings(server: Server) -> None:
    kms, tencent = aws(server), server.client()
    key_id = kms.create_key(Tags=[{"TagKey": "team", "TagValue": "red"}])["KeyMetadata"]["KeyId"]
    kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "team", "TagValue": "blue"}, {"TagKey": "env", "TagValue": "dev"}])
    tags = {t["TagKey"]: t["TagValue"] for t in kms.list_resource_tags(KeyId=key_id)["Tags"]}
    assert tags == {"team": "blue", "env": "dev"}
    found = call(tencent, "ListKeyDetail", TagFilters=[{"TagKey": "team", "TagValue": ["blue"]}], Limit=100)
    assert key_id in [k["KeyId"] for k in found["KeyMetadatas"]]
    kms.untag_resource(KeyId=key_id, TagKeys=["team"])
    assert kms.list_resource_tags(KeyId=key_id)["Tags"] == [{"TagKey": "env", "TagValue": "dev"}]


def test_key_material_imported_through_aws_encrypts_and_comes_back_after_deletion(server: Server) -> None:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    kms = aws(server)
    key_id = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingImport"
    material = os.urandom(32)

    def import_material() -> None:
        parameters = kms.get_parameters_for_import(
            KeyId=key_id, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048"
        )
        public = serialization.load_der_public_key(parameters["PublicKey"])
        assert isinstance(public, rsa.RSAPublicKey)
        oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
        kms.import_key_material(
            KeyId=key_id, ImportToken=parameters["ImportToken"], EncryptedKeyMaterial=public.encrypt(material, oaep),
            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
        )  # fmt: skip

    import_material()
    metadata = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert (metadata["KeyState"], metadata["Origin"]) == ("Enabled", "EXTERNAL")
    sealed = kms.encrypt(KeyId=key_id, Plaintext=b"bring your own key")["CiphertextBlob"]
    kms.delete_imported_key_material(KeyId=key_id)
    assert error_code(kms.decrypt, CiphertextBlob=sealed) == "KMSInvalidStateException"
    import_material()
    assert kms.decrypt(CiphertextBlob=sealed)["Plaintext"] == b"bring your own key"


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_second_port_serves_the_aws_api_only(tmp_path: Path, workers: str) -> None:
    aws_port = free_port()
    server = Server(tmp_path / "data", ("--aws-listen", f"127.0.0.1:{aws_port}", "--workers", workers)).start()
    try:
        secret = server.first_credential()
        on_aws_port = boto3.client(
            "kms",
            endpoint_url=f"http://127.0.0.1:{aws_port}",
            region_name=REGION,
            aws_access_key_id=secret["SecretId"],
            aws_secret_access_key=secret["SecretKey"],
        )
        key_id = on_aws_port.create_key(Description="made on the AWS port")["KeyMetadata"]["KeyId"]
        described = call(server.client(), "DescribeKey", KeyId=key_id)["KeyMetadata"]
        assert described["Description"] == "made on the AWS port"
        tencent_body = json.dumps({"KeyId": key_id}).encode()
        refused = urllib.request.Request(
            f"http://127.0.0.1:{aws_port}/",
            tencent_body,
            {"Content-Type": "application/json", "X-TC-Action": "DescribeKey"},
        )
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(refused, timeout=10)
        assert json.loads(caught.value.read())["__type"] == "MissingAuthenticationTokenException"
    finally:
        server.stop()


def test_both_protocols_draw_on_one_rate_budget(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", ("--rate-limit", "GenerateDataKey=3"), rate_limits=True).start()
    try:
        kms, tencent = aws(server, retries=1), server.client()  # botocore retries throttling by default
        key_id = kms.create_key()["KeyMetadata"]["KeyId"]
        for _ in range(2):
            call(tencent, "GenerateDataKey", KeyId=key_id, KeySpec="AES_256")
        outcomes = []
        for _ in range(3):
            try:
                kms.generate_data_key_without_plaintext(KeyId=key_id, KeySpec="AES_256")
                outcomes.append("ok")
            except ClientError as refused:
                outcomes.append(refused.response["Error"]["Code"])
        assert "ThrottlingException" in outcomes
    finally:
        server.stop()
