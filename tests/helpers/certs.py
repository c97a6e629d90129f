"""Self-signed test certificates: PEM and PFX files, valid, expired or about to expire.

    cert = make_certificate(days=10)                  # expires in ten days
    pfx = cert.write_pfx(tmp_path / "app.pfx", "secret")
    pem, key = cert.write_pem(tmp_path / "app.crt", tmp_path / "app.key", key_password="pw")

RSA keys take a tenth of a second each to generate, so a few are made once per test session
and reused (`rsa_key(n)`); pass `key=` to pair a certificate with a given key.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID


@cache
def rsa_key(index: int = 0) -> rsa.RSAPrivateKey:
    """The index-th RSA 2048 key of this test session (different indexes, different keys)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@cache
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@dataclass(frozen=True)
class SelfSignedCert:
    key: CertificateIssuerPrivateKeyTypes
    certificate: x509.Certificate

    @property
    def der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)

    @property
    def thumbprint(self) -> str:
        """SHA-1 of the DER certificate, hex upper case: what Windows shows."""
        return hashlib.sha1(self.der).hexdigest().upper()

    @property
    def x5t(self) -> str:
        digest = hashlib.sha1(self.der).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def cert_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def key_pem(self, password: str | None = None, traditional: bool = False) -> bytes:
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(password.encode("utf-8"))
            if password
            else serialization.NoEncryption()
        )
        fmt = (
            serialization.PrivateFormat.TraditionalOpenSSL
            if traditional
            else serialization.PrivateFormat.PKCS8
        )
        return self.key.private_bytes(serialization.Encoding.PEM, fmt, encryption)

    def pfx(self, password: str | None = "secret", include_key: bool = True) -> bytes:
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(password.encode("utf-8"))
            if password
            else serialization.NoEncryption()
        )
        key = self.key if include_key else None
        return pkcs12.serialize_key_and_certificates(
            b"opus-desktop-test",
            key,
            self.certificate,
            None,
            encryption,  # type: ignore[arg-type]
        )

    def write_pfx(
        self, path: Path, password: str | None = "secret", include_key: bool = True
    ) -> Path:
        path.write_bytes(self.pfx(password, include_key))
        return path

    def write_pem(
        self,
        cert_path: Path,
        key_path: Path | None = None,
        key_password: str | None = None,
        traditional: bool = False,
    ) -> tuple[Path, Path]:
        """Write the certificate, and the key beside it (or into the same file if no key_path)."""
        key_bytes = self.key_pem(key_password, traditional)
        if key_path is None:
            cert_path.write_bytes(self.cert_pem() + key_bytes)
            return cert_path, cert_path
        cert_path.write_bytes(self.cert_pem())
        key_path.write_bytes(key_bytes)
        return cert_path, key_path


def make_certificate(
    common_name: str = "Opus Desktop Test",
    organization: str | None = "Contoso Records",
    *,
    days: float = 365,
    valid_from: datetime | None = None,
    key: CertificateIssuerPrivateKeyTypes | None = None,
) -> SelfSignedCert:
    """A self-signed certificate valid from `valid_from` (default: a day ago) for `days` more
    days from now. A negative `days` gives one that has already expired."""
    now = datetime.now(UTC)
    signer = key if key is not None else rsa_key(0)
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    name = x509.Name(attributes)
    not_after = now + timedelta(days=days)
    not_before = valid_from if valid_from is not None else min(now, not_after) - timedelta(days=1)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(signer.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .sign(signer, hashes.SHA256())
    )
    return SelfSignedCert(signer, certificate)


def expired_certificate(days_ago: float = 3, **kwargs: object) -> SelfSignedCert:
    return make_certificate(days=-days_ago, **kwargs)  # type: ignore[arg-type]


def expiring_certificate(days: float = 10, **kwargs: object) -> SelfSignedCert:
    return make_certificate(days=days, **kwargs)  # type: ignore[arg-type]
