"""The client (opus/, through jobs.connect) against the sandbox over loopback, both protocols.

Every test asserts what the sandbox stored, destroyed or counted (records(), destroyed(),
due_keys(), stats()), not only what the client says came back.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from opus_desktop.core.datetimes import format_datetime, parse_datetime
from opus_desktop.jobs.connect import Connection, connect
from opus_desktop.opus import (
    AuthError,
    CertificateError,
    InvalidRequest,
    RetryPolicy,
    ServiceUnavailable,
    TooManyRecords,
)
from opus_desktop.profiles import Profile, find_profile
from opus_desktop.sandbox import Sandbox
from opus_desktop.sandbox_profiles import LEGACY_PROFILE, save_sandbox_profiles
from tests.integration.conftest import MakeSandbox

PROTOCOLS = ["graph", "legacy"]
OWNERS = ["alice.nguyen@contoso.example", "bob.smith@contoso.example"]


@pytest.fixture(params=PROTOCOLS)
def protocol(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def profile_for(sandbox: Sandbox, protocol: str, **changes: Any) -> Profile:
    """The profile `opus-desktop sandbox` writes for this sandbox and protocol."""
    save_sandbox_profiles(sandbox)
    profile = find_profile("Sandbox" if protocol == "graph" else LEGACY_PROFILE)
    assert profile.protocol == protocol
    return replace(profile, **changes)


def fast_retry(attempts: int = 10, **kwargs: Any) -> RetryPolicy:
    """Retries without the real waits, so that fault tests take a fraction of a second."""
    return RetryPolicy(attempts=attempts, base=0.002, cap=0.01, **kwargs)


@pytest.fixture
def opened() -> Iterator[Callable[..., Connection]]:
    """connect() for a sandbox and protocol; every connection is closed when the test ends."""
    connections: list[Connection] = []

    def open_(
        sandbox: Sandbox,
        protocol: str,
        password: str | None = None,
        retry: RetryPolicy | None = None,
        **changes: Any,
    ) -> Connection:
        connection = connect(
            profile_for(sandbox, protocol, **changes), password, retry=retry or fast_retry()
        )
        connections.append(connection)
        return connection

    yield open_
    for connection in connections:
        connection.close()


def make_records(count: int, fmt: str, prefix: str = "NEW") -> list[dict[str, object]]:
    """Records using every column of the demo connection, dates written by the client's own
    formatter in the tenant's format (`fmt`)."""
    records: list[dict[str, object]] = []
    for n in range(count):
        created = datetime(2016, 1, 31, 23, 5, 9) + timedelta(days=37 * n, minutes=n)
        records.append(
            {
                "rowKey": f"{prefix}-{n:04d}",
                "leafName": f"Invoice {n} – Fabrikam ✓.pdf",
                "termFullPath": "Records/Finance/Invoices",
                "timeCreated": format_datetime(created, fmt),
                "timeModified": format_datetime(created + timedelta(hours=30), fmt),
                "createdBy": OWNERS[0],
                "modifiedBy": OWNERS[n % 2],
                "_Case_%20_Number": f"CASE-{n:05d}",
                "_Description": f"Line one of {n}\nLine two, with \"quotes\" and 'apostrophes'",
                "_Date_%20_Received": format_datetime(created - timedelta(days=3), fmt),
                "_Page_%20_Count": n + 0.5 if n % 2 else n,
                "_Security_%20_Level": 1 + n % 4,
                "_Departments": [1, 3] if n % 3 else [5],
                "_Record_%20_Owner": OWNERS[: 1 + n % 2],
                "_Storage_%20_Location": "Sites/Offsite/Iron Mountain",
            }
        )
    return records


def api_calls(sandbox: Sandbox, operation: str) -> int:
    stats = sandbox.stats()
    return stats.get(f"graph.{operation}", 0) + stats.get(f"legacy.{operation}", 0)


def all_due_items(
    connection: Connection, now: datetime, per_page: int
) -> list[list[dict[str, str]]]:
    """Every page of due records, following the continuation tokens."""
    pages: list[list[dict[str, str]]] = []
    start: str | None = None
    while True:
        page = connection.client.due_page(now, start, per_page)
        pages.append(page.items)
        if page.next_start is None:
            return pages
        assert not page.next_start.isdigit()  # opaque, not a page number
        start = page.next_start


def all_due_keys(connection: Connection, now: datetime, per_page: int) -> list[list[str]]:
    """Row keys of every page of due records, page by page."""
    return [[item["rowKey"] for item in page] for page in all_due_items(connection, now, per_page)]


# -- signing in ----------------------------------------------------------------------------------


def test_sign_in_with_pem(
    sandbox: Sandbox, opened: Callable[..., Connection], protocol: str
) -> None:
    connection = opened(sandbox, protocol)
    token = connection.tokens.token()
    assert sandbox.issued_tokens == [token]
    assert len(sandbox.seen_jtis) == 1
    assert 3590 < (connection.tokens.seconds_left() or 0) <= 3600
    connection.client.due_page(datetime.now(UTC), per_page=1)
    assert connection.tokens.token() == token  # cached, not fetched again
    assert sandbox.stats()["tokens_issued"] == 1
    assert api_calls(sandbox, "due") == 1


def test_sign_in_with_pfx(
    sandbox: Sandbox, opened: Callable[..., Connection], protocol: str
) -> None:
    connection = opened(
        sandbox,
        protocol,
        password=sandbox.pfx_password,
        cert_pfx=str(sandbox.pfx_path),
        cert_pem=None,
        key_pem=None,
    )
    assert connection.credential.path == sandbox.pfx_path
    page = connection.client.due_page(datetime.now(UTC), per_page=2)
    assert len(page.items) == 2
    assert sandbox.stats()["tokens_issued"] == 1
    assert sandbox.issued_tokens == [connection.tokens.token()]


def test_a_wrong_pfx_password_is_refused_before_any_call(
    sandbox: Sandbox, opened: Callable[..., Connection]
) -> None:
    with pytest.raises(CertificateError, match=r"password for sandbox-certificate\.pfx is wrong"):
        opened(sandbox, "graph", password="not it", cert_pfx=str(sandbox.pfx_path), cert_pem=None)
    with pytest.raises(CertificateError, match="protected by a password"):
        opened(sandbox, "graph", password=None, cert_pfx=str(sandbox.pfx_path), cert_pem=None)
    assert sandbox.stats() == {}


def test_an_unknown_client_id_is_an_auth_error(
    sandbox: Sandbox, opened: Callable[..., Connection], protocol: str
) -> None:
    other = "0d6f7c1e-1111-4a4a-9b9b-123456789abc"
    connection = opened(sandbox, protocol, client_id=other)
    with pytest.raises(AuthError, match=f"the app {other}: the client id is not known") as caught:
        connection.client.due_page(datetime.now(UTC), per_page=1)
    assert caught.value.code == "invalid_client"
    assert sandbox.stats().get("tokens_issued", 0) == 0
    assert api_calls(sandbox, "due") == 0


@pytest.mark.parametrize(("offset", "direction"), [(-3600, "behind"), (3600, "ahead of")])
def test_a_wrong_clock_is_named_as_the_cause(
    sandbox: Sandbox, opened: Callable[..., Connection], offset: int, direction: str
) -> None:
    connection = opened(sandbox, "graph")
    connection.tokens.clock = lambda: time.time() + offset
    with pytest.raises(AuthError) as caught:
        connection.client.due_page(datetime.now(UTC), per_page=1)
    message = caught.value.message
    assert message.startswith(
        f"The identity service refused to sign in the app {sandbox.client_id}. This computer's "
        f"clock is about 60 minutes {direction} the identity service's"
    )
    assert "client id is not known" not in message  # the app registration is fine
    assert sandbox.stats().get("tokens_issued", 0) == 0
    assert api_calls(sandbox, "due") == 0


def test_tokens_are_shared_by_concurrent_calls(
    sandbox: Sandbox, opened: Callable[..., Connection], protocol: str
) -> None:
    connection = opened(sandbox, protocol)
    now = datetime.now(UTC)
    with ThreadPoolExecutor(max_workers=8) as pool:
        pages = list(pool.map(lambda _: connection.client.due_page(now, per_page=3), range(16)))
    assert all(len(page.items) == 3 for page in pages)
    assert sandbox.stats()["tokens_issued"] == 1
    assert api_calls(sandbox, "due") == 16


# -- submit --------------------------------------------------------------------------------------


def test_submit_fifteen_stores_exactly_what_was_sent(
    sandbox: Sandbox, opened: Callable[..., Connection], protocol: str
) -> None:
    connection = opened(sandbox, protocol)
    records = make_records(15, connection.profile.date_format)
    before = dict(sandbox.records())

    result = connection.client.submit(records)

    keys = [str(r["rowKey"]) for r in records]
    assert result.stored == keys
    assert result.failed == {} and result.certain
    stored = sandbox.records()
    assert {key: stored[key] for key in keys} == {str(r["rowKey"]): r for r in records}
    assert len(stored) == len(before) + 15  # nothing else changed
    assert sandbox.stats()["records_written"] == 15


def test_a_sixteenth_record_is_refused_before_sending(
    sandbox: Sandbox, opened: Callable[..., Connection], protocol: str
) -> None:
    connection = opened(sandbox, protocol)
    records = make_records(16, connection.profile.date_format)
    with pytest.raises(TooManyRecords, match="at most 15 records per call; 16 were given"):
        connection.client.submit(records)
    with pytest.raises(TooManyRecords):
        connection.client.destroy([f"REC-{n:05d}" for n in range(1, 17)])
    assert sandbox.stats() == {}  # not even a sign-in
    assert "NEW-0000" not in sandbox.records()


def test_a_partial_failure_is_reported_per_key(
    sandbox: Sandbox, opened: Callable[..., Connection], protocol: str
) -> None:
    connection = opened(sandbox, protocol)
    records = make_records(15, connection.profile.date_format)
    records[2]["_Security_%20_Level"] = 9
    records[7]["_Record_%20_Owner"] = ["not an address"]
    records[11]["timeCreated"] = "31/01/2016 23:05"  # not the tenant's format
    bad = {"NEW-0002": "_Security_%20_Level", "NEW-0007": "_Record_%20_Owner",
           "NEW-0011": "timeCreated"}  # fmt: skip

    result = connection.client.submit(records)

    assert set(result.failed) == set(bad)
    for key, column in bad.items():
        assert column in result.failed[key]  # the service's own message, naming the column
    assert "option numbers [1, 2, 3, 4], got 9" in result.failed["NEW-0002"]
    assert result.stored == [str(r["rowKey"]) for r in records if r["rowKey"] not in bad]
    assert result.certain
    stored = sandbox.records()
    assert not set(bad) & set(stored)
    assert all(stored[key] == r for r in records if (key := str(r["rowKey"])) not in bad)


def test_skip_keeps_and_overwrite_replaces(
    sandbox: Sandbox, opened: Callable[..., Connection], protocol: str
) -> None:
    connection = opened(sandbox, protocol)
    first = make_records(3, connection.profile.date_format)
    connection.client.submit(first)
    changed = [{**r, "leafName": "Changed.pdf"} for r in first]

    skipped = connection.client.submit(changed, "Skip")
    assert skipped.stored == ["NEW-0000", "NEW-0001", "NEW-0002"]
    assert sandbox.records()["NEW-0001"]["leafName"] == first[1]["leafName"]

    connection.client.submit(changed, "overwrite")
    assert sandbox.records()["NEW-0001"]["leafName"] == "Changed.pdf"
    assert sandbox.stats()["records_skipped"] == 3


# -- due records and destroying ------------------------------------------------------------------


def test_three_pages_of_due_records(
    sandbox: Sandbox, opened: Callable[..., Connection], protocol: str
) -> None:
    connection = opened(sandbox, protocol)
    now = datetime.now(UTC).replace(microsecond=0)
    expected = sandbox.due_keys(now)
    assert len(expected) == 120

    pages = all_due_items(connection, now, per_page=50)

    assert [len(page) for page in pages] == [50, 50, 20]
    items = [item for page in pages for item in page]
    keys = [item["rowKey"] for item in items]
    assert len(set(keys)) == len(keys) == 120
    assert set(keys) == expected
    # In the order the service promises across pages: by due date, then row key.
    fmt = connection.profile.date_format
    order = [(parse_datetime(item["disposalDueDate"], fmt), item["rowKey"]) for item in items]
    assert order == sorted(order)
    assert api_calls(sandbox, "due") == 3


def test_due_items_read_as_display_strings(
    sandbox: Sandbox, opened: Callable[..., Connection], protocol: str
) -> None:
    connection = opened(sandbox, protocol)
    fmt = connection.profile.date_format
    page = connection.client.due_page(datetime.now(UTC), per_page=100)
    dues = [parse_datetime(item["disposalDueDate"], fmt) for item in page.items]
    assert [(d, i["rowKey"]) for d, i in zip(dues, page.items, strict=True)] == sorted(
        (d, i["rowKey"]) for d, i in zip(dues, page.items, strict=True)
    )
    item = page.items[0]
    stored = sandbox.records()[item["rowKey"]]
    # The service ends dates with a space; the client trims it.
    assert item["timeCreated"] == stored["timeCreated"]
    assert item["leafName"] == stored["leafName"]
    assert item["_Security_%20_Level"] in {"Public", "Internal", "Confidential", "Secret"}


def test_nothing_due_is_an_empty_page(
    sandbox: Sandbox, opened: Callable[..., Connection], protocol: str
) -> None:
    connection = opened(sandbox, protocol)
    page = connection.client.due_page(datetime(1990, 1, 1), per_page=10)
    assert page.items == [] and page.next_start is None
    assert api_calls(sandbox, "due") == 1
    # Graph answers 204 with an empty body, legacy 200 with an empty list.
    assert sandbox.stats().get("http_204", 0) == (1 if protocol == "graph" else 0)


def test_destroy_with_one_unknown_key(
    sandbox: Sandbox, opened: Callable[..., Connection], protocol: str
) -> None:
    connection = opened(sandbox, protocol)
    due = connection.client.due_page(datetime.now(UTC), per_page=4)
    keys = [item["rowKey"] for item in due.items]

    result = connection.client.destroy([*keys[:2], "NO-SUCH-KEY", *keys[2:]])

    assert result.destroyed == keys
    assert list(result.failed) == ["NO-SUCH-KEY"]
    assert result.failed["NO-SUCH-KEY"]  # the service's message (legacy: the reply's message)
    if protocol == "graph":
        assert "not found" in result.failed["NO-SUCH-KEY"]
    assert sandbox.destroyed() == set(keys)
    assert not set(keys) & sandbox.due_keys(datetime.now(UTC))
    assert not result.repeated and result.certain  # sent once: its failure is a real one


def test_destroying_twice_reports_already_destroyed(
    sandbox: Sandbox, opened: Callable[..., Connection], protocol: str
) -> None:
    connection = opened(sandbox, protocol)
    keys = [item["rowKey"] for item in connection.client.due_page(datetime.now(UTC), None, 2).items]
    connection.client.destroy(keys)
    again = connection.client.destroy(keys)
    assert again.destroyed == [] and set(again.failed) == set(keys)
    assert sandbox.stats()["records_destroyed"] == 2


def test_a_destroy_whose_answer_was_lost_is_not_taken_for_a_failure(
    sandbox: Sandbox, opened: Callable[..., Connection], protocol: str
) -> None:
    # The first sending destroys the records but its answer is lost; the client sends it
    # again and the service (rightly) says they are already destroyed. The client must not
    # pass that off as a plain failure.
    heal = fast_retry(on_retry=lambda *event: setattr(sandbox.faults, "drop_rate", 0.0))
    connection = opened(sandbox, protocol, retry=heal)
    keys = [item["rowKey"] for item in connection.client.due_page(datetime.now(UTC), None, 4).items]
    sandbox.faults.drop_rate = 1.0

    result = connection.client.destroy(keys)

    assert sandbox.destroyed() == set(keys)
    stats = sandbox.stats()
    assert stats["drops"] == 1 and stats["records_destroyed"] == 4
    assert result.repeated
    assert set(result.failed) == set(keys)  # what the second answer says...
    assert result.doubtful == keys and not result.certain  # ...flagged as doubtful


# -- tokens that expire --------------------------------------------------------------------------


# These two wait for real tokens to expire, so each runs both protocols side by side on one
# sandbox and sleeps once.


@pytest.mark.slow
def test_a_token_that_expires_mid_run_is_renewed(
    make_sandbox: MakeSandbox, opened: Callable[..., Connection]
) -> None:
    sandbox = make_sandbox(token_ttl=2)
    connections = [opened(sandbox, protocol) for protocol in PROTOCOLS]
    first = [connection.tokens.token() for connection in connections]
    assert all(c.tokens.seconds_left() == pytest.approx(2, abs=0.5) for c in connections)
    records = make_records(60, connections[0].profile.date_format)

    # A run of small calls that lasts longer than a token lives.
    ended = time.monotonic() + 2.6
    sent = 0
    while time.monotonic() < ended or sent < 8:
        connection = connections[sent % 2]
        batch = records[3 * sent : 3 * sent + 3]
        assert connection.client.submit(batch).stored == [r["rowKey"] for r in batch]
        sent += 1
        time.sleep(0.3)

    for connection, token in zip(connections, first, strict=True):
        assert "expired" in sandbox.identity.check_bearer(f"Bearer {token}")
        assert connection.tokens.token() != token
    stats = sandbox.stats()
    assert stats["tokens_issued"] >= 4  # at least one renewal per connection
    assert {str(r["rowKey"]): r for r in records[: 3 * sent]}.items() <= sandbox.records().items()


@pytest.mark.slow
def test_a_refused_token_is_renewed_once_and_the_call_repeated(
    make_sandbox: MakeSandbox, opened: Callable[..., Connection]
) -> None:
    # The providers' clocks stand still, so they believe their tokens are fresh while the
    # sandbox has expired them: the API's 401 alone must make the client sign in again.
    sandbox = make_sandbox(token_ttl=1)
    connections = [opened(sandbox, protocol) for protocol in PROTOCOLS]
    frozen = time.time()
    for connection in connections:
        connection.tokens.clock = lambda: frozen
    first = [connection.tokens.token() for connection in connections]
    time.sleep(1.1)

    for n, connection in enumerate(connections):
        records = make_records(2, connection.profile.date_format, prefix=f"P{n}")
        result = connection.client.submit(records)
        assert result.stored == [f"P{n}-0000", f"P{n}-0001"]

    stats = sandbox.stats()
    assert stats["http_401"] == 2  # one per connection
    assert stats["tokens_issued"] == 4
    assert stats["records_written"] == 4
    assert [c.tokens.token() for c in connections] != first
    assert {"P0-0000", "P1-0001"} <= set(sandbox.records())


# -- faults --------------------------------------------------------------------------------------


def submit_all(connection: Connection, records: list[dict[str, object]]) -> list[str]:
    stored: list[str] = []
    for start in range(0, len(records), 15):
        result = connection.client.submit(records[start : start + 15])
        assert result.failed == {} and result.certain
        stored += result.stored
    return stored


def test_throttling_is_ridden_out(
    make_sandbox: MakeSandbox, opened: Callable[..., Connection], protocol: str
) -> None:
    sandbox = make_sandbox(throttle_rate=0.3, retry_after=0, seed=7)
    waits: list[tuple[str, int | None, float]] = []
    retry = fast_retry(attempts=12, on_retry=lambda *event: waits.append(event))
    connection = opened(sandbox, protocol, retry=retry)
    records = make_records(60, connection.profile.date_format)

    stored = submit_all(connection, records)
    pages = all_due_keys(connection, datetime.now(UTC), per_page=40)

    assert stored == [r["rowKey"] for r in records]
    assert {str(r["rowKey"]): r for r in records}.items() <= sandbox.records().items()
    stats = sandbox.stats()
    assert stats["http_429"] > 0
    assert stats["records_written"] == 60  # a throttled call does nothing, so each once
    assert sum(len(page) for page in pages) == len(sandbox.due_keys(datetime.now(UTC)))
    assert [event for event in waits if event[0] == "throttled"] == [
        ("throttled", 429, 0.0)
    ] * stats["http_429"]


def test_dropped_answers_are_sent_again_and_stored_once(
    make_sandbox: MakeSandbox, opened: Callable[..., Connection], protocol: str
) -> None:
    sandbox = make_sandbox(drop_rate=0.3, seed=3)
    connection = opened(sandbox, protocol)
    records = make_records(60, connection.profile.date_format)

    stored = submit_all(connection, records)

    assert stored == [r["rowKey"] for r in records]
    held = sandbox.records()
    assert {str(r["rowKey"]): r for r in records}.items() <= held.items()
    assert len(held) == 500 + 60  # each record once, whatever was re-sent
    stats = sandbox.stats()
    assert stats["drops"] > 0
    # A dropped call did its work, so re-sending it wrote those records again (Overwrite).
    assert stats["records_written"] > 60


def test_service_unavailable_is_retried(
    make_sandbox: MakeSandbox, opened: Callable[..., Connection], protocol: str
) -> None:
    sandbox = make_sandbox(fail_rate=0.3, seed=5)
    connection = opened(sandbox, protocol)
    records = make_records(45, connection.profile.date_format)

    stored = submit_all(connection, records)
    now = datetime.now(UTC)
    keys = [key for page in all_due_keys(connection, now, per_page=50) for key in page]

    assert stored == [r["rowKey"] for r in records]
    assert {str(r["rowKey"]): r for r in records}.items() <= sandbox.records().items()
    assert set(keys) == sandbox.due_keys(now) and len(keys) == len(set(keys))
    stats = sandbox.stats()
    assert stats["http_503"] > 0
    assert stats["records_written"] == 45


def test_a_service_that_keeps_failing_gives_up(
    make_sandbox: MakeSandbox, opened: Callable[..., Connection], protocol: str
) -> None:
    sandbox = make_sandbox(fail_rate=1.0)
    connection = opened(sandbox, protocol, retry=fast_retry(attempts=3))
    with pytest.raises(ServiceUnavailable, match=r"HTTP 503 .* 3 times in a row") as caught:
        connection.client.submit(make_records(2, connection.profile.date_format))
    assert caught.value.exit_code == 4
    assert sandbox.stats()["http_503"] == 3
    assert "NEW-0000" not in sandbox.records()


# -- other tenant settings -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "fmt", ["d-MMMM-yy h:mm:ss tt", "MMMM d,yyyy HH:mm:ss", "M-d-yy h:mm:ss tt"]
)
def test_another_tenant_date_format(
    make_sandbox: MakeSandbox, opened: Callable[..., Connection], protocol: str, fmt: str
) -> None:
    sandbox = make_sandbox(date_format=fmt)
    connection = opened(sandbox, protocol)
    assert connection.profile.date_format == fmt
    records = make_records(15, fmt)

    assert connection.client.submit(records).stored == [r["rowKey"] for r in records]
    now = datetime.now(UTC)
    pages = all_due_keys(connection, now, per_page=100)

    assert {str(r["rowKey"]): r for r in records}.items() <= sandbox.records().items()
    keys = [key for page in pages for key in page]
    assert set(keys) == sandbox.due_keys(now) and {"NEW-0000", "NEW-0014"} <= set(keys)


def test_an_unusable_setting_fails_before_any_call(
    sandbox: Sandbox, opened: Callable[..., Connection], tmp_path: Path
) -> None:
    with pytest.raises(InvalidRequest):
        opened(sandbox, "graph").client.due_page(datetime.now(UTC), per_page=101)
    missing = tmp_path / "gone.pem"
    with pytest.raises(CertificateError, match=r"gone\.pem does not exist"):
        opened(sandbox, "graph", cert_pem=str(missing))
    assert sandbox.stats() == {}


def test_the_destroy_path_of_a_legacy_profile_is_used(
    sandbox: Sandbox, opened: Callable[..., Connection]
) -> None:
    connection = opened(sandbox, "legacy", destroy_path="api/connector/Elsewhere")
    key = connection.client.due_page(datetime.now(UTC), per_page=1).items[0]["rowKey"]
    with pytest.raises(Exception, match="destroy path") as caught:
        connection.client.destroy([key])
    assert getattr(caught.value, "status", None) == 404
    assert sandbox.destroyed() == set()
