"""The legacy destroy path: no public document names it, so there is no built-in default.
A legacy profile without one is saved and tested with a note, submits and asks for due
records, and marking destroyed is refused before anything is sent."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from opus_desktop.jobs.connect import connect
from opus_desktop.opus import SettingsError
from opus_desktop.opus.protocols import NO_DESTROY_PATH
from opus_desktop.profiles import Profile, ProfileError
from tests.unit.test_connect import FakeOpus, run_test, saved_profile

NOTE = (
    "No destroy path is set, so records cannot be marked destroyed with this legacy profile: "
    "copy the path of that call from the tenant's API page into the profile."
)


@pytest.fixture
def fake() -> FakeOpus:
    return FakeOpus()


def test_a_new_profile_has_no_destroy_path() -> None:
    assert Profile(name="P").destroy_path == ""
    assert Profile(name="P", protocol="legacy").destroy_path_note() == NOTE
    assert Profile(name="P", protocol="legacy", destroy_path="api/x").destroy_path_note() is None
    assert Profile(name="P", protocol="legacy", destroy_path=" / ").destroy_path_note() == NOTE
    assert Profile(name="P", protocol="graph").destroy_path_note() is None


@pytest.mark.parametrize("path", ["https://elsewhere/x", "api/x?y=1", "api/x#y", "api/a b"])
def test_a_destroy_path_that_is_no_path_is_refused(tmp_path: Path, path: str) -> None:
    with pytest.raises(ProfileError) as refused:
        saved_profile(tmp_path, protocol="legacy", destroy_path=path)
    assert refused.value.message == (
        f'The destroy path "{path}" must be a path on the API URL, as the tenant\'s API page '
        "gives it: no https://, spaces, ? or #."
    )


def test_the_connection_test_notes_a_destroy_path_that_is_set(
    tmp_path: Path, fake: FakeOpus
) -> None:
    profile = saved_profile(tmp_path, protocol="legacy", destroy_path="api/custom/MarkDestroyed")
    first = run_test(profile, fake)[0]
    assert (first.name, first.ok, first.warning) == ("Profile", True, False)
    assert NOTE not in first.detail


def test_the_connection_test_says_when_the_destroy_path_is_unset(
    tmp_path: Path, fake: FakeOpus
) -> None:
    steps = run_test(saved_profile(tmp_path, protocol="legacy"), fake)
    assert all(step.ok for step in steps) and len(steps) == 5
    assert steps[0].warning and steps[0].detail.endswith(f". {NOTE}")


def test_without_a_destroy_path_submitting_works_and_destroying_is_refused_unsent(
    tmp_path: Path, fake: FakeOpus
) -> None:
    profile = saved_profile(tmp_path, protocol="legacy")
    with connect(profile, None, transport=fake.transport) as connection:
        assert connection.client.due_page(datetime(2024, 1, 1)).items == [{"rowKey": "A"}]
        sent = len(fake.requests)
        with pytest.raises(SettingsError) as refused:
            connection.client.destroy(["A"])
        assert refused.value.message == NO_DESTROY_PATH
        assert len(fake.requests) == sent
