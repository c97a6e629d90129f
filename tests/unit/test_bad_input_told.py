"""Issue 15: bad input gets one sentence that names the problem and exit 2, never a
traceback: JSON nested too deeply, a home folder that cannot be written, a full disk.

Tests run as root in CI, and root ignores file permissions, so a home that cannot be
written is made as one that cannot be created: a regular file stands where one of its
folders goes (mkdir then fails with NotADirectoryError or FileExistsError for root too).
A read-only folder (EACCES, EROFS) is imitated by monkeypatching os.access and mkdir.
"""

from __future__ import annotations

import errno
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from opus_desktop import logs, paths, profiles
from opus_desktop import settings as app_settings
from opus_desktop.cli import main
from opus_desktop.core.errors import TemplateError
from opus_desktop.core.schema import parse_template
from opus_desktop.errors import AppError
from opus_desktop.jsonfile import load_json
from opus_desktop.profiles import Profile, ProfileError
from tests.helpers.workbooks import DEMO

DEEP = "[" * 100_000 + "]" * 100_000
DEEP_OBJECT = '{"a":' * 100_000 + "1" + "}" * 100_000


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "Exception ignored" not in err
    return code, out, err


def last_line(err: str) -> str:
    return err.strip().splitlines()[-1]


def demo_profile(tmp_path: Path) -> Profile:
    tenant = json.loads((DEMO / "tenant.json").read_text(encoding="utf-8"))
    key = tmp_path / "k.pem"
    key.write_text("unused")
    profile = Profile(
        name="Demo",
        client_id="c",
        api_url="http://127.0.0.1:9",
        identity_url="http://127.0.0.1:9/identity",
        cert_pem=str(key),
        key_pem=str(key),
        choices=tenant["choices"],
        terms={column: list(terms) for column, terms in tenant["terms"].items()},
    )
    return profiles.save_profile(profile, DEMO / "template.json")


# -- JSON nested too deeply ------------------------------------------------------------------


def test_load_json_says_too_deep_and_bad_json_in_one_sentence() -> None:
    with pytest.raises(AppError) as raised:
        load_json(DEEP, "x.json", "a connection template")
    assert raised.value.message == "x.json is nested too deeply to be a connection template."
    with pytest.raises(ProfileError, match=r"^y\.json is not valid JSON: Expecting property name "):
        load_json("{", "y.json", "a profile", ProfileError)
    assert load_json('{"a": [1]}', "z.json", "a mapping") == {"a": [1]}


@pytest.mark.parametrize("text", [DEEP, DEEP_OBJECT])
def test_a_template_nested_too_deeply(text: str) -> None:
    with pytest.raises(TemplateError) as raised:
        parse_template(text, "conn.json")
    assert raised.value.message == "conn.json is nested too deeply to be a connection template."


def test_the_schema_command_on_a_deep_template(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "conn.json"
    path.write_text(DEEP, encoding="utf-8")
    code, _, err = cli(capsys, "schema", str(path))
    assert (code, err) == (2, f"opus-desktop: {path} is nested too deeply to be a connection "
                              "template.\n")  # fmt: skip


def test_a_deep_profile_is_one_sentence_and_listing_skips_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = demo_profile(tmp_path)
    file = profile.folder / "profile.json"
    with pytest.raises(ProfileError) as raised:
        Profile.from_json(DEEP, str(file))
    assert raised.value.message == (
        f"The profile file {file} is nested too deeply to be a profile."
    )
    file.write_text(DEEP, encoding="utf-8")
    code, out, _ = cli(capsys, "profile", "list")
    assert code == 0 and "Demo" not in out  # skipped, as any damaged profile is


def test_deep_settings_are_damaged_settings_the_defaults_apply(
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = paths.config_dir() / app_settings.FILE_NAME
    path.write_text(DEEP_OBJECT, encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        loaded = app_settings.load()
    assert loaded.as_dict() == app_settings.Settings().as_dict()
    assert "nested too deeply" in caplog.text


@pytest.mark.parametrize("option", ["--mapping", "--options"])
def test_profile_add_with_a_deep_mapping_or_options_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str
) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text(DEEP_OBJECT, encoding="utf-8")
    key = tmp_path / "k.pem"
    key.write_text("unused")
    code, _, err = cli(
        capsys, "profile", "add", "P", "--connection", str(DEMO / "template.json"),
        "--client-id", "c", "--api", "http://127.0.0.1:9", "--cert-pem", str(key),
        "--key-pem", str(key), option, str(deep),
    )  # fmt: skip
    what = "mapping file" if option == "--mapping" else "options file"
    article = "a" if option == "--mapping" else "an"
    assert code == 2
    assert last_line(err) == (
        f"opus-desktop: The {what} {deep} is nested too deeply to be {article} {what}."
    )


def test_validate_with_a_deep_mapping_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    demo_profile(tmp_path)
    deep = tmp_path / "m.json"
    deep.write_text(DEEP_OBJECT, encoding="utf-8")
    sheet = DEMO / "demo-records.xlsx"
    code, _, err = cli(
        capsys, "validate", "--profile", "Demo", "--input", str(sheet), "--mapping", str(deep)
    )
    assert code == 2 and "is nested too deeply to be a mapping" in last_line(err)


# -- a home folder that cannot be written -----------------------------------------------------


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch) -> Path:
    return Path(str(paths._home()))


def block(folder: Path) -> None:
    """Put a regular file where `folder` goes: nothing can be created in it, even by root."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.write_text("not a folder")


def test_a_home_under_a_file_lets_the_reading_commands_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    monkeypatch.setenv(paths.HOME_VARIABLE, str(blocker / "home"))
    logs_folder = blocker / "home" / "logs"
    told = (
        f"opus-desktop: working without a log file: Cannot create the folder {logs_folder}: "
        f"{blocker} is a file, not a folder; move it away, or set OPUS_DESKTOP_HOME to a "
        "folder you can write to."
    )

    code, out, err = cli(capsys, "profile", "list")
    assert code == 0 and out.startswith("No profiles yet.") and err.splitlines()[0] == told
    code, out, _ = cli(capsys, "runs", "list")
    assert code == 0 and out.startswith("No runs yet")
    code, out, _ = cli(capsys, "audit", "verify")
    assert code == 0 and "intact, 0 entries" in out
    code, out, _ = cli(capsys, "schema", str(DEMO / "template.json"))
    assert code == 0 and "Connection " in out

    code, _, err = cli(capsys, "runs", "show", "last")
    assert code == 2
    assert last_line(err) == (
        f"opus-desktop: The journal {blocker / 'home' / 'data' / 'journal.sqlite3'} cannot be "
        f"opened: Cannot create the folder {blocker / 'home' / 'data'}: {blocker} is a file, "
        "not a folder; move it away, or set OPUS_DESKTOP_HOME to a folder you can write to."
    )


def test_writing_commands_name_the_folder_they_cannot_create(
    tmp_path: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    demo_profile(tmp_path)
    block(home / "data")
    block(home / "logs")
    sheet = DEMO / "demo-records.xlsx"

    code, out, err = cli(capsys, "validate", "--profile", "Demo", "--input", str(sheet))
    assert code == 1 and "194 valid, 6 invalid" in out  # reading works
    assert err.startswith("opus-desktop: working without a log file: ")

    code, _, err = cli(capsys, "runs", "resume", "last")
    assert code == 2
    assert last_line(err) == (
        f"opus-desktop: The journal {home / 'data' / 'journal.sqlite3'} cannot be opened: "
        f"Cannot create the folder {home / 'data'}: {home / 'data'} is a file, not a folder; "
        "move it away, or set OPUS_DESKTOP_HOME to a folder you can write to."
    )

    block(home / "config" / "profiles" / "p")
    key = tmp_path / "k.pem"
    code, _, err = cli(
        capsys, "profile", "add", "P", "--connection", str(DEMO / "template.json"),
        "--client-id", "c", "--api", "http://127.0.0.1:9", "--cert-pem", str(key),
        "--key-pem", str(key), "--force",  # past the certificate check, to the folder
    )  # fmt: skip
    assert code == 2 and "Cannot create the folder" in last_line(err) and "/p: " in err


def test_a_read_only_folder_is_named_as_read_only(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_mkdir = Path.mkdir

    def refused(self: Path, *args: Any, **kwargs: Any) -> None:
        if not self.exists():
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        real_mkdir(self, *args, **kwargs)

    home.mkdir(parents=True, exist_ok=True)
    monkeypatch.setattr(Path, "mkdir", refused)
    with pytest.raises(paths.FolderError) as raised:
        paths.data_dir()
    assert raised.value.message == (
        f"The folder {home} is read-only, so Opus Desktop cannot keep its files in "
        f"{home / 'data'}: make it writable, or set OPUS_DESKTOP_HOME to a folder you can "
        "write to."
    )
    assert paths.data_dir(create=False) == home / "data"  # reading asks for no folder


def test_a_journal_in_a_read_only_folder_is_read_as_it_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from opus_desktop.jobs.journal import Journal
    from opus_desktop.usecases import runs

    with Journal() as journal:
        run_id = journal.create_run("submit", "Demo", [(2, "K1", {"rowKey": "K1"})])
    monkeypatch.setattr(runs.os, "access", lambda path, mode: False)

    code, out, _ = cli(capsys, "runs", "list")
    assert code == 0 and run_id in out and "interrupted" not in out
    with runs.reading() as journal, pytest.raises(AppError, match="it is read-only"):
        journal.mark_started(run_id)


def test_logging_goes_to_stderr_when_the_log_folder_cannot_be_made(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    block(home / "logs")
    root = logging.getLogger()
    try:
        assert logs.setup_logging(logging.INFO) is None
        logging.getLogger("opus_desktop.test").info("not shown")
        logging.getLogger("opus_desktop.test").warning("shown on stderr")
    finally:
        logs.close_logging()
    err = capsys.readouterr().err
    assert err.startswith("opus-desktop: working without a log file: Cannot create the folder")
    assert "shown on stderr" in err and "not shown" not in err
    assert not [h for h in root.handlers if h.get_name() == "opus-desktop-file"]


def test_a_log_file_on_a_full_disk_is_told_once(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = logs.setup_logging(logging.INFO)
    assert path is not None
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "opus-desktop-file")

    def full(data: str) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    try:
        monkeypatch.setattr(handler.stream, "write", full)  # type: ignore[attr-defined]
        for n in range(3):
            logging.getLogger("opus_desktop.test").warning("line %d", n)
    finally:
        logs.close_logging()
    err = capsys.readouterr().err
    assert err == (
        f"opus-desktop: the log file {path} cannot be written (No space left on device); the "
        "app goes on without it.\n"
    )


# -- a full disk ------------------------------------------------------------------------------


def test_a_full_disk_under_a_command_is_one_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    demo_profile(tmp_path)

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "x"))

    monkeypatch.setattr(profiles, "write_private", full)
    with pytest.raises(ProfileError) as raised:
        profiles.save_profile(profiles.find_profile("Demo"))
    assert raised.value.message == 'The profile "Demo" could not be saved: the disk is full.'

    from opus_desktop.cli import runs_cmd

    monkeypatch.setattr(runs_cmd, "list_runs", full)  # anything below a command
    code, _, err = cli(capsys, "runs", "list")
    assert (code, last_line(err)) == (
        2,
        f"opus-desktop: Cannot write {tmp_path / 'x'}: the disk is full; free some space and "
        "try again.",
    )


def test_any_file_nested_too_deeply_is_one_sentence_meanwhile(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Whichever reader meets it, the command line says one sentence and exits 2."""
    demo_profile(tmp_path)
    deep = tmp_path / "m.json"
    deep.write_text(DEEP_OBJECT, encoding="utf-8")
    sheet = DEMO / "demo-records.xlsx"
    code, _, err = cli(
        capsys, "validate", "--profile", "Demo", "--input", str(sheet), "--mapping", str(deep)
    )
    assert code == 2 and "nested too deeply" in last_line(err)
    assert last_line(err).startswith("opus-desktop: ")


def test_a_journal_on_a_read_only_disk_names_the_folder(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opus_desktop.jobs import database
    from opus_desktop.jobs.journal import Journal

    with Journal():
        pass  # the journal exists; the disk then becomes read-only

    def refused(path: Path) -> None:
        raise OSError(errno.EROFS, "Read-only file system", str(path))

    monkeypatch.setattr(database, "make_private", refused)
    with pytest.raises(AppError) as raised, Journal():
        pass
    folder = home / "data"
    assert str(raised.value) == (
        f"The journal {folder / 'journal.sqlite3'} cannot be written: The folder {folder} is "
        f"read-only, so Opus Desktop cannot keep its files in {folder}: make it writable, or "
        "set OPUS_DESKTOP_HOME to a folder you can write to."
    )


def test_a_sandbox_in_a_read_only_folder_says_so(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from opus_desktop.sandbox import tenant

    folder = home / "data" / "sandbox"
    (folder / "sandbox.sqlite3").mkdir(parents=True)  # SQLite cannot open it, even as root
    with monkeypatch.context() as patch:
        patch.setattr(tenant.os, "access", lambda path, mode: False)
        code, out, err = cli(capsys, "sandbox", "--port", "0")
    assert (code, out) == (2, "")
    assert err.strip() == (
        f"opus-desktop: the sandbox cannot start: its tenant cannot be kept in {folder}: the "
        "folder is read-only (set OPUS_DESKTOP_HOME to a folder you can write to)."
    )
    with pytest.raises(tenant.TenantError, match=r"its tenant .* cannot be opened: unable to"):
        tenant.Tenant(folder / "sandbox.sqlite3")
