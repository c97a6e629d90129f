"""The submit use cases over real HTTP against the sandbox: a run from a sheet's validation
or from records, resumed runs, dry runs, the password flow and the outage limit."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from opus_desktop import profiles
from opus_desktop import settings as app_settings
from opus_desktop.core.sheets import read_sheet
from opus_desktop.core.validation import ValidationResult, validate
from opus_desktop.jobs.report import file_sha256
from opus_desktop.jobs.state import RunState
from opus_desktop.opus.errors import CertificateError
from opus_desktop.opus.retry import RetryPolicy
from opus_desktop.profiles import Profile, ProfileError, find_profile, save_profile
from opus_desktop.sandbox import Sandbox
from opus_desktop.sandbox_profiles import save_sandbox_profiles
from opus_desktop.usecases import connection as access
from opus_desktop.usecases.connection import Access, find_password, open_connection, try_open
from opus_desktop.usecases.runs import list_runs, run_info, run_report, show_run
from opus_desktop.usecases.submitting import (
    Continue,
    NewRun,
    Origin,
    RunOptions,
    RunStart,
    continue_run,
    dry_run_sheet,
    start_run,
)
from tests.helpers.workbooks import write_csv
from tests.integration.conftest import MakeSandbox
from tests.integration.test_submit_sandbox import SHEET_HEADERS, key, sheet_row, stored_exactly

PASSWORD_VARIABLE = "OPUS_DESKTOP_TEST_USECASE_PFX"


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(access, "retry_policy", lambda: RetryPolicy(attempts=3, base=0.02, cap=0.1))
    profiles._memory.clear()
    yield
    profiles._memory.clear()


def profile_of(sandbox: Sandbox) -> Profile:
    save_sandbox_profiles(sandbox)
    return find_profile("Sandbox")


def sheet_with_invalid_rows(path: Path, count: int, invalid: set[int]) -> Path:
    rows = []
    for n in range(1, count + 1):
        row = sheet_row(n)
        if n in invalid:
            row[5] = "many"  # Page Count is a number
        rows.append(row)
    return write_csv(path, [SHEET_HEADERS, *rows])


def validation(profile: Profile, path: Path) -> ValidationResult:
    return validate(read_sheet(path), profile.template(), profile.value_settings())


def test_records_with_problems_are_skipped_and_the_others_stored(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    profile = profile_of(sandbox)
    result = validation(profile, sheet_with_invalid_rows(tmp_path / "s.csv", 20, {4, 11}))
    records = list(result.records)  # as the editor holds them, problems and all
    starts: list[RunStart] = []
    request = NewRun(profile, Access(), RunOptions(concurrency=2), Origin(editor=True))

    summary = start_run(request, lambda: records, RunState(), starts.append)

    assert summary is not None and summary.status == "done" and summary.exit_code == 1
    assert (summary.counts.ok, summary.counts.skipped, summary.counts.failed) == (18, 2, 0)
    (start,) = starts
    assert (start.to_send, start.skipped, start.resumed) == (18, 2, False)
    records_stored = sandbox.records()
    assert key(4) not in records_stored and key(11) not in records_stored
    stored_exactly(sandbox, range(12, 21))
    info = run_info(summary.run_id)
    assert info.options["from"] == "editor" and info.options["concurrency"] == 2
    shown, _ = show_run(summary.run_id, 10)
    assert shown.info.counts.skipped == 2


def test_a_sheet_s_run_keeps_its_input_and_reports_every_row(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    profile = profile_of(sandbox)
    path = sheet_with_invalid_rows(tmp_path / "s.csv", 5, {2})
    result = validation(profile, path)
    origin = Origin(path, None, 1)

    summary = start_run(NewRun(profile, Access(), origin=origin), lambda: result, RunState())

    assert summary is not None and summary.counts.ok == 4
    info = run_info("last")
    assert info.id == summary.run_id and info.input_sha256 == file_sha256(path)
    assert info.template_sha256 == file_sha256(profile.template_path)
    written = run_report(tmp_path / "report.xlsx", summary.run_id)
    assert written.path.exists()
    assert [run.id for run in list_runs(5)] == [summary.run_id]


def test_an_edited_input_is_not_hashed_so_the_report_rebuilds_rows_from_the_journal(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    profile = profile_of(sandbox)
    path = sheet_with_invalid_rows(tmp_path / "s.csv", 3, set())
    result = validation(profile, path)
    origin = Origin(path, None, 1, input_unchanged=False)
    summary = start_run(NewRun(profile, Access(), origin=origin), lambda: result, RunState())
    assert summary is not None and run_info(summary.run_id).input_sha256 is None


def test_a_run_cancelled_before_it_is_journalled_sends_nothing(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    profile = profile_of(sandbox)
    result = validation(profile, sheet_with_invalid_rows(tmp_path / "s.csv", 3, set()))
    state = RunState()

    def made() -> ValidationResult:
        state.cancel()  # while the records are being made
        return result

    assert start_run(NewRun(profile, Access()), made, state) is None
    assert list_runs(5) == [] and sandbox.records().get(key(1)) is None


def test_resume_reports_the_journal_s_word_on_watched_keys_and_finishes(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    profile = profile_of(sandbox)
    result = validation(profile, sheet_with_invalid_rows(tmp_path / "s.csv", 40, set()))
    state = RunState()
    state.on_batch(lambda batch: state.cancel())
    first = start_run(NewRun(profile, Access(), RunOptions(concurrency=1)), lambda: result, state)
    assert first is not None and first.status == "cancelled" and first.counts.ok == 15

    starts: list[RunStart] = []
    request = Continue(first.run_id, Access(), watch=[key(1), key(40), "NOT-IN-RUN"])
    summary = continue_run(request, RunState(), starts.append)

    assert summary.status == "done" and summary.counts.ok == 40
    (start,) = starts
    assert start.resumed and not start.failed_only and not start.template_changed
    assert (start.to_send, start.stored, start.done_before) == (25, 15, 15)
    assert start.states == {key(1): ("ok", ""), key(40): ("pending", "")}
    stored_exactly(sandbox, range(1, 41))


def test_a_changed_template_is_said_when_a_run_is_resumed(sandbox: Sandbox, tmp_path: Path) -> None:
    profile = profile_of(sandbox)
    result = validation(profile, sheet_with_invalid_rows(tmp_path / "s.csv", 20, set()))
    state = RunState()
    state.on_batch(lambda batch: state.cancel())
    first = start_run(NewRun(profile, Access(), RunOptions(concurrency=1)), lambda: result, state)
    assert first is not None
    template = Path(profile.template_path)
    template.write_text(template.read_text("utf-8") + "\n", "utf-8")
    starts: list[RunStart] = []
    continue_run(Continue(first.run_id, Access()), RunState(), starts.append)
    assert starts[0].template_changed


def test_a_dry_run_counts_the_valid_records_and_calls_and_skips_the_invalid(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    profile = profile_of(sandbox)
    result = validation(profile, sheet_with_invalid_rows(tmp_path / "s.csv", 31, {3, 7, 9}))
    counted = dry_run_sheet(result, RunState())
    assert (counted.records, counted.calls, counted.invalid) == (28, 2, 3)
    assert sandbox.stats() == {}  # nothing reached the service


def test_the_outage_limit_comes_from_the_options_or_the_setting(
    make_sandbox: MakeSandbox, tmp_path: Path
) -> None:
    sandbox = make_sandbox(fail_rate=1.0)
    profile = profile_of(sandbox)
    result = validation(profile, sheet_with_invalid_rows(tmp_path / "s.csv", 5, set()))
    options = RunOptions(outage_limit=0.5)
    summary = start_run(NewRun(profile, Access(), options), lambda: result, RunState())
    assert summary is not None and summary.status == "stopped" and summary.exit_code == 4
    assert summary.counts.pending == 5

    values = app_settings.load()
    values.set(app_settings.OUTAGE_LIMIT, 1)
    app_settings.save(values)
    assert RunOptions().limit() == 1.0 and RunOptions(outage_limit=7).limit() == 7
    again = continue_run(Continue(summary.run_id, Access()), RunState())
    assert again.status == "stopped" and again.counts.pending == 5


# -- the password ------------------------------------------------------------------------------


def pfx_profile(sandbox: Sandbox, **changes: object) -> Profile:
    save_sandbox_profiles(sandbox)
    profile = replace(
        find_profile("Sandbox"),
        cert_pfx=str(sandbox.pfx_path),
        cert_pem=None,
        key_pem=None,
        **changes,  # type: ignore[arg-type]
    )
    return save_profile(profile)


def test_the_password_comes_from_the_profile_s_variable_first(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    profile = pfx_profile(sandbox, cert_password_env=PASSWORD_VARIABLE)
    monkeypatch.setenv(PASSWORD_VARIABLE, sandbox.pfx_password)

    def never(prompt: str) -> str:
        raise AssertionError("nothing should be asked")

    with open_connection(profile, ask=never) as connection:
        assert connection.client.connection_id == sandbox.connection_id
    opened = try_open(profile)
    assert opened is not None
    opened.close()


def test_a_password_nothing_gives_is_asked_for_once_and_remembered(sandbox: Sandbox) -> None:
    profile = pfx_profile(sandbox)
    asked: list[str] = []

    def typed(prompt: str) -> str:
        asked.append(prompt)
        return sandbox.pfx_password

    assert try_open(profile) is None  # the window asks, then opens with Access(password=...)
    with Access(ask=typed).open(profile):
        pass
    with Access(ask=typed).open(profile):
        pass
    assert asked == ['Certificate password for profile "Sandbox": ']


def test_no_password_anywhere_is_one_sentence_naming_what_was_tried(sandbox: Sandbox) -> None:
    profile = pfx_profile(sandbox, cert_password_env=PASSWORD_VARIABLE)
    with pytest.raises(ProfileError) as no_terminal:
        find_password(profile)
    assert no_terminal.value.message == (
        f'The certificate {sandbox.pfx_path} of profile "Sandbox" needs its password, but the '
        f"environment variable {PASSWORD_VARIABLE} the profile names is unset, none is stored "
        "in the keyring, and there is no terminal to type it in."
    )
    with pytest.raises(ProfileError, match="none was typed in"):
        open_connection(profile, ask=lambda prompt: None)
    assert sandbox.stats() == {}


def test_a_wrong_password_is_refused_by_the_certificate(sandbox: Sandbox) -> None:
    profile = pfx_profile(sandbox)
    with pytest.raises(CertificateError):
        Access(password="wrong").open(profile)
    with pytest.raises(CertificateError):
        Access(ask=lambda prompt: "wrong").open(profile)
    assert sandbox.stats() == {}
