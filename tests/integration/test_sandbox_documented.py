"""The sandbox as AvePoint's public pages describe the service, over real HTTP, and the
client against it: assertions living up to an hour (AvePoint's own sample), 418 for a
Graph destroy that partly failed, both spellings of the conflict option on legacy, the
legacy destroy path the sandbox's own profile names, and a client clock a little ahead."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import httpx
import pytest

from opus_desktop.jobs.connect import Connection, connect
from opus_desktop.opus.auth import TokenProvider
from opus_desktop.opus.certificate import load_certificate
from opus_desktop.profiles import find_profile
from opus_desktop.sandbox import Sandbox
from opus_desktop.sandbox_profiles import LEGACY_PROFILE, save_sandbox_profiles
from tests.integration.test_client_sandbox import fast_retry, profile_for
from tests.integration.test_sandbox import (
    GRAPH,
    LEGACY_DESTROY,
    LEGACY_SUBMIT,
    bearer,
    make_assertion,
    record,
    token_endpoint,
    token_form,
)


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as http:
        yield http


@pytest.fixture
def auth(client: httpx.Client, sandbox: Sandbox) -> dict[str, str]:
    return bearer(client, sandbox)


@pytest.fixture
def opened() -> Iterator[Callable[[Sandbox, str], Connection]]:
    connections: list[Connection] = []

    def open_(sandbox: Sandbox, protocol: str) -> Connection:
        connection = connect(profile_for(sandbox, protocol), None, retry=fast_retry())
        connections.append(connection)
        return connection

    yield open_
    for connection in connections:
        connection.close()


# -- assertions ------------------------------------------------------------------------------


@pytest.mark.parametrize("lifetime", [300, 600, 3600])
def test_an_assertion_living_up_to_an_hour_is_accepted(
    client: httpx.Client, sandbox: Sandbox, lifetime: int
) -> None:
    now = int(time.time())
    assertion = make_assertion(sandbox, iat=now, nbf=now, exp=now + lifetime)
    reply = client.post(token_endpoint(sandbox), data=token_form(assertion))
    assert reply.status_code == 200, reply.text
    assert sandbox.issued_assertions == [assertion]


def test_an_assertion_living_longer_than_an_hour_is_refused(
    client: httpx.Client, sandbox: Sandbox
) -> None:
    now = int(time.time())
    assertion = make_assertion(sandbox, iat=now - 60, nbf=now - 60, exp=now + 3541)
    reply = client.post(token_endpoint(sandbox), data=token_form(assertion))
    assert reply.status_code == 400
    assert reply.json() == {
        "error": "invalid_client",
        "error_description": "The client assertion must expire within 1 hour of being issued.",
    }
    assert sandbox.issued_tokens == []


def test_a_client_whose_clock_is_100_seconds_ahead_still_signs_in(
    sandbox: Sandbox, client: httpx.Client
) -> None:
    # Dated a minute back, its assertion is issued 40 s ahead of the service: within the
    # minute of skew the service allows. Without the minute back it would be 100 s ahead.
    credential = load_certificate(cert_pem=sandbox.cert_pem_path, key_pem=sandbox.key_pem_path)
    tokens = TokenProvider(
        sandbox.identity_url,
        sandbox.client_id,
        credential,
        client,
        clock=lambda: time.time() + 100,
    )
    assert tokens.token() in sandbox.issued_tokens


# -- destroying on Graph: 418 when some fail ---------------------------------------------------


def test_a_graph_destroy_that_fully_succeeds_is_200_without_failed_items(
    client: httpx.Client, sandbox: Sandbox, auth: dict[str, str]
) -> None:
    keys = sorted(sandbox.due_keys(datetime.now(UTC)))[:2]
    reply = client.request("DELETE", sandbox.url + GRAPH, json={"disposalIds": keys}, headers=auth)
    assert (reply.status_code, reply.json()) == (
        200,
        {"statusCode": 200, "message": "2 of 2 records marked as destroyed."},
    )
    assert sandbox.destroyed() == set(keys)


def test_a_graph_destroy_where_every_key_fails_is_418(
    client: httpx.Client, sandbox: Sandbox, auth: dict[str, str]
) -> None:
    reply = client.request(
        "DELETE", sandbox.url + GRAPH, json={"disposalIds": ["GHOST-1", "GHOST-2"]}, headers=auth
    )
    assert reply.status_code == 418
    body = reply.json()
    assert body["statusCode"] == 418
    assert [entry["item"] for entry in body["failedItems"]] == ["GHOST-1", "GHOST-2"]
    assert sandbox.destroyed() == set()


def test_a_legacy_destroy_stays_200_with_bare_keys(
    client: httpx.Client, sandbox: Sandbox, auth: dict[str, str]
) -> None:
    key = sorted(sandbox.due_keys(datetime.now(UTC)))[0]
    reply = client.post(
        sandbox.url + LEGACY_DESTROY, json={"disposalIds": [key, "GHOST"]}, headers=auth
    )
    assert (reply.status_code, reply.json()["failedItems"]) == (200, ["GHOST"])


def test_the_client_reads_a_partly_failed_graph_destroy(
    sandbox: Sandbox, opened: Callable[[Sandbox, str], Connection]
) -> None:
    keys = sorted(sandbox.due_keys(datetime.now(UTC)))[:2]
    connection = opened(sandbox, "graph")
    result = connection.client.destroy([keys[0], "NO-SUCH-KEY", keys[1]])
    assert result.destroyed == keys
    assert list(result.failed) == ["NO-SUCH-KEY"]
    assert "not found" in result.failed["NO-SUCH-KEY"]
    assert result.certain
    assert sandbox.destroyed() == set(keys)
    assert sandbox.stats()["graph.destroy"] == 1  # read at once, not retried


# -- the conflict option on legacy ---------------------------------------------------------------


def legacy_body(sandbox: Sandbox, key: str, **options: str) -> dict[str, object]:
    return {"id": sandbox.connection_id, **options, "data": [record(key)]}


@pytest.mark.parametrize(
    "options",
    [
        {"conflictOption": "Skip", "confilictOption": "Skip"},
        {"confilictOption": "Overwrite"},
        {"conflictOption": "Overwrite"},
    ],
)
def test_legacy_submit_takes_either_spelling_or_both(
    client: httpx.Client, sandbox: Sandbox, auth: dict[str, str], options: dict[str, str]
) -> None:
    body = legacy_body(sandbox, "SPELT-1", **options)
    reply = client.post(sandbox.url + LEGACY_SUBMIT, json=body, headers=auth)
    assert reply.status_code == 200, reply.text
    assert "SPELT-1" in sandbox.records()


def test_legacy_submit_refuses_spellings_that_disagree(
    client: httpx.Client, sandbox: Sandbox, auth: dict[str, str]
) -> None:
    body = legacy_body(sandbox, "SPELT-2", conflictOption="Skip", confilictOption="Overwrite")
    reply = client.post(sandbox.url + LEGACY_SUBMIT, json=body, headers=auth)
    assert (reply.status_code, reply.json()) == (
        400,
        {"Message": "conflictOption and confilictOption disagree."},
    )
    assert "SPELT-2" not in sandbox.records()


def test_graph_submit_still_refuses_the_misspelt_option(
    client: httpx.Client, sandbox: Sandbox, auth: dict[str, str]
) -> None:
    body = legacy_body(sandbox, "SPELT-3", conflictOption="Skip", confilictOption="Skip")
    reply = client.post(sandbox.url + GRAPH, json=body, headers=auth)
    assert reply.status_code == 400
    assert "confilictOption" in reply.json()["message"]
    assert "SPELT-3" not in sandbox.records()


def test_the_client_submits_on_legacy_with_both_spellings(
    sandbox: Sandbox, opened: Callable[[Sandbox, str], Connection]
) -> None:
    connection = opened(sandbox, "legacy")
    result = connection.client.submit([record("SPELT-4")], conflict="Skip")
    assert result.stored == ["SPELT-4"]
    assert "SPELT-4" in sandbox.records()


# -- the legacy destroy path -------------------------------------------------------------------


def test_the_sandbox_profiles_name_the_sandbox_destroy_path(sandbox: Sandbox) -> None:
    save_sandbox_profiles(sandbox)
    legacy = find_profile(LEGACY_PROFILE)
    assert legacy.destroy_path == sandbox.legacy_destroy_path == LEGACY_DESTROY.strip("/")
    assert legacy.destroy_path_note() is None
    assert find_profile("Sandbox").destroy_path == ""
