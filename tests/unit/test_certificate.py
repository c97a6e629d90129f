"""The app certificate: every way of giving it, and every way it can be wrong."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from opus_desktop.opus.certificate import describe_certificate, load_certificate
from opus_desktop.opus.errors import CertificateError
from tests.helpers.certs import (
    ec_key,
    expired_certificate,
    expiring_certificate,
    make_certificate,
    rsa_key,
)


def test_pfx_gives_subject_expiry_thumbprint_and_key(tmp_path: Path) -> None:
    cert = make_certificate("Opus Connector", "Contoso", days=200)
    pfx = cert.write_pfx(tmp_path / "app.pfx", "s3cret")

    credential = load_certificate(pfx=pfx, password="s3cret")

    assert credential.subject == "Opus Connector (Contoso)"
    assert credential.not_after == cert.certificate.not_valid_after_utc
    assert credential.not_after.tzinfo is not None
    assert credential.thumbprint == hashlib.sha1(cert.der).hexdigest().upper()
    assert len(credential.thumbprint) == 40 and credential.thumbprint.isupper()
    digest = hashlib.sha1(cert.der).digest()
    assert credential.x5t == base64.urlsafe_b64encode(digest).decode().rstrip("=")
    assert "=" not in credential.x5t
    assert isinstance(credential.private_key, rsa.RSAPrivateKey)
    assert credential.private_key.public_key().public_numbers() == (
        cert.certificate.public_key().public_numbers()  # type: ignore[union-attr]
    )
    assert credential.days_left in (198, 199, 200)
    assert not credential.expires_soon
    credential.check_usable()


def test_subject_without_organisation_is_the_common_name(tmp_path: Path) -> None:
    cert = make_certificate("Just A Name", None)
    credential = load_certificate(pfx=cert.write_pfx(tmp_path / "a.pfx", "pw"), password="pw")
    assert credential.subject == "Just A Name"


def test_pfx_without_password_is_read_when_it_has_none(tmp_path: Path) -> None:
    cert = make_certificate()
    pfx = cert.write_pfx(tmp_path / "open.pfx", None)
    assert load_certificate(pfx=pfx).thumbprint == cert.thumbprint
    # A password given for an unprotected file does no harm.
    assert load_certificate(pfx=pfx, password="ignored").thumbprint == cert.thumbprint


def test_pfx_needing_a_password_says_so(tmp_path: Path) -> None:
    pfx = make_certificate().write_pfx(tmp_path / "locked.pfx", "s3cret")
    with pytest.raises(CertificateError, match="protected by a password") as caught:
        load_certificate(pfx=pfx)
    assert caught.value.exit_code == 2
    assert "locked.pfx" in caught.value.message


def test_pfx_wrong_password_says_so(tmp_path: Path) -> None:
    pfx = make_certificate().write_pfx(tmp_path / "locked.pfx", "s3cret")
    with pytest.raises(CertificateError, match=r"password for locked\.pfx is wrong") as caught:
        load_certificate(pfx=pfx, password="guess")
    assert "guess" not in caught.value.message


def test_not_a_certificate(tmp_path: Path) -> None:
    junk = tmp_path / "notes.pfx"
    junk.write_bytes(b"these are my notes, not a certificate\n")
    with pytest.raises(CertificateError, match=r"notes.pfx is not a certificate file"):
        load_certificate(pfx=junk, password="x")


def test_a_pem_file_given_as_pfx_is_recognised(tmp_path: Path) -> None:
    pem, _ = make_certificate().write_pem(tmp_path / "app.pem")
    with pytest.raises(CertificateError, match=r"is a PEM file, not a \.pfx"):
        load_certificate(pfx=pem)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CertificateError, match="does not exist"):
        load_certificate(pfx=tmp_path / "gone.pfx", password="x")


def test_pfx_without_private_key(tmp_path: Path) -> None:
    pfx = make_certificate("Public Only", None).write_pfx(
        tmp_path / "pub.pfx", "pw", include_key=False
    )
    with pytest.raises(CertificateError, match=r"Public Only.*not its private key"):
        load_certificate(pfx=pfx, password="pw")


def test_pem_pair(tmp_path: Path) -> None:
    cert = make_certificate()
    crt, key = cert.write_pem(tmp_path / "app.crt", tmp_path / "app.key")
    credential = load_certificate(cert_pem=crt, key_pem=key)
    assert credential.thumbprint == cert.thumbprint
    assert credential.path == crt


def test_combined_pem_file(tmp_path: Path) -> None:
    cert = make_certificate()
    both, _ = cert.write_pem(tmp_path / "both.pem")
    assert load_certificate(cert_pem=both).thumbprint == cert.thumbprint


def test_pem_certificate_alone_asks_for_the_key(tmp_path: Path) -> None:
    crt = tmp_path / "app.crt"
    crt.write_bytes(make_certificate().cert_pem())
    with pytest.raises(CertificateError, match="no private key"):
        load_certificate(cert_pem=crt)


@pytest.mark.parametrize("traditional", [False, True], ids=["pkcs8", "openssl"])
def test_encrypted_pem_key(tmp_path: Path, traditional: bool) -> None:
    cert = make_certificate()
    crt, key = cert.write_pem(
        tmp_path / "app.crt", tmp_path / "app.key", key_password="kpw", traditional=traditional
    )
    assert load_certificate(cert_pem=crt, key_pem=key, password="kpw").thumbprint == cert.thumbprint
    with pytest.raises(CertificateError, match="protected by a password"):
        load_certificate(cert_pem=crt, key_pem=key)
    with pytest.raises(
        CertificateError, match=r"password for the private key in app\.key is wrong"
    ):
        load_certificate(cert_pem=crt, key_pem=key, password="nope")


def test_key_from_another_certificate_is_refused(tmp_path: Path) -> None:
    ours = make_certificate("Ours", None, key=rsa_key(0))
    theirs = make_certificate("Theirs", None, key=rsa_key(1))
    crt = tmp_path / "ours.crt"
    crt.write_bytes(ours.cert_pem())
    key = tmp_path / "theirs.key"
    key.write_bytes(theirs.key_pem())
    with pytest.raises(CertificateError, match="does not belong to the certificate Ours"):
        load_certificate(cert_pem=crt, key_pem=key)


def test_key_file_that_is_not_a_key(tmp_path: Path) -> None:
    cert = make_certificate()
    crt, _ = cert.write_pem(tmp_path / "app.crt", tmp_path / "app.key")
    with pytest.raises(CertificateError, match=r"app.crt is not a private key file"):
        load_certificate(cert_pem=crt, key_pem=crt)


def test_damaged_key(tmp_path: Path) -> None:
    cert = make_certificate()
    crt, key = cert.write_pem(tmp_path / "app.crt", tmp_path / "app.key")
    key.write_text("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n")
    with pytest.raises(CertificateError, match="damaged"):
        load_certificate(cert_pem=crt, key_pem=key)


def test_non_rsa_key_is_refused(tmp_path: Path) -> None:
    cert = make_certificate("Curvy", None, key=ec_key())
    pfx = cert.write_pfx(tmp_path / "ec.pfx", "pw")
    with pytest.raises(CertificateError, match="RSA"):
        load_certificate(pfx=pfx, password="pw")


def test_both_pfx_and_pem_is_a_mistake(tmp_path: Path) -> None:
    with pytest.raises(CertificateError, match="not both"):
        load_certificate(pfx=tmp_path / "a.pfx", cert_pem=tmp_path / "a.pem")
    with pytest.raises(CertificateError, match="No certificate chosen"):
        load_certificate()


def test_expired_certificate_loads_but_is_not_usable(tmp_path: Path) -> None:
    cert = expired_certificate(days_ago=3)
    credential = load_certificate(pfx=cert.write_pfx(tmp_path / "old.pfx", "pw"), password="pw")
    assert credential.expired
    assert credential.expires_soon
    assert credential.days_left < 0
    with pytest.raises(CertificateError, match="expired on") as caught:
        credential.check_usable()
    assert "old.pfx" in caught.value.message


def test_expiring_certificate_warns(tmp_path: Path) -> None:
    cert = expiring_certificate(days=10)
    credential = load_certificate(pfx=cert.write_pfx(tmp_path / "soon.pfx", "pw"), password="pw")
    assert credential.expires_soon
    assert not credential.expired
    assert credential.days_left in (9, 10)
    credential.check_usable()
    # On the day after expiry it is refused.
    with pytest.raises(CertificateError, match="expired"):
        credential.check_usable(credential.not_after + timedelta(seconds=1))


def test_thirty_days_is_the_warning_line(tmp_path: Path) -> None:
    credential = load_certificate(
        pfx=make_certificate(days=31).write_pfx(tmp_path / "a.pfx", "pw"), password="pw"
    )
    assert not credential.expires_soon
    credential2 = load_certificate(
        pfx=make_certificate(days=29).write_pfx(tmp_path / "b.pfx", "pw"), password="pw"
    )
    assert credential2.expires_soon


def test_not_yet_valid_is_refused(tmp_path: Path) -> None:
    future = datetime.now(UTC) + timedelta(days=2)
    cert = make_certificate(days=100, valid_from=future)
    credential = load_certificate(pfx=cert.write_pfx(tmp_path / "new.pfx", "pw"), password="pw")
    with pytest.raises(CertificateError, match="not valid before"):
        credential.check_usable()


def test_describe_pem_certificate_needs_no_key(tmp_path: Path) -> None:
    cert = make_certificate("Shown", "Org", days=45)
    crt = tmp_path / "shown.cer"
    crt.write_bytes(cert.cert_pem())
    info = describe_certificate(crt)
    assert info.subject == "Shown (Org)"
    assert info.thumbprint == cert.thumbprint
    assert info.x5t == cert.x5t
    assert not info.expires_soon
    assert not hasattr(info, "private_key")


def test_describe_der_certificate(tmp_path: Path) -> None:
    cert = make_certificate("Binary", None)
    der = tmp_path / "bin.cer"
    der.write_bytes(cert.der)
    assert describe_certificate(der).thumbprint == cert.thumbprint


def test_describe_pfx_needs_its_password(tmp_path: Path) -> None:
    cert = expiring_certificate(days=5)
    pfx = cert.write_pfx(tmp_path / "a.pfx", "pw")
    info = describe_certificate(pfx, "pw")
    assert info.thumbprint == cert.thumbprint and info.expires_soon
    with pytest.raises(CertificateError, match="protected by a password"):
        describe_certificate(pfx)


def test_describe_a_text_file(tmp_path: Path) -> None:
    junk = tmp_path / "readme.txt"
    junk.write_text("hello")
    with pytest.raises(CertificateError, match=r"readme\.txt is not a certificate file"):
        describe_certificate(junk)


def test_private_key_never_in_repr(tmp_path: Path) -> None:
    cert = make_certificate()
    credential = load_certificate(pfx=cert.write_pfx(tmp_path / "a.pfx", "pw"), password="pw")
    text = repr(credential)
    assert "private_key=" not in text and "RSAPrivateKey" not in text
    assert cert.thumbprint in text
