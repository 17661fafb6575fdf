"""RFC 3161 on the wire and offline: build a time-stamp query, read the reply, verify a token.

asn1crypto reads the structures (it accepts what OpenSSL-based authorities send: their certificate
sets are not in DER order, which strict parsers such as rfc3161-client's refuse) and `cryptography`
checks the signatures. A token verifies when: the authority granted it; its imprint is the SHA-256 (or
SHA-384/512) of the data; the signed attributes carry the TSTInfo's content type and digest; the
signature over them is the signer certificate's; that certificate has the critical timeStamping key
usage, was valid at the token's time and chains (through certificates in the token or the trust
file) to a trusted root. Revocation is not checked: there is no network to ask.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

_HASHES = {"sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}


class TokenError(ValueError):
    """Not a time-stamp reply, or not one that verifies; the message says which check failed."""


@dataclass(frozen=True)
class TokenInfo:
    gen_time: datetime
    serial: str
    digest: bytes
    hash_name: str
    nonce: int | None
    tsa_name: str | None


def query(data: bytes) -> tuple[bytes, int]:
    """A DER TimeStampReq over SHA-256 of ``data`` asking for the signer's certificate; and its nonce."""
    from asn1crypto import algos, tsp

    nonce = secrets.randbits(63)
    request = tsp.TimeStampReq({
        "version": 1,
        "message_imprint": {"hash_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
                            "hashed_message": hashlib.sha256(data).digest()},
        "nonce": nonce,
        "cert_req": True,
    })  # fmt: skip
    return request.dump(), nonce


def _parse(token: bytes) -> Any:
    from asn1crypto import tsp

    try:
        reply = tsp.TimeStampResp.load(token)
        status = reply["status"]["status"].native
        if status not in ("granted", "granted_with_mods"):
            text = reply["status"]["status_string"].native or []
            raise TokenError(f"the authority refused ({status}{': ' + ' '.join(text) if text else ''})")
        signed = reply["time_stamp_token"]["content"]
        info = signed["encap_content_info"]["content"].parsed
        info.native  # noqa: B018  (parses every field now, so a damaged token fails here)
    except TokenError:
        raise
    except Exception:  # asn1crypto raises ValueError/TypeError/KeyError on damaged DER alike
        raise TokenError("not a time-stamp reply (damaged or another kind of file)") from None
    return reply, signed, info


def read(token: bytes) -> TokenInfo:
    _, _, info = _parse(token)
    tsa = info["tsa"]
    name = None
    if tsa.native is not None:
        name = tsa.chosen.human_friendly if tsa.name == "directory_name" else str(tsa.native)
    return TokenInfo(
        gen_time=info["gen_time"].native.astimezone(UTC),
        serial=str(info["serial_number"].native),
        digest=info["message_imprint"]["hashed_message"].native,
        hash_name=info["message_imprint"]["hash_algorithm"]["algorithm"].native,
        nonce=info["nonce"].native,
        tsa_name=name,
    )


def _certificates(signed: Any) -> list[Any]:
    from cryptography import x509

    out = []
    for choice in signed["certificates"] or []:
        if choice.name == "certificate":
            out.append(x509.load_der_x509_certificate(choice.chosen.dump()))
    return out


def _verify_signature(cert: Any, signature: bytes, data: bytes, hash_name: str, sig_algo: Any) -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

    algorithm = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(), "sha512": hashes.SHA512()}.get(hash_name)
    if algorithm is None:
        raise TokenError(f"the token is signed with an unsupported digest ({hash_name})")
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        if sig_algo.signature_algo == "rsassa_pss":
            key.verify(signature, data, padding.PSS(padding.MGF1(algorithm), padding.PSS.AUTO), algorithm)
        else:
            key.verify(signature, data, padding.PKCS1v15(), algorithm)
    elif isinstance(key, ec.EllipticCurvePublicKey):
        key.verify(signature, data, ec.ECDSA(algorithm))
    else:
        raise TokenError("the token is signed with an unsupported key type")


def _chain_to_root(leaf: Any, pool: list[Any], roots: list[Any], at: datetime) -> None:
    from cryptography.x509 import ExtendedKeyUsage, ExtendedKeyUsageOID, ExtensionNotFound

    try:
        eku = leaf.extensions.get_extension_for_class(ExtendedKeyUsage)
    except ExtensionNotFound:
        raise TokenError("the signer certificate is not a time-stamping certificate (no key usage)") from None
    if not eku.critical or ExtendedKeyUsageOID.TIME_STAMPING not in eku.value:
        raise TokenError("the signer certificate is not a time-stamping certificate (timeStamping, critical)")
    cert, seen = leaf, 0
    while seen < 8:
        if not cert.not_valid_before_utc <= at <= cert.not_valid_after_utc:
            raise TokenError(f"certificate {cert.subject.rfc4514_string()} was not valid at {at:%Y-%m-%d %H:%M} UTC")
        for root in roots:
            if root.subject == cert.issuer and _issued_by(cert, root):
                return
        issuers = [c for c in pool if c.subject == cert.issuer and c != cert and _issued_by(cert, c)]
        if not issuers:
            raise TokenError(f"the signer does not chain to a trusted root ({cert.issuer.rfc4514_string()} unknown)")
        cert, seen = issuers[0], seen + 1
    raise TokenError("the certificate chain is too long")


def _issued_by(cert: Any, issuer: Any) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except Exception:  # ValueError, TypeError, InvalidSignature: not issued by it
        return False
    return True


def _signer_certificate(sid: Any, certs: list[Any]) -> Any:
    from cryptography.x509 import SubjectKeyIdentifier

    if sid.name == "issuer_and_serial_number":
        chosen = sid.chosen
        return next((c for c in certs if c.serial_number == chosen["serial_number"].native
                     and c.issuer.public_bytes() == chosen["issuer"].dump()), None)  # fmt: skip
    for cert in certs:  # subject_key_identifier
        try:
            if cert.extensions.get_extension_for_class(SubjectKeyIdentifier).value.digest == sid.chosen.native:
                return cert
        except Exception:  # noqa: S112  (no such extension: not this one)
            continue
    return None


def verify(token: bytes, data: bytes, roots: list[Any]) -> TokenInfo:
    """The token's facts when it is a valid timestamp of ``data`` under ``roots``; else TokenError."""
    from cryptography.exceptions import InvalidSignature

    if not roots:
        raise TokenError("no TSA certificate to check the token against (set SHEKTEU_TSA_CA_FILE or pass --tsa-ca)")
    _, signed, info = _parse(token)
    facts = read(token)
    digest = _HASHES.get(facts.hash_name)
    if digest is None or digest(data).digest() != facts.digest:
        raise TokenError("the token is for other data (its imprint differs)")
    infos = signed["signer_infos"]
    if len(infos) != 1:
        raise TokenError(f"expected one signer, found {len(infos)}")
    signer = infos[0]
    certs = _certificates(signed)
    leaf = _signer_certificate(signer["sid"], certs)
    if leaf is None:
        raise TokenError("the token does not carry its signer's certificate")
    attrs = signer["signed_attrs"]
    found = {a["type"].native: a["values"][0].native for a in attrs}
    hash_name = signer["digest_algorithm"]["algorithm"].native
    content = signed["encap_content_info"]["content"].contents
    attr_hash = _HASHES.get(hash_name, hashlib.sha256)
    if found.get("content_type") != "tst_info" or found.get("message_digest") != attr_hash(content).digest():
        raise TokenError("the token's signed attributes do not match its content")
    signed_bytes = b"\x31" + attrs.dump()[1:]  # signed over as a SET OF, not the [0] it is stored as
    try:
        _verify_signature(leaf, signer["signature"].native, signed_bytes, hash_name, signer["signature_algorithm"])
    except InvalidSignature:
        raise TokenError("the token's signature does not verify (altered)") from None
    del info
    _chain_to_root(leaf, certs, roots, facts.gen_time)
    return facts


def load_roots(pem: bytes) -> list[Any]:
    from cryptography import x509

    return x509.load_pem_x509_certificates(pem)
