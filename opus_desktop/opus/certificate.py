"""The app certificate: read a .pfx or a PEM pair, check it, and describe it.

Opus signs nothing itself: the app proves who it is by signing a short JWT with the private
key of the certificate registered for its client id (see auth.py). This module turns the
user's files into a `Credential` and every way they can be wrong into one sentence. What a
certificate is once read (CertificateInfo, Credential) lives in credentials.py, which
does not load cryptography: the window shows them and starts without it.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from opus_desktop.opus.credentials import WARN_DAYS as WARN_DAYS
from opus_desktop.opus.credentials import CertificateInfo as CertificateInfo
from opus_desktop.opus.credentials import Credential as Credential
from opus_desktop.opus.credentials import PasswordNeeded as PasswordNeeded
from opus_desktop.opus.errors import CertificateError, WrongPassword


def load_certificate(
    pfx: Path | None = None,
    password: str | None = None,
    cert_pem: Path | None = None,
    key_pem: Path | None = None,
) -> Credential:
    """Read the app certificate from a .pfx, or from a PEM certificate and a PEM key.

    `password` opens the .pfx or an encrypted PEM key. The key must be RSA (Opus asks for
    RS256) and must belong to the certificate. Expiry is not checked here, so an expired
    certificate can still be shown; call `check_usable()` before signing in.
    """
    if pfx is not None:
        if cert_pem is not None or key_pem is not None:
            raise CertificateError(
                "Choose either a .pfx file or a PEM certificate and key, not both."
            )
        source = pfx
        cert, key = _read_pfx(pfx, password)
    elif cert_pem is not None:
        source = cert_pem
        cert_data = _read(cert_pem)
        certs = _parse_certificates(cert_data, cert_pem)
        if key_pem is not None:
            key = _parse_pem_key(_read(key_pem), key_pem, password)
        elif b"PRIVATE KEY-----" in cert_data:
            key = _parse_pem_key(cert_data, cert_pem, password)
        else:
            raise CertificateError(
                f"{cert_pem.name} holds a certificate but no private key: "
                "choose the PEM file with its private key as well."
            )
        cert = _matching(certs, key) or certs[0]
    else:
        raise CertificateError(
            "No certificate chosen: give a .pfx file, or a PEM certificate and key."
        )

    if key is None:
        raise CertificateError(
            f"{source.name} holds the certificate {_subject(cert)} but not its private key. "
            "Export the certificate again with its private key (a .pfx with the key included)."
        )
    if not _same_public_key(cert, key):
        raise CertificateError(
            f"The private key does not belong to the certificate {_subject(cert)} in "
            f"{source.name}: they come from different certificates."
        )
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CertificateError(
            f"The certificate {_subject(cert)} in {source.name} does not have an RSA key; "
            "Opus only accepts RSA certificates (RS256). Create an RSA certificate instead."
        )
    info = _info(cert, source)
    return Credential(**{name: getattr(info, name) for name in _INFO_FIELDS}, private_key=key)


def describe_certificate(path: Path, password: str | None = None) -> CertificateInfo:
    """Subject, expiry and thumbprint of the certificate in `path` (.pfx, .pem, .cer, .crt).

    The private key is not needed; a .pfx still needs its password, since the certificate
    inside is normally encrypted too.
    """
    data = _read(path)
    if _looks_like_pkcs12(data):
        cert, _key = _read_pfx(path, password, data)
        return _info(cert, path)
    return _info(_parse_certificates(data, path)[0], path)


_INFO_FIELDS = (
    "path",
    "subject",
    "issuer",
    "not_before",
    "not_after",
    "thumbprint",
    "x5t",
    "certificate",
)


def _info(cert: x509.Certificate, path: Path) -> CertificateInfo:
    digest = hashlib.sha1(cert.public_bytes(serialization.Encoding.DER)).digest()
    return CertificateInfo(
        path=path,
        subject=_subject(cert),
        issuer=_readable_name(cert.issuer),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        thumbprint=digest.hex().upper(),
        x5t=base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii"),
        certificate=cert,
    )


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise CertificateError(f"The certificate file {path} does not exist.") from None
    except IsADirectoryError:
        raise CertificateError(f"{path} is a folder, not a certificate file.") from None
    except OSError as exc:
        raise CertificateError(
            f"The certificate file {path} cannot be read: {exc.strerror}."
        ) from None


def _read_pfx(
    path: Path, password: str | None, data: bytes | None = None
) -> tuple[x509.Certificate, PrivateKeyTypes | None]:
    raw = _read(path) if data is None else data
    if not _looks_like_pkcs12(raw):
        if b"-----BEGIN" in raw:
            raise CertificateError(
                f"{path.name} is a PEM file, not a .pfx: choose it as the PEM certificate "
                "(and its key as the PEM key)."
            )
        raise CertificateError(f"{path.name} is not a certificate file (.pfx/PKCS#12).")
    # An unprotected .pfx refuses a password, and some tools protect with an empty one:
    # try what the user gave first, then the other two.
    candidates: list[bytes | None] = [password.encode("utf-8")] if password else []
    candidates += [None, b""]
    loaded = None
    for candidate in candidates:
        try:
            loaded = pkcs12.load_pkcs12(raw, candidate)
            break
        except ValueError:
            continue
    if loaded is None:
        if password:
            raise WrongPassword(f"The password for {path.name} is wrong.")
        raise PasswordNeeded(
            f"{path.name} is protected by a password: enter the certificate password."
        )
    key = loaded.key
    if loaded.cert is not None:
        return loaded.cert.certificate, key
    extra = [c.certificate for c in loaded.additional_certs]
    if not extra:
        raise CertificateError(f"{path.name} holds no certificate.")
    cert = (_matching(extra, key) if key is not None else None) or extra[0]
    return cert, key


def _looks_like_pkcs12(data: bytes) -> bool:
    """A DER SEQUENCE whose first element is INTEGER 3: the PFX version field."""
    if len(data) < 8 or data[0] != 0x30:
        return False
    first = data[1]
    offset = 2 + (first & 0x7F if first & 0x80 else 0)
    return data[offset : offset + 3] == b"\x02\x01\x03"


def _parse_certificates(data: bytes, path: Path) -> list[x509.Certificate]:
    if b"-----BEGIN CERTIFICATE-----" in data:
        try:
            return x509.load_pem_x509_certificates(data)
        except ValueError:
            raise CertificateError(
                f"The certificate in {path.name} is damaged and cannot be read."
            ) from None
    if _looks_like_pkcs12(data):
        raise CertificateError(f"{path.name} is a .pfx file: choose it as the .pfx certificate.")
    try:
        return [x509.load_der_x509_certificate(data)]
    except ValueError:
        pass
    if b"PRIVATE KEY-----" in data:
        raise CertificateError(f"{path.name} holds a private key but no certificate.")
    raise CertificateError(f"{path.name} is not a certificate file (PEM or DER).")


def _parse_pem_key(data: bytes, path: Path, password: str | None) -> PrivateKeyTypes:
    if b"PRIVATE KEY-----" not in data:
        raise CertificateError(f"{path.name} is not a private key file (PEM).")
    secret = password.encode("utf-8") if password else None
    try:
        return serialization.load_pem_private_key(data, secret)
    except TypeError:
        if secret is None:
            raise PasswordNeeded(
                f"The private key in {path.name} is protected by a password: enter it."
            ) from None
        # A password was given for a key that has none: the key is usable as it is.
        return serialization.load_pem_private_key(data, None)
    except ValueError:
        if secret is not None and b"ENCRYPTED" in data:
            raise WrongPassword(
                f"The password for the private key in {path.name} is wrong."
            ) from None
        raise CertificateError(
            f"The private key in {path.name} is damaged and cannot be read."
        ) from None
    except UnsupportedAlgorithm:
        raise CertificateError(
            f"The private key in {path.name} is of a kind that cannot be used."
        ) from None


def _public_der(key: object) -> bytes | None:
    public = getattr(key, "public_key", None)
    if public is None:
        return None
    der: bytes = public().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return der


def _same_public_key(cert: x509.Certificate, key: PrivateKeyTypes) -> bool:
    theirs = _public_der(key)
    return theirs is not None and theirs == _public_der_of_cert(cert)


def _public_der_of_cert(cert: x509.Certificate) -> bytes:
    return cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _matching(certs: list[x509.Certificate], key: PrivateKeyTypes) -> x509.Certificate | None:
    wanted = _public_der(key)
    return next((c for c in certs if _public_der_of_cert(c) == wanted), None)


def _subject(cert: x509.Certificate) -> str:
    return _readable_name(cert.subject)


def _readable_name(name: x509.Name) -> str:
    """'Opus Connector (Contoso)' from CN and O; the full name when neither is there."""

    def first(oid: x509.ObjectIdentifier) -> str:
        values = name.get_attributes_for_oid(oid)
        value = values[0].value if values else ""
        return value.decode("utf-8", "replace") if isinstance(value, bytes) else value

    common, org = first(NameOID.COMMON_NAME), first(NameOID.ORGANIZATION_NAME)
    if common and org:
        return f"{common} ({org})"
    return common or org or name.rfc4514_string() or "(no name)"
