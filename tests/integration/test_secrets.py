"""Secrets stay secret: a whole session through the CLI against the sandbox, then a search of
every file the app wrote for the certificate password, each token and each client assertion.

The session signs in with a .pfx whose password comes from an environment variable, submits a
small sheet (two records the service refuses), lists the due records to a sheet, destroys three
of them with a certificate, and fails once with a wrong password. The log level is DEBUG, so
the log holds everything the app would ever write there. Then: no secret in any file under
OPUS_DESKTOP_HOME or in any report, in the output either; every file 0600 and every folder
0700 although the session started with the umask 022; the private key nowhere in the clear.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import sqlite3
import stat
import subprocess
import sys
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from opus_desktop import settings
from opus_desktop.cli import main
from opus_desktop.sandbox import Sandbox, SandboxConfig
from opus_desktop.sandbox_profiles import demo_tenant
from tests.helpers.workbooks import write_csv
from tests.integration.conftest import MakeSandbox
from tests.integration.test_submit_sandbox import SHEET_HEADERS, sheet_row

PASSWORD_VARIABLE = "OPUS_DESKTOP_SECRETS_TEST_PASSWORD"
UNKNOWN_TERM = "Records/Finance/Receipts"  # a term the demo tenant does not have


# -- looking inside files ---------------------------------------------------------------------


def readable_parts(path: Path) -> list[bytes]:
    """The file's bytes, and what hides inside: zip members (xlsx), inflated PDF streams."""
    data = path.read_bytes()
    parts = [data]
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            parts += [archive.read(name) for name in archive.namelist()]
    if data.startswith(b"%PDF"):
        for stream in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.DOTALL):
            try:
                parts.append(zlib.decompress(stream.group(1)))
            except zlib.error:
                parts.append(stream.group(1))
    return parts


def secrets_in(path: Path, wanted: dict[str, str]) -> list[str]:
    """The names of the secrets in `wanted` (name -> secret) found anywhere in `path`."""
    parts = readable_parts(path)
    found = []
    for name, secret in wanted.items():
        forms = (secret.encode("utf-8"), secret.encode("utf-16-le"))
        if any(form in part for form in forms for part in parts):
            found.append(name)
    return found


def files_under(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file())


def test_the_search_finds_a_secret_wherever_the_app_could_put_it(tmp_path: Path) -> None:
    # Guards the session test below: a search that cannot see into a file proves nothing.
    secret = "tok-" + secrets.token_urlsafe(24)
    wanted = {"token": secret}
    book = openpyxl.Workbook()
    book.active.append(["Row key", secret])  # type: ignore[union-attr]
    book.save(tmp_path / "report.xlsx")
    stream = zlib.compress(f"BT ({secret}) Tj ET".encode())
    (tmp_path / "certificate.pdf").write_bytes(
        b"%PDF-1.4\n1 0 obj\n<< /Filter /FlateDecode >>\nstream\n" + stream + b"\nendstream\n"
    )
    with sqlite3.connect(tmp_path / "journal.sqlite3") as db:
        db.execute("CREATE TABLE t (v TEXT)")
        db.execute("INSERT INTO t VALUES (?)", (secret,))
    db.close()
    (tmp_path / "log.txt").write_text(f"said {secret} once", encoding="utf-16-le")
    (tmp_path / "clean.txt").write_text("nothing to see", encoding="utf-8")

    hits = {path.name: secrets_in(path, wanted) for path in files_under(tmp_path)}

    assert hits == {
        "report.xlsx": ["token"],
        "certificate.pdf": ["token"],
        "journal.sqlite3": ["token"],
        "log.txt": ["token"],
        "clean.txt": [],
    }


# -- the session ------------------------------------------------------------------------------


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """Start as a careless shell would; the app must make its files private itself."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def write_pfx(sandbox: Sandbox, path: Path, password: str) -> Path:
    """The sandbox's registered certificate and key in a .pfx under our own password."""
    key = serialization.load_pem_private_key(sandbox.key_pem_path.read_bytes(), None)
    certificate = x509.load_pem_x509_certificate(sandbox.cert_pem_path.read_bytes())
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"app",
            key,  # type: ignore[arg-type]
            certificate,
            None,
            serialization.BestAvailableEncryption(password.encode("utf-8")),
        )
    )
    return path


def private_key_forms(sandbox: Sandbox) -> dict[str, bytes]:
    key = serialization.load_pem_private_key(sandbox.key_pem_path.read_bytes(), None)
    return {
        "key (DER)": key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        "key (PEM)": b"PRIVATE KEY-----",
    }


def test_a_whole_session_leaves_no_secret_and_every_file_private(
    make_sandbox: MakeSandbox,
    tmp_path: Path,
    opus_home: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    memory_keyring: object,
    loose_umask: None,
) -> None:
    sandbox = make_sandbox()
    password = "Pfx-" + secrets.token_urlsafe(18)
    wrong_password = "Wrong-" + secrets.token_urlsafe(18)
    inputs = tmp_path / "inputs"
    reports = tmp_path / "reports"
    inputs.mkdir()
    reports.mkdir()
    pfx = write_pfx(sandbox, inputs / "app.pfx", password)
    # The profile knows no terms, so only the service can refuse an unknown one.
    options = inputs / "options.json"
    options.write_text(json.dumps({"choices": demo_tenant()["choices"], "terms": {}}), "utf-8")
    settings.save(settings.Settings({settings.LOG_LEVEL.key: "DEBUG"}))
    monkeypatch.setenv(PASSWORD_VARIABLE, password)
    said: list[str] = []

    def cli(*args: str) -> tuple[int, str]:
        code = main(list(args))
        out, err = capsys.readouterr()
        said.append(out + err)
        return code, out + err

    code, out = cli(
        "profile", "add", "Secure", "--connection", str(sandbox.template_path),
        "--client-id", sandbox.client_id, "--cert", str(pfx),
        "--cert-password-env", PASSWORD_VARIABLE, "--api", sandbox.api_url,
        "--identity", sandbox.identity_url, "--options", str(options),
    )  # fmt: skip
    assert code == 0, out

    code, out = cli("profile", "test", "Secure")
    assert code == 0, out

    rows = [sheet_row(n) for n in range(1, 21)]
    for index in (3, 12):
        rows[index][2] = UNKNOWN_TERM
    sheet = write_csv(inputs / "twenty.csv", [SHEET_HEADERS, *rows])
    code, out = cli(
        "submit", "--profile", "Secure", "--input", str(sheet),
        "--report", str(reports / "outcome.xlsx"),
    )  # fmt: skip
    assert code == 1, out
    assert "18 stored, 2 failed, 0 skipped." in out

    code, out = cli("due", "--profile", "Secure", "--before", "now", "--out",
                    str(reports / "due.xlsx"))  # fmt: skip
    assert code == 0, out
    sheet_of_due = openpyxl.load_workbook(reports / "due.xlsx").active
    assert sheet_of_due is not None
    due = list(sheet_of_due.iter_rows(values_only=True))
    assert due[0][:2] == ("Row key", "Decision") and len(due) > 4
    approved = write_csv(inputs / "approved.csv", [list(row) for row in due[:4]])
    code, out = cli(
        "destroy", "--profile", "Secure", "--input", str(approved),
        "--justification", "Retention period ended", "--yes", "--operator", "Jane Smith",
        "--certificate", str(reports / "certificate.pdf"),
    )  # fmt: skip
    assert code == 0, out

    monkeypatch.setenv(PASSWORD_VARIABLE, wrong_password)
    code, out = cli("profile", "test", "Secure")
    assert code == 2, out
    assert "FAIL  Certificate" in out

    # What to look for: every secret of the session, and the parts of each assertion that
    # are secret on their own (its signature).
    tokens, assertions = sandbox.issued_tokens, sandbox.issued_assertions
    assert len(tokens) >= 4 and len(assertions) == len(tokens)
    wanted = {"the certificate password": password, "the wrong password": wrong_password}
    wanted |= {f"token {n}": token for n, token in enumerate(tokens, 1)}
    for n, assertion in enumerate(assertions, 1):
        wanted[f"assertion {n}"] = assertion
        wanted[f"assertion {n}'s signature"] = assertion.rsplit(".", 1)[1]

    written = files_under(opus_home)
    report_files = files_under(reports)
    names = {path.name for path in written}
    assert {"profile.json", "settings.json", "journal.sqlite3", "audit.jsonl"} <= names
    assert {"outcome.xlsx", "due.xlsx", "certificate.pdf"} <= {p.name for p in report_files}
    log_text = (opus_home / "logs" / "opus-desktop.log").read_text("utf-8")
    assert re.search(r"POST 127\.0\.0\.1/identity/connect/token -> 200 in \d+ ms", log_text)
    assert re.search(r"DELETE 127\.0\.0\.1/records/connector/records -> 200", log_text)

    found = {str(path): secrets_in(path, wanted) for path in written + report_files}
    assert {path: hits for path, hits in found.items() if hits} == {}
    leaked = [name for name, secret in wanted.items() if any(secret in text for text in said)]
    assert leaked == []
    # The variable sufficed: the keyring holds no password, only the audit log's key.
    kept = [user for _, user in memory_keyring.store]  # type: ignore[attr-defined]
    assert kept == [f"audit-log {(opus_home / 'data' / 'audit.jsonl').resolve()}"]

    key_forms = private_key_forms(sandbox)
    copies = {
        str(path): [name for name, form in key_forms.items() if form in path.read_bytes()]
        for path in written + report_files
    }
    assert {path: names for path, names in copies.items() if names} == {}

    if os.name == "posix":
        assert loose_files(opus_home) == {}
        assert loose_files(reports) == {}


def loose_files(home: Path) -> dict[str, str]:
    """Files not 0600 and folders not 0700 under `home`, with their modes."""
    return {
        str(path.relative_to(home)): oct(stat.S_IMODE(path.stat().st_mode))
        for path in home.rglob("*")
        if stat.S_IMODE(path.stat().st_mode) != (0o700 if path.is_dir() else 0o600)
    }


@pytest.mark.skipif(os.name != "posix", reason="file modes are a POSIX matter")
@pytest.mark.slow
def test_the_desktop_app_on_the_sandbox_writes_private_files_only(tmp_path: Path) -> None:
    # The GUI writes files no CLI command does (gui.ini through QSettings, the in-process
    # sandbox's folder); started with the umask 022, every one must still be private.
    home = tmp_path / "home"
    done = subprocess.run(
        [sys.executable, "-m", "opus_desktop", "--sandbox", "--smoke-test"],
        cwd=Path(__file__).resolve().parents[2],
        env=dict(os.environ, OPUS_DESKTOP_HOME=str(home), QT_QPA_PLATFORM="offscreen"),
        capture_output=True,
        text=True,
        timeout=60,
        umask=0o022,
    )
    assert done.returncode == 0, done.stderr
    names = {path.name for path in home.rglob("*")}
    assert {"gui.ini", "opus-desktop.log", "profile.json", "sandbox"} <= names
    assert loose_files(home) == {}


# -- the sandbox ------------------------------------------------------------------------------


def test_the_sandbox_listens_on_loopback_only(sandbox: Sandbox, tmp_path: Path) -> None:
    assert sandbox.url.startswith("http://127.0.0.1:")
    for host in ("0.0.0.0", "::", "localhost", "192.168.1.10"):
        with pytest.raises(ValueError, match=r"127\.0\.0\.1 only"):
            Sandbox(SandboxConfig(directory=tmp_path / "other", host=host))
    with pytest.raises(SystemExit) as refused:
        main(["sandbox", "--host", "0.0.0.0"])  # there is no such option to misuse
    assert refused.value.code == 2
