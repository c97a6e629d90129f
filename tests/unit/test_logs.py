"""opus_desktop.logs: the redaction filter on crafted records, the private rotating file, the
level from the settings, request summaries at INFO, and the CLI's logging and umask."""

from __future__ import annotations

import io
import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from opus_desktop import cli, logs, paths, settings
from opus_desktop.logs import RedactingFilter, close_logging, setup_logging
from opus_desktop.opus.http import make_http_client, redact

JWT = (
    "eyJhbGciOiJSUzI1NiIsImtpZCI6IjNGMkEifQ.eyJpc3MiOiJhcHAiLCJqdGkiOiIxIn0"
    ".c2lnbmF0dXJlLXNlY3JldA"
)
TOKEN = "Zm9vYmFyLW9wYXF1ZS1hY2Nlc3MtdG9rZW4"
PASSWORD = "Pfx-pa55-w0rd"


def record(msg: object, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    return logging.LogRecord("opus_desktop.test", logging.INFO, __file__, 1, msg, args, exc_info)


def written(entry: logging.LogRecord) -> str:
    """What a handler with the filter would write for `entry`, traceback included."""
    assert RedactingFilter().filter(entry)
    return logging.Formatter("%(message)s").format(entry)


def raised(message: str) -> BaseException:
    try:
        raise RuntimeError(message)
    except RuntimeError as exc:
        return exc


@pytest.mark.parametrize(
    ("entry", "kept"),
    [
        (record(f"sent Authorization: Bearer {TOKEN}"), "sent Authorization: [removed]"),
        (record("headers %s", {"Authorization": f"Bearer {TOKEN}"}),
         "headers {'Authorization': '[removed]'}"),
        (record("token reply %s", f'{{"access_token": "{TOKEN}", "expires_in": 3600}}'),
         '"access_token": "[removed]", "expires_in": 3600'),
        (record("signed with %s", JWT), "signed with [removed]"),
        (record("form: grant_type=client_credentials&client_assertion=%s&scope=x", JWT),
         "client_assertion=[removed]&scope=x"),
        (record("GET https://host/x?user=jane&password=%s&page=2", PASSWORD),
         "?user=jane&password=[removed]&page=2"),
        (record("proxy http://jane:%s@proxy.example:8080", PASSWORD),
         "proxy http://jane:[removed]@proxy.example:8080"),
        (record("%(who)s used %(how)s", {"who": "app", "how": f"Bearer {TOKEN}"}),
         "app used Bearer [removed]"),
        (record(ValueError(f"cert_password={PASSWORD}")), "cert_password=[removed]"),
        (record('{"password": "%s with spaces"}', PASSWORD), '{"password": "[removed]"}'),
    ],
    ids=[
        "header in msg", "header in a dict arg", "token in JSON arg", "bare JWT arg",
        "assertion in a form", "password in a URL", "password in a proxy URL",
        "mapping args", "exception as msg", "quoted password",
    ],
)  # fmt: skip
def test_secrets_leave_messages_and_arguments(entry: logging.LogRecord, kept: str) -> None:
    text = written(entry)
    assert kept in text
    for secret in (JWT, TOKEN, PASSWORD):
        assert secret not in text
    assert entry.args is None  # nothing left for a later handler to format again


@pytest.mark.parametrize(
    "text",
    [
        f"sent Authorization: Bearer {TOKEN}",
        f"client_assertion={JWT}&scope=x",
        f"GET https://host/x?password={PASSWORD}&page=2",
        f"proxy http://jane:{PASSWORD}@proxy.example:8080",
        f"used Bearer {TOKEN}, then",
        f'{{"password": "{PASSWORD} with spaces"}}',
    ],
)
def test_redacting_what_was_redacted_changes_nothing(text: str) -> None:
    # A record that two handlers filter, or a logged message that quotes a redacted one.
    once = redact(text)
    assert redact(once) == once
    assert "[removed]]" not in once


def test_secrets_leave_tracebacks_and_stacks() -> None:
    entry = record("sign-in failed", exc=raised(f"client_assertion={JWT} Authorization: Bearer x"))
    entry.stack_info = f"Stack (most recent call last):\n  token = {TOKEN!r}\n  password={PASSWORD}"

    text = written(entry)

    assert "sign-in failed" in text and "Traceback (most recent call last)" in text
    assert "RuntimeError: client_assertion=[removed] Authorization: [removed]" in text
    assert "password=[removed]" in text and "token = '[removed]'" in text
    for secret in (JWT, PASSWORD, TOKEN):
        assert secret not in text
    assert entry.exc_info is None and entry.exc_text is not None


def test_a_record_with_a_broken_format_is_kept_and_redacted() -> None:
    text = written(record("%d calls with %s", "not a number", f"Bearer {TOKEN}"))
    assert "%d calls with %s" in text and TOKEN not in text


@pytest.fixture
def clean_root() -> Iterator[logging.Logger]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield root
    finally:
        close_logging()
        for handler in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(handler)
        root.setLevel(level)


def test_every_handler_of_the_root_logger_gets_the_filter(clean_root: logging.Logger) -> None:
    console = io.StringIO()
    clean_root.addHandler(logging.StreamHandler(console))  # there before the app's

    path = setup_logging()
    setup_logging()  # again: one file handler, one filter each
    logging.getLogger("opus_desktop.jobs.test").warning("renewing Bearer %s", TOKEN)
    close_logging()

    assert TOKEN not in console.getvalue() and "renewing Bearer [removed]" in console.getvalue()
    text = path.read_text("utf-8")
    assert text.count("renewing Bearer [removed]") == 1 and TOKEN not in text
    for handler in clean_root.handlers:
        assert sum(isinstance(f, RedactingFilter) for f in handler.filters) == 1


def test_the_log_files_are_private_and_rotate(
    clean_root: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logs, "MAX_BYTES", 400)
    path = setup_logging()
    for n in range(40):
        logging.getLogger("opus_desktop.test").warning("line %d of some length to rotate", n)
    close_logging()

    files = sorted(path.parent.glob("opus-desktop.log*"))
    assert path.parent == paths.log_dir()
    assert len(files) == 1 + logs.BACKUPS  # the oldest lines rotated away
    if os.name == "posix":
        assert {stat.S_IMODE(f.stat().st_mode) for f in files} == {0o600}
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_the_level_comes_from_the_settings(clean_root: logging.Logger) -> None:
    settings.save(settings.Settings({settings.LOG_LEVEL.key: "WARNING"}))
    path = setup_logging()
    logger = logging.getLogger("opus_desktop.test")
    logger.info("an ordinary day")
    logger.warning("a warning")
    logs.set_level(logging.DEBUG)  # what the settings dialog does on OK
    logger.debug("a detail")
    close_logging()

    text = path.read_text("utf-8")
    assert "an ordinary day" not in text
    assert "a warning" in text and "a detail" in text


def test_each_call_is_summed_up_at_info_without_body_query_or_headers(
    clean_root: logging.Logger,
) -> None:
    path = setup_logging(logging.INFO)

    def opus(request: httpx.Request) -> httpx.Response:
        return httpx.Response(201, json={"message": "Stored Jane Doe's medical record."})

    with make_http_client(transport=httpx.MockTransport(opus)) as http:
        http.post(
            "https://graph-au.example.com/records/connector/records?id=secret-connection",
            json={"data": [{"rowKey": "HR-1", "leafName": "Jane Doe medical.pdf"}]},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
    close_logging()

    text = path.read_text("utf-8")
    lines = [line for line in text.splitlines() if "opus_desktop.opus.http" in line]
    assert len(lines) == 1
    assert " INFO " in lines[0]
    assert lines[0].split(": ", 1)[1].startswith(
        "POST graph-au.example.com/records/connector/records -> 201 in "
    )
    for private in ("Jane", "HR-1", "secret-connection", TOKEN, "Bearer"):
        assert private not in text


def test_the_cli_logs_to_the_file_with_the_umask_077(
    clean_root: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, object] = {}

    def command(argv: list[str]) -> int:
        seen["umask"] = os.umask(0o077)
        seen["handlers"] = [h.get_name() for h in logging.getLogger().handlers]
        logging.getLogger("opus_desktop.cli.test").info("ran %s", argv)
        return 7

    monkeypatch.setattr(cli, "_run", command)
    before = os.umask(0o022)
    try:
        assert cli.main(["profile", "list"]) == 7
        after = os.umask(0o022)
    finally:
        os.umask(before)

    assert seen["umask"] == 0o077
    assert after == 0o022  # given back to the caller
    assert "opus-desktop-file" in seen["handlers"]  # type: ignore[operator]
    assert "opus-desktop-file" not in [h.get_name() for h in logging.getLogger().handlers]
    text = (paths.log_dir() / logs.LOG_FILE).read_text("utf-8")
    assert "ran ['profile', 'list']" in text


def test_the_cli_works_on_when_the_log_folder_cannot_be_made(
    clean_root: logging.Logger,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def no_folder() -> Path:
        raise PermissionError(13, "Permission denied", "/var/log/opus-desktop")

    monkeypatch.setattr(paths, "log_dir", no_folder)
    assert cli.main(["profile", "list"]) == 0
    out, err = capsys.readouterr()
    assert "No profiles yet" in out
    assert "working without a log file" in err and "Permission denied" in err
