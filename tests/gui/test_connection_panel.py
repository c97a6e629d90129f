"""The connection panel: profiles, the connection test step by step, the columns."""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from opus_desktop.errors import AppError
from opus_desktop.gui.connection.columns import ColumnsModel
from opus_desktop.gui.connection.panel import ConnectionPanel
from opus_desktop.gui.connection.password_dialog import PasswordDialog
from opus_desktop.gui.connection.profile_dialog import ProfileDialog
from opus_desktop.gui.connection.steps_view import breakable, format_left
from opus_desktop.gui.connection.test_worker import ConnectionOutcome, token_lifetime
from opus_desktop.gui.workers import TaskRunner
from opus_desktop.jobs.connect import (
    CERTIFICATE,
    DISCOVERY,
    DUE_RECORDS,
    PROFILE,
    STEPS,
    TOKEN,
    open_certificate,
)
from opus_desktop.jobs.connect import Step as ConnectStep
from opus_desktop.jobs.state import RunState
from opus_desktop.profiles import (
    KEYRING_SERVICE,
    Profile,
    find_profile,
    list_profiles,
    remember_password,
    save_profile,
)
from opus_desktop.usecases.connection import open_connection, tell_signed_in
from opus_desktop.usecases.disposing import Connections, LoadRequest, load_due
from tests.helpers.certs import make_certificate

WRONG_CLIENT_ID = "0b7f7a52-1111-4c4c-9d9d-222233334444"


def make_panel(qtbot: QtBot, runner: TaskRunner, steps: object = None) -> ConnectionPanel:
    panel = ConnectionPanel(runner, steps)  # type: ignore[arg-type]
    qtbot.addWidget(panel)
    panel.resize(320, 700)
    panel.show()
    return panel


def run_test(qtbot: QtBot, panel: ConnectionPanel) -> ConnectionOutcome:
    panel.outcome = None
    qtbot.mouseClick(panel.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.outcome is not None, timeout=20_000)
    outcome = panel.outcome
    assert isinstance(outcome, ConnectionOutcome)
    return outcome


def test_no_profiles_shows_a_sentence_and_an_add_button(qtbot: QtBot, runner: TaskRunner) -> None:
    panel = make_panel(qtbot, runner)
    assert panel.pages.currentIndex() == 0
    assert "No connection profiles yet" in panel.empty_label.text()
    assert panel.empty_add_button.isVisible()
    qtbot.mouseClick(panel.empty_add_button, Qt.MouseButton.LeftButton)
    assert isinstance(panel.dialog, ProfileDialog)
    assert panel.dialog.original is None
    panel.dialog.reject()


def test_profile_columns_and_summary(
    qtbot: QtBot, runner: TaskRunner, sandbox_profile: Profile, qtmodeltester: object
) -> None:
    changed: list[object] = []
    panel = make_panel(qtbot, runner)
    panel.profile_changed.connect(changed.append)
    assert panel.pages.currentIndex() == 1
    assert [p.name for p in panel.profiles()] == ["Sandbox", "Sandbox (legacy)"]
    assert panel.current_profile() is not None
    assert panel.current_profile().name == "Sandbox"  # type: ignore[union-attr]
    assert "Graph API" in panel.summary.text()
    assert "sandbox tenant" in panel.summary.text()

    model = panel.columns_model
    qtmodeltester.check(model)  # type: ignore[attr-defined]
    names = [model.index(r, ColumnsModel.NAME).data() for r in range(model.rowCount())]
    assert names[:3] == ["Row key", "Name", "Classification"]
    assert "Security Level" in names
    row = names.index("Security Level")
    assert model.index(row, ColumnsModel.TYPE).data() == "Choice"
    assert model.index(0, ColumnsModel.REQUIRED).data() == "yes"
    assert panel.columns_title.text() == "Columns (15)"
    assert "6f1c2a4e-3b7d-4e21-9a5c-0d8e7f6a1b2c" in panel.columns_note.text()

    assert panel.select_profile("sandbox (LEGACY)")
    assert [p.name for p in changed] == ["Sandbox (legacy)"]  # type: ignore[attr-defined]
    assert "Legacy API" in panel.summary.text()
    assert not panel.select_profile("Nowhere")


def test_connection_test_against_the_sandbox_shows_every_step(
    qtbot: QtBot, runner: TaskRunner, sandbox_profile: Profile
) -> None:
    panel = make_panel(qtbot, runner)
    seen: list[str] = []
    states: list[str] = []
    panel.sign_in_changed.connect(states.append)

    outcome = run_test(qtbot, panel)
    seen = [step.name for step in outcome.steps]

    assert outcome.ok, [s.detail for s in outcome.steps]
    assert seen == list(STEPS)
    assert all(panel.steps.states[name] == "ok" for name in STEPS)
    assert "valid for 60 minutes" in panel.steps.detail(TOKEN)
    assert panel.steps.detail(DISCOVERY).startswith("token endpoint http://127.0.0.1:")
    assert panel.steps.detail(DUE_RECORDS).startswith("the service answered")
    # Passed steps too are wrapped whole, the sentence in the tooltip as well.
    label = panel.steps.rows[CERTIFICATE][2]
    assert label.wordWrap() and label.toolTip() == panel.steps.detail(CERTIFICATE)
    assert panel.sign_in.status == "ok"
    assert "Signed in; the token is valid for another" in panel.sign_in_text()
    left = outcome.token_left()
    assert left is not None and 3500 < left <= 3600
    assert states[0] == "signing in" and states[-1].startswith("signed in, token ")
    assert panel.test_button.isEnabled() and panel.test_button.text() == "Test connection"


def test_a_wrong_client_id_shows_the_failure_sentence(
    qtbot: QtBot, runner: TaskRunner, sandbox_profile: Profile
) -> None:
    save_profile(dataclasses.replace(sandbox_profile, client_id=WRONG_CLIENT_ID))
    panel = make_panel(qtbot, runner)
    outcome = run_test(qtbot, panel)

    failed = outcome.failed_step
    assert failed is not None and failed.name == TOKEN
    assert [s.name for s in outcome.steps] == [PROFILE, CERTIFICATE, DISCOVERY, TOKEN]
    label = panel.steps.rows[TOKEN][2]
    assert WRONG_CLIENT_ID in failed.detail
    assert label.text().replace("\u200b", "") == failed.detail  # long ids may wrap
    assert label.wordWrap()  # a failure is shown whole
    assert panel.steps.states[TOKEN] == "failed"
    assert panel.steps.states[DUE_RECORDS] == "waiting"
    assert panel.steps.detail(DUE_RECORDS) == "Not tried."
    assert panel.sign_in.status == "failed"
    assert panel.sign_in_text() == "Not signed in: the Token step failed."


class SteppedFake:
    """Yields each step only when the test lets it, to watch the panel in between."""

    def __init__(self) -> None:
        self.gates = {name: threading.Event() for name in STEPS}
        self.passwords: list[str | None] = []

    def __call__(self, profile: Profile, password: str | None) -> Iterator[ConnectStep]:
        self.passwords.append(password)
        for name in STEPS:
            if not self.gates[name].wait(10):
                return
            detail = "the token is valid for 1 second" if name == TOKEN else f"{name} fine"
            yield ConnectStep(name, True, detail)

    def release_all(self) -> None:
        for gate in self.gates.values():
            gate.set()


def test_each_step_shows_as_it_happens_and_the_token_counts_down(
    qtbot: QtBot, runner: TaskRunner, sandbox_profile: Profile
) -> None:
    fake = SteppedFake()
    panel = make_panel(qtbot, runner, fake)
    try:
        qtbot.mouseClick(panel.test_button, Qt.MouseButton.LeftButton)
        assert not panel.test_button.isEnabled()
        qtbot.waitUntil(lambda: panel.steps.states[PROFILE] == "running")
        fake.gates[PROFILE].set()
        qtbot.waitUntil(lambda: panel.steps.states[PROFILE] == "ok")
        assert panel.steps.states[CERTIFICATE] == "running"
        assert panel.steps.states[TOKEN] == "waiting"
        assert panel.sign_in.status == "running"
        fake.release_all()
        qtbot.waitUntil(lambda: panel.outcome is not None)
    finally:
        fake.release_all()
    said = panel.sign_in_text()
    assert re.fullmatch(r"Signed in; the token is valid for another 0:01, until \d\d:\d\d\.", said)
    qtbot.waitUntil(lambda: panel.sign_in.status == "warning", timeout=5000)
    assert panel.sign_in_text() == "The token has expired; Test connection signs in again."
    assert fake.passwords == [None]  # the sandbox key has no password


def test_choosing_another_profile_forgets_the_sign_in(
    qtbot: QtBot, runner: TaskRunner, sandbox_profile: Profile
) -> None:
    fake = SteppedFake()
    fake.release_all()
    panel = make_panel(qtbot, runner, fake)
    run_test(qtbot, panel)
    assert panel.sign_in.status == "ok"
    panel.select_profile("Sandbox (legacy)")
    assert panel.sign_in.status == "waiting"
    assert panel.steps.states[TOKEN] == "waiting"


class OpeningFake(SteppedFake):
    """As the real test does: the Certificate step opens the certificate with the password."""

    def __call__(self, profile: Profile, password: str | None) -> Iterator[ConnectStep]:
        self.passwords.append(password)
        yield ConnectStep(PROFILE, True, "fine")
        try:
            open_certificate(profile, password)
        except AppError as exc:
            yield ConnectStep(CERTIFICATE, False, exc.message)
            return
        for name in STEPS[1:]:
            detail = "the token is valid for 1 second" if name == TOKEN else f"{name} fine"
            yield ConnectStep(name, True, detail)


def protected_profile(tmp_path: Path, demo_template: Path) -> Profile:
    pfx = make_certificate().write_pfx(tmp_path / "app.pfx", "s3cret")
    profile = Profile(
        name="Contoso",
        client_id="3c9a1f6e-52d4-4b8e-a7c1-0e6f2d9b8a34",
        api_url="https://graph-au.avepointonlineservices.com",
        cert_pfx=str(pfx),
    )
    return save_profile(profile, demo_template)


def type_password(qtbot: QtBot, panel: ConnectionPanel, password: str) -> None:
    panel.outcome = None
    qtbot.mouseClick(panel.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.dialog is not None)  # the keyring is read in a worker
    dialog = panel.dialog
    assert isinstance(dialog, PasswordDialog)
    assert "Contoso" in dialog.findChildren(type(panel.summary))[0].text()
    qtbot.keyClicks(dialog.password, password)
    assert dialog.keep.isChecked()
    dialog.accept()
    qtbot.waitUntil(lambda: panel.outcome is not None)


def test_a_protected_certificate_asks_for_its_password_and_keeps_it(
    qtbot: QtBot, runner: TaskRunner, tmp_path: Path, demo_template: Path, memory_keyring: object
) -> None:
    profile = protected_profile(tmp_path, demo_template)
    fake = OpeningFake()
    panel = make_panel(qtbot, runner, fake)
    type_password(qtbot, panel, "s3cret")
    assert panel.sign_in.status == "ok"
    assert fake.passwords == ["s3cret"]
    store = memory_keyring.store  # type: ignore[attr-defined]
    assert store[(KEYRING_SERVICE, f"Contoso:{profile.client_id}")] == "s3cret"

    # Known now: the next test does not ask again.
    run_test(qtbot, panel)
    assert fake.passwords == ["s3cret", "s3cret"]
    for calls in (memory_keyring.read_in, memory_keyring.written_in):  # type: ignore[attr-defined]
        assert calls and threading.main_thread().name not in calls  # never on the GUI thread


def test_a_mistyped_password_is_not_kept_and_is_asked_for_again(
    qtbot: QtBot, runner: TaskRunner, tmp_path: Path, demo_template: Path, memory_keyring: object
) -> None:
    protected_profile(tmp_path, demo_template)
    fake = OpeningFake()
    panel = make_panel(qtbot, runner, fake)
    type_password(qtbot, panel, "s3cert")
    assert panel.steps.states[CERTIFICATE] == "failed"
    assert panel.steps.detail(CERTIFICATE) == "The password for app.pfx is wrong."
    assert panel.sign_in.status == "failed"
    assert memory_keyring.store == {}  # type: ignore[attr-defined]

    type_password(qtbot, panel, "s3cret")  # asked again, not tried with the wrong one
    assert fake.passwords == ["s3cert", "s3cret"]
    assert panel.sign_in.status == "ok"
    assert list(memory_keyring.store.values()) == ["s3cret"]  # type: ignore[attr-defined]


def test_a_kept_password_that_no_longer_opens_the_certificate_is_forgotten(
    qtbot: QtBot, runner: TaskRunner, tmp_path: Path, demo_template: Path, memory_keyring: object
) -> None:
    profile = protected_profile(tmp_path, demo_template)
    remember_password(profile, "the old one")
    fake = OpeningFake()
    panel = make_panel(qtbot, runner, fake)
    outcome = run_test(qtbot, panel)
    assert outcome.failed_step is not None and outcome.failed_step.name == CERTIFICATE
    assert memory_keyring.store == {}  # type: ignore[attr-defined]
    type_password(qtbot, panel, "s3cret")
    assert fake.passwords == ["the old one", "s3cret"]


def test_remove_asks_then_removes(
    qtbot: QtBot, runner: TaskRunner, sandbox_profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    panel = make_panel(qtbot, runner)
    answers = iter([False, True])
    monkeypatch.setattr(panel, "confirm_remove", lambda profile: next(answers))
    changed: list[object] = []
    panel.profile_changed.connect(changed.append)

    panel.remove_current_profile()
    assert [p.name for p in list_profiles()] == ["Sandbox", "Sandbox (legacy)"]
    panel.remove_current_profile()
    assert [p.name for p in list_profiles()] == ["Sandbox (legacy)"]
    assert [p.name for p in changed] == ["Sandbox (legacy)"]  # type: ignore[attr-defined]
    assert panel.combo.count() == 1


def test_a_profile_whose_template_went_missing_says_so(
    qtbot: QtBot, runner: TaskRunner, sandbox_profile: Profile
) -> None:
    find_profile("Sandbox").template_path.unlink()
    panel = make_panel(qtbot, runner)
    assert not panel.columns_view.isVisible()
    assert 'The profile "Sandbox" has no connection template' in panel.columns_note.text()


def test_long_words_get_break_opportunities() -> None:
    thumbprint = "D2AC444D48227F879719207DB102C89D4AC0A1B2"
    shown = breakable(f"thumbprint {thumbprint} is not registered")
    assert shown.replace("\u200b", "") == f"thumbprint {thumbprint} is not registered"
    assert max(len(part) for part in shown.split("\u200b")) <= 16 + len("thumbprint ")
    assert breakable("short words stay as they are") == "short words stay as they are"


def test_token_lifetime_and_countdown_format() -> None:
    assert token_lifetime(ConnectStep(TOKEN, True, "the token is valid for 60 minutes")) == 3600
    assert token_lifetime(ConnectStep(TOKEN, True, "the token is valid for 1 second")) == 1
    assert token_lifetime(ConnectStep(TOKEN, False, "valid for 60 minutes")) is None
    assert token_lifetime(ConnectStep(DISCOVERY, True, "valid for 60 minutes")) is None
    assert format_left(3600) == "1:00:00"
    assert format_left(3599.4) == "1:00:00"
    assert format_left(3599) == "59:59"
    assert format_left(0.2) == "0:01"
    assert format_left(61) == "1:01"
    assert format_left(-3) == "0:00"


def test_a_use_case_that_signed_in_shows_on_the_sign_in_line(
    qtbot: QtBot, runner: TaskRunner, sandbox_profile: Profile
) -> None:
    panel = make_panel(qtbot, runner)
    assert panel.sign_in.status == "waiting"  # "Not signed in yet"

    def load_the_due_list() -> None:  # as the Disposal tab's worker does
        connections = Connections()
        load_due(connections, LoadRequest(sandbox_profile, None, datetime.now()), RunState())
        connections.close()

    worker = threading.Thread(target=load_the_due_list)
    worker.start()
    worker.join(20)
    qtbot.waitUntil(lambda: panel.sign_in.status == "ok")
    text = panel.sign_in_text()
    assert text.startswith("Signed in; the token is valid for another "), text
    assert "1:00:00" in text or "59:" in text  # the sandbox's tokens last an hour
    assert panel.sign_in_short.startswith("signed in, token ")

    # Another profile's sign-in is not this one's.
    panel.select_profile("Sandbox (legacy)")
    connection = open_connection(sandbox_profile)
    connection.tokens.token()
    tell_signed_in(connection)
    connection.close()
    qtbot.wait(50)
    assert panel.sign_in.status == "waiting"
