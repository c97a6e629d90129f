"""One classification of failures, the same outcome on every path: an untrusted TLS server
is told in the same sentence by `profile test`, by `submit` (which stops at once, nothing
lost) and by the use cases the window calls; the outage limit bounds the client's own
retries."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from opus_desktop import paths, profiles
from opus_desktop.cli import main
from opus_desktop.core.sheets import read_sheet
from opus_desktop.core.validation import validate
from opus_desktop.jobs.journal import Journal
from opus_desktop.jobs.state import RunState
from opus_desktop.opus.errors import Failure, ServiceUnavailable
from opus_desktop.profiles import Profile, find_profile, save_profile
from opus_desktop.sandbox import Sandbox
from opus_desktop.sandbox_profiles import save_sandbox_profiles
from opus_desktop.usecases.connection import Access
from opus_desktop.usecases.disposing import Connections, LoadRequest, load_due
from opus_desktop.usecases.submitting import NewRun, RunOptions, start_run
from tests.helpers.tls import untrusted_server
from tests.helpers.workbooks import write_csv
from tests.integration.conftest import MakeSandbox
from tests.integration.test_submit_sandbox import SHEET_HEADERS, sheet_row

UNTRUSTED = "could not prove its identity (its TLS certificate is not trusted by this computer)"


@pytest.fixture(autouse=True)
def no_remembered_passwords() -> Iterator[None]:
    profiles._memory.clear()
    yield
    profiles._memory.clear()


@pytest.fixture
def untrusted(sandbox: Sandbox, tmp_path: Path) -> Iterator[tuple[Profile, int]]:
    """A profile like the sandbox's whose service is an untrusted HTTPS server."""
    save_sandbox_profiles(sandbox)
    with untrusted_server(tmp_path) as (url, server):
        profile = replace(
            find_profile("Sandbox"), name="Untrusted", identity_url=url, api_url=url + "/api"
        )
        save_profile(profile, sandbox.template_path)
        yield profile, server
    assert server.requests == 0  # type: ignore[attr-defined]


def sheet(path: Path, count: int) -> Path:
    return write_csv(path, [SHEET_HEADERS, *(sheet_row(n) for n in range(1, count + 1))])


def the_sentence(text: str) -> str:
    start = text.index("The server 127.0.0.1")
    return text[start : text.index(UNTRUSTED) + len(UNTRUSTED)]


def test_profile_test_and_submit_tell_an_untrusted_server_the_same_way_and_submit_stops(
    untrusted: tuple[Profile, object], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["profile", "test", "Untrusted"]) == 4
    tested = capsys.readouterr()
    told = the_sentence(tested.out + tested.err)

    started = time.monotonic()
    code = main(["submit", "--profile", "Untrusted", "--input", str(sheet(tmp_path / "s.csv", 20))])
    took = time.monotonic() - started
    out, err = capsys.readouterr()
    assert code == 4
    assert took < 10, f"submit kept trying an untrusted server for {took:.0f} s"
    assert the_sentence(out + err) == told
    assert "No answer from the service" not in out + err
    assert "busy" not in out + err
    with Journal(paths.journal_path()) as journal:
        (run,) = journal.runs()
        assert run.status == "stopped" and run.counts.pending == 20  # resumable, nothing lost


def test_the_window_s_use_cases_stop_on_an_untrusted_server_at_once(
    untrusted: tuple[Profile, object], tmp_path: Path
) -> None:
    profile, _ = untrusted
    result = validate(
        read_sheet(sheet(tmp_path / "s.csv", 5)), profile.template(), profile.value_settings()
    )
    started = time.monotonic()
    summary = start_run(NewRun(profile, Access(), RunOptions()), lambda: result, RunState())
    assert summary is not None and summary.status == "stopped" and summary.exit_code == 4
    assert summary.error is not None and summary.error.kind is Failure.TLS
    assert UNTRUSTED in summary.error.message
    assert time.monotonic() - started < 10

    with pytest.raises(ServiceUnavailable) as caught:
        load_due(Connections(), LoadRequest(profile, None, datetime.now()), RunState())
    assert caught.value.kind is Failure.TLS and UNTRUSTED in caught.value.message


def test_the_outage_limit_bounds_the_client_s_own_retries(
    make_sandbox: MakeSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox = make_sandbox(fail_rate=1.0)
    save_sandbox_profiles(sandbox)
    started = time.monotonic()
    code = main(
        [
            "submit",
            "--profile",
            "Sandbox",
            "--input",
            str(sheet(tmp_path / "s.csv", 5)),
            "--outage-limit",
            "2",
        ]
    )
    took = time.monotonic() - started
    out, err = capsys.readouterr()
    assert code == 4, out + err
    # Each call gave up within the limit, not after its six tries (up to 15 s of waits).
    assert "times in a row" not in out + err
    assert "gave no answer for 2 seconds" in out + err and "resume the run" in out + err
    assert took < 20, f"--outage-limit 2 stopped the run after {took:.1f} s"
