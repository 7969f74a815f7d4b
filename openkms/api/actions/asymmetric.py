"""Asymmetric key actions. The private-key operations run on the event loop (inline): each takes at most
about 0.3 ms of CPU (RSA-2048), and handing it to a worker thread cost more throughput than it saved
(bench/ASYMMETRIC-RESULTS.md). Post-quantum actions stay on worker threads."""

from openkms.api.actions.crypto import returned_plaintext
from openkms.api.actions.registry import Params, Response, Services
from openkms.api.encoding import b64decode, b64encode
from openkms.domain.errors import InvalidCiphertext, InvalidParameterValue, InvalidPlaintext
from openkms.domain.models import Caller


def get_public_key(services: Services, caller: Caller, p: Params) -> Response:
    public = services.asymmetric.public_key(caller, p["KeyId"])
    return {"KeyId": public.key_id, "PublicKey": b64encode(public.der), "PublicKeyPem": public.pem}


def asymmetric_rsa_decrypt(services: Services, caller: Caller, p: Params) -> Response:
    ciphertext = b64decode(p["Ciphertext"], InvalidParameterValue, "Ciphertext")
    key_id, plaintext = services.asymmetric.rsa_decrypt(caller, p["KeyId"], ciphertext, p["Algorithm"])
    return {"KeyId": key_id, "Plaintext": b64encode(plaintext)}


def asymmetric_sm2_decrypt(services: Services, caller: Caller, p: Params) -> Response:
    ciphertext = b64decode(p["Ciphertext"], InvalidParameterValue, "Ciphertext")
    key_id, plaintext = services.asymmetric.sm2_decrypt(caller, p["KeyId"], ciphertext)
    return {"KeyId": key_id, "Plaintext": b64encode(plaintext)}


def sign_by_asymmetric_key(services: Services, caller: Caller, p: Params) -> Response:
    message = b64decode(p["Message"], InvalidParameterValue, "Message")
    signature = services.asymmetric.sign(caller, p["KeyId"], p["Algorithm"], message, p.get("MessageType") or "RAW")
    return {"Signature": b64encode(signature)}


def verify_by_asymmetric_key(services: Services, caller: Caller, p: Params) -> Response:
    message = b64decode(p["Message"], InvalidParameterValue, "Message")
    signature = b64decode(p["SignatureValue"], InvalidParameterValue, "SignatureValue")
    valid = services.asymmetric.verify(
        caller, p["KeyId"], p["Algorithm"], message, signature, p.get("MessageType") or "RAW"
    )
    return {"SignatureValid": valid}


def post_quantum_crypto_encrypt(services: Services, caller: Caller, p: Params) -> Response:
    plaintext = b64decode(p["PlainText"], InvalidPlaintext, "PlainText")
    key_id, blob = services.asymmetric.pq_encrypt(caller, p["KeyId"], plaintext)
    return {"CiphertextBlob": b64encode(blob), "KeyId": key_id}


def post_quantum_crypto_decrypt(services: Services, caller: Caller, p: Params) -> Response:
    blob = b64decode(p["CiphertextBlob"], InvalidCiphertext, "CiphertextBlob")
    key_id, plaintext = services.asymmetric.pq_decrypt(caller, blob)
    return {"KeyId": key_id, "PlainText": returned_plaintext(services, p, plaintext)}


def post_quantum_crypto_sign(services: Services, caller: Caller, p: Params) -> Response:
    message = b64decode(p["Message"], InvalidParameterValue, "Message")
    return {"Signature": b64encode(services.asymmetric.pq_sign(caller, p["KeyId"], message))}


def post_quantum_crypto_verify(services: Services, caller: Caller, p: Params) -> Response:
    message = b64decode(p["Message"], InvalidParameterValue, "Message")
    signature = b64decode(p["SignatureValue"], InvalidParameterValue, "SignatureValue")
    return {"SignatureValid": services.asymmetric.pq_verify(caller, p["KeyId"], message, signature)}
