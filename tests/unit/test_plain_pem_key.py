"""plain_pem_key: only an unencrypted PEM key skips the password search (and the keyring)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from opus_desktop.jobs.connect import plain_pem_key
from tests.unit.test_connect import make_certificate, pem_files, saved_profile


def test_plain_pem_key(tmp_path: Path) -> None:
    plain = saved_profile(tmp_path)
    assert plain_pem_key(plain)
    assert not plain_pem_key(replace(plain, **pem_files(tmp_path, key_password="pw")))
    pfx = make_certificate().write_pfx(tmp_path / "p.pfx", "pw")
    assert not plain_pem_key(replace(plain, cert_pfx=str(pfx), cert_pem=None, key_pem=None))
    assert not plain_pem_key(replace(plain, key_pem=str(tmp_path / "missing.pem")))
