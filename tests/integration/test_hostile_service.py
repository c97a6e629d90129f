"""`submit` against a service that is away, wrong or strange, over real sockets: each hostile
reply is told for what it is (the sentence, secrets removed), ends the run with exit 4 in a
bounded time, and leaves it resumable with every record still to send.

The sign-in is the sandbox's; the API is a hostile server on 127.0.0.1 (tests/helpers/
hostile.py), or a port nothing listens on. Each call has a 5 s deadline for its whole
answer and runs stop after 5 s without one, so no test waits long.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from opus_desktop import paths, profiles, settings
from opus_desktop.cli import main
from opus_desktop.jobs.journal import Journal
from opus_desktop.profiles import Profile, find_profile, save_profile
from opus_desktop.sandbox import Sandbox
from opus_desktop.sandbox_profiles import save_sandbox_profiles
from tests.helpers.hostile import closed_port, hostile_api
from tests.helpers.workbooks import write_csv
from tests.integration.test_submit_sandbox import SHEET_HEADERS, sheet_row

RECORDS = 20
BOUND = 30.0  # a guard against hanging, not a measure of speed


@pytest.fixture(autouse=True)
def quick_limits() -> Iterator[None]:
    settings.save(settings.Settings({settings.REQUEST_TIMEOUT.key: 5}))
    profiles._memory.clear()
    yield
    profiles._memory.clear()


@dataclass
class Told:
    code: int
    out: str
    took: float

    def has(self, *parts: str) -> None:
        """Each part is in the output; "{n}" stands for either batch's size (15 or 5: the
        two batches are under way at once, and either may be told)."""
        for part in parts:
            pattern = re.escape(part).replace(re.escape("{n}"), "(?:15|5)")
            assert re.search(pattern, self.out), f"{part!r} not in:\n{self.out}"


def sheet(folder: Path) -> Path:
    rows = [sheet_row(n) for n in range(1, RECORDS + 1)]
    return write_csv(folder / "records.csv", [SHEET_HEADERS, *rows])


def hostile_profile(sandbox: Sandbox, api_url: str, identity_url: str | None = None) -> Profile:
    save_sandbox_profiles(sandbox)
    profile = replace(
        find_profile("Sandbox"),
        name="Hostile",
        api_url=api_url,
        identity_url=identity_url or sandbox.identity_url,
    )
    return save_profile(profile, sandbox.template_path)


def submit(
    folder: Path, capsys: pytest.CaptureFixture[str], *extra: str, profile: str = "Hostile"
) -> Told:
    started = time.monotonic()
    command = ["submit", "--profile", profile, "--input", str(sheet(folder))]
    code = main([*command, "--outage-limit", "5", *extra])
    took = time.monotonic() - started
    out, err = capsys.readouterr()
    return Told(code, out + err, took)


def the_run_is_kept_whole(told: Told) -> None:
    """Stopped, resumable, nothing stored, the sentence in the run's record."""
    with Journal(paths.journal_path()) as journal:
        (run,) = journal.runs()
    assert run.status == "stopped" and run.resumable
    assert run.counts.pending == RECORDS and run.counts.ok == 0
    assert run.note and run.note in told.out
    told.has(f"Continue with: opus-desktop runs resume {run.id}")


# -- replies that are not the API's: told at once ---------------------------------------------

NOT_THE_API = {
    "html": (
        "The service's reply to submitting {n} records is not JSON: HTTP 200 (text/html), "
        'starting "<!DOCTYPE html><html><head><title>Sign in</title>',
    ),
    "truncated": (
        "The service's reply to submitting {n} records is not JSON: HTTP 200 "
        '(application/json), starting "{"statusCode": 201, "message": "2 recor".',
    ),
    "list": (
        "The service's reply to submitting {n} records is a JSON list, not an object: HTTP 200 "
        '(application/json), starting "[{"statusCode": 201, "message": "stored"}]".',
    ),
    "huge": (
        "The service's reply to submitting {n} records is larger than 8 MB, far more than any "
        "Opus reply, so it was not read: HTTP 200 (application/json), larger than 8 MB, "
        'starting "{"message":…".',
    ),
    "redirect": (
        "The service answered submitting {n} records with a redirect, which the Opus API never "
        "gives (HTTP 302 (text/html), a redirect to "
        "https://login.contoso.example/sso?token=[removed]&next=/, starting",
    ),
}


@pytest.mark.parametrize("mode", sorted(NOT_THE_API))
def test_a_reply_that_is_not_the_api_s_stops_the_run_at_once_with_what_arrived(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str], mode: str
) -> None:
    with hostile_api(mode) as api:
        hostile_profile(sandbox, api.url)
        told = submit(tmp_path, capsys)
        calls = api.calls

    assert told.code == 4
    assert told.took < BOUND
    told.has(*NOT_THE_API[mode])
    assert "busy" not in told.out and "hunter2" not in told.out and "s3cr3t" not in told.out
    assert calls <= 2  # each batch once (two are under way at once), never again
    the_run_is_kept_whole(told)


def test_a_500_with_a_stack_trace_on_every_call_stops_the_run_with_the_trace_s_start(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with hostile_api("trace") as api:
        hostile_profile(sandbox, api.url)
        told = submit(tmp_path, capsys)
        calls = api.calls

    assert told.code == 4 and told.took < BOUND
    told.has(
        "The service failed on 8 calls in a row, so the run stopped: The service failed while "
        "submitting",
        '(HTTP 500 (text/plain), starting "Traceback (most recent call last): File '
        '"/srv/opus/api.py", line 212, in submit',
        "resume the run once the service works again",
    )
    assert "hunter2" not in told.out and "eyJzdWIi" not in told.out and "busy" not in told.out
    assert 8 <= calls <= 8 + 4  # the calls under way when the eighth failed finish
    with Journal(paths.journal_path()) as journal:
        (run,) = journal.runs()
    assert run.status == "stopped" and run.resumable and run.counts.ok == 0


def test_a_retry_after_of_a_day_stops_the_run_at_once_saying_the_wait_asked(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with hostile_api("retry-after") as api:
        hostile_profile(sandbox, api.url)
        told = submit(tmp_path, capsys)
        calls = api.calls

    assert told.code == 4 and told.took < BOUND
    told.has(
        "The service answered HTTP 429 (too many requests) while submitting {n} records, and "
        "asked to wait 27 h 47 min before trying again (Retry-After), longer than the 5 s "
        "allowed without an answer. Try again after that. The run stopped; every record's "
        "state is in the journal."
    )
    assert calls <= 2
    the_run_is_kept_whole(told)


def test_an_answer_dripped_a_byte_a_second_is_a_timeout_and_the_run_stops_at_its_limit(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with hostile_api("drip") as api:
        hostile_profile(sandbox, api.url)
        told = submit(tmp_path, capsys)

    assert told.code == 4 and told.took < BOUND
    told.has(
        "The service gave no answer for ",
        "The last attempt: 127.0.0.1 did not give its whole answer within 5 s while "
        "submitting {n} records",
        "resume the run when the service is back",
    )
    assert "busy" not in told.out
    the_run_is_kept_whole(told)


# -- nothing there -----------------------------------------------------------------------------


def test_nothing_listening_at_the_profile_s_address_is_said_at_once_never_busy(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = closed_port()
    url = f"http://127.0.0.1:{port}"
    hostile_profile(sandbox, url, identity_url=f"{url}/identity")
    told = submit(tmp_path, capsys)

    assert told.code == 4 and told.took < BOUND
    told.has(
        f"Nothing answers at {url} (the connection was refused) while reading the identity "
        "service's configuration: is the address right, is the service up?"
    )
    assert "busy" not in told.out and "No answer" not in told.out
    the_run_is_kept_whole(told)


def test_an_api_nothing_listens_at_is_said_at_once_with_its_address(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    hostile_profile(sandbox, url)
    told = submit(tmp_path, capsys)

    assert told.code == 4 and told.took < BOUND
    told.has(
        f"Nothing answers at {url} (the connection was refused) while submitting {{n}} records: "
        "is the address right, is the service up?"
    )
    the_run_is_kept_whole(told)


def test_a_name_no_one_knows_is_said_at_once(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile_profile(sandbox, "https://opus-desktop-test.invalid")
    told = submit(tmp_path, capsys)

    assert told.code == 4 and told.took < BOUND
    told.has(
        "The name opus-desktop-test.invalid is not known to this computer's network (DNS) "
        "while submitting {n} records: is the address right, and is this computer on the "
        "network?"
    )
    the_run_is_kept_whole(told)


def test_a_connection_test_against_a_drip_gives_up_after_two_tries(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    with hostile_api("drip") as api:
        hostile_profile(sandbox, api.url)
        started = time.monotonic()
        code = main(["profile", "test", "Hostile"])
        took = time.monotonic() - started
        calls = api.calls
    out, err = capsys.readouterr()
    assert code != 0 and took < BOUND, out + err
    assert calls <= 2  # four tries of 8 s each before its patience
    assert "did not give its whole answer within" in out + err
