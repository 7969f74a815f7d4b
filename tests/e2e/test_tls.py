"""HTTPS: a self-signed certificate for local use, or the operator's own."""

from pathlib import Path

import pytest
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.kms.v20190118 import kms_client

from tests.sdk import call
from tests.serverproc import Server


def https_client(server: Server, ca_bundle: str | bool) -> kms_client.KmsClient:
    secret = server.first_credential()
    http = HttpProfile(endpoint=server.endpoint, protocol="https", reqTimeout=30)
    http.certification = ca_bundle
    return kms_client.KmsClient(
        credential.Credential(secret["SecretId"], secret["SecretKey"]), "ap-guangzhou", ClientProfile(httpProfile=http)
    )


def hang_up(*clients: kms_client.KmsClient) -> None:
    """Close the clients' keep-alive connections: an open idle TLS connection holds up a graceful stop."""
    for client in clients:
        client.request.conn._session.close()


def test_self_signed_https(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", ("--tls-self-signed",)).start()
    try:
        certificate = tmp_path / "data" / "tls" / "cert.pem"
        assert certificate.exists()
        assert f"self-signed certificate: {certificate}" in server.log()
        client = https_client(server, str(certificate))
        key_id = call(client, "CreateKey", Alias="over-tls")["KeyId"]
        blob = call(client, "Encrypt", KeyId=key_id, Plaintext="aGk=")["CiphertextBlob"]
        assert call(client, "Decrypt", CiphertextBlob=blob)["Plaintext"] == "aGk="

        with pytest.raises(TencentCloudSDKException) as untrusted:
            call(https_client(server, True), "GetRegions")  # the system's CAs do not know this certificate
        assert untrusted.value.get_code() == "ClientNetworkError"
        with pytest.raises(TencentCloudSDKException) as plain:
            call(server.client(), "GetRegions")  # plain HTTP to an HTTPS port
        assert plain.value.get_code() in ("ClientNetworkError", "ServerNetworkError")
        hang_up(client)
    finally:
        server.stop()


def test_operator_certificate(tmp_path: Path) -> None:
    from openkms.crypto.certificates import self_signed_certificate

    cert, key = self_signed_certificate(tmp_path / "own", ["127.0.0.1"])
    server = Server(tmp_path / "data", ("--tls-cert", str(cert), "--tls-key", str(key))).start()
    try:
        client = https_client(server, str(cert))
        assert call(client, "GetRegions")["Regions"] == ["ap-guangzhou"]
        hang_up(client)
    finally:
        server.stop()


def test_the_self_signed_certificate_trusts_nothing_but_this_server(tmp_path: Path) -> None:
    """Clients are told to trust the issuer: it may vouch for the server's own names only, and its
    private key no longer exists; the server's certificate is no CA."""
    from cryptography import x509

    from openkms.crypto.certificates import self_signed_certificate

    cert, key = self_signed_certificate(tmp_path / "tls", ["127.0.0.1", "localhost"])
    leaf, issuer = x509.load_pem_x509_certificates(cert.read_bytes())
    assert leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert leaf.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign is False
    constraints = issuer.extensions.get_extension_for_class(x509.NameConstraints).value
    assert {str(name.value) for name in constraints.permitted_subtrees or []} == {"127.0.0.1/32", "localhost"}
    assert x509.load_pem_x509_certificate((tmp_path / "tls" / "ca.pem").read_bytes()) == issuer
    assert sorted(path.name for path in (tmp_path / "tls").iterdir()) == ["ca.pem", "cert.pem", "key.pem"]
    assert key.read_bytes().count(b"PRIVATE KEY-----") == 2, "one private key: the server's"

    server = Server(tmp_path / "data", ("--tls-cert", str(cert), "--tls-key", str(key))).start()
    try:
        client = https_client(server, str(tmp_path / "tls" / "ca.pem"))
        assert call(client, "GetRegions")["Regions"] == ["ap-guangzhou"]
        hang_up(client)
    finally:
        server.stop()
