"""opus_desktop.settings: declarations, defaults, checks, the file, and jobs.connect's use of it."""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from opus_desktop import settings
from opus_desktop.jobs import connect as connect_module
from opus_desktop.jobs import submit
from opus_desktop.jobs.connect import connect, test_connection
from opus_desktop.opus import http as http_module
from opus_desktop.profiles import Profile
from opus_desktop.settings import (
    CONCURRENCY,
    LOG_LEVEL,
    OPERATOR_NAME,
    PROXY_MODE,
    PROXY_URL,
    REQUEST_TIMEOUT,
    SETTINGS,
    SettingError,
    Settings,
)
from tests.unit.test_connect import FakeOpus, no_wait_retry, saved_profile


def test_every_setting_is_declared_once_with_a_section_a_title_and_a_usable_default() -> None:
    keys = [setting.key for setting in SETTINGS]
    assert len(keys) == len(set(keys))
    sections = {section.key for section in settings.SECTIONS}
    for setting in SETTINGS:
        assert setting.section in sections, setting.key
        assert setting.title and setting.description.endswith("."), setting.key
        assert setting.parse(setting.default) == setting.default, setting.key
        if setting.enabled_by is not None:
            assert setting.enabled_by[0] in keys


def test_defaults_when_there_is_no_file() -> None:
    values = settings.load()
    assert values == Settings()
    assert values.as_dict() == {
        "network.proxy_mode": "system",
        "network.proxy_url": "",
        "network.timeout": 30.0,
        "runs.concurrency": 4,
        "runs.outage_limit": 600.0,
        "disposal.operator": "",
        "logs.level": "INFO",
    }
    assert values.proxy() is None and values.system_proxy()
    assert values.log_level() == logging.INFO
    assert not settings.settings_path().exists()  # reading writes nothing


def test_the_concurrency_setting_matches_what_a_run_accepts() -> None:
    assert CONCURRENCY.default == submit.DEFAULT_CONCURRENCY
    assert (CONCURRENCY.minimum, CONCURRENCY.maximum) == (1, submit.MAX_CONCURRENCY)


def test_a_round_trip_through_the_private_file() -> None:
    values = Settings()
    values.set(PROXY_MODE, "url")
    values.set(PROXY_URL, "  http://proxy.contoso.example:8080  ")
    values.set(REQUEST_TIMEOUT, 90)
    values.set(CONCURRENCY, 8)
    values.set(OPERATOR_NAME, "Jane Smith")
    values.set(LOG_LEVEL, "DEBUG")

    path = settings.save(values)

    assert path == settings.settings_path()
    assert settings.load() == values
    stored = json.loads(path.read_text("utf-8"))
    assert stored["network.proxy_url"] == "http://proxy.contoso.example:8080"  # trimmed
    assert stored["network.timeout"] == 90.0 and set(stored) == {s.key for s in SETTINGS}
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert settings.operator_name() == "Jane Smith"
    assert settings.default_concurrency() == 8
    assert settings.request_timeout() == 90.0
    assert settings.log_level() == logging.DEBUG
    assert settings.load().proxy() == "http://proxy.contoso.example:8080"


@pytest.mark.parametrize(
    ("setting", "raw", "words"),
    [
        (REQUEST_TIMEOUT, "30", 'The setting "Request timeout" takes a number, not \'30\'.'),
        (REQUEST_TIMEOUT, 2, 'The setting "Request timeout" goes from 5 to 600 s, not 2.'),
        (CONCURRENCY, True, 'The setting "Calls at a time" takes a whole number, not True.'),
        (CONCURRENCY, 4.5, 'The setting "Calls at a time" takes a whole number, not 4.5.'),
        (CONCURRENCY, 33, 'The setting "Calls at a time" goes from 1 to 32, not 33.'),
        (LOG_LEVEL, "LOUD", "The setting \"Detail\" is one of \"DEBUG\", \"INFO\", \"WARNING\", "
         "\"ERROR\", not 'LOUD'."),
        (PROXY_MODE, "pac", "The setting \"Proxy\" is one of \"system\", \"none\", \"url\", "
         "not 'pac'."),
        (OPERATOR_NAME, "x" * 201, 'The setting "Operator name": keep it under 200 characters.'),
    ],
)
def test_a_value_that_cannot_work_is_refused_in_a_sentence(
    setting: settings.Setting[Any], raw: object, words: str
) -> None:
    with pytest.raises(SettingError) as refused:
        Settings().set(setting, raw)
    assert refused.value.message == words


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("proxy.contoso.example:8080", "is not a proxy address such as http://"),
        ("ftp://proxy.contoso.example", "is not a proxy address such as http://"),
        ("http://jane:s3cret@proxy.contoso.example:8080", "holds a user name or password"),
        ("http://proxy.contoso.example:99999", "the port in"),
    ],
)
def test_a_proxy_address_must_be_usable_and_hold_no_password(url: str, problem: str) -> None:
    with pytest.raises(SettingError, match="Proxy address") as refused:
        Settings({PROXY_URL.key: url})
    assert problem in refused.value.message
    Settings({PROXY_URL.key: "https://proxy.contoso.example"})  # no port is fine


def test_a_named_proxy_needs_an_address() -> None:
    values = Settings({PROXY_MODE.key: "url"})
    with pytest.raises(SettingError, match="no proxy address is given"):
        settings.save(values)
    assert not settings.settings_path().exists()


def test_proxy_modes() -> None:
    direct = Settings({PROXY_MODE.key: "none", PROXY_URL.key: "http://p.example:1"})
    assert direct.proxy() is None and not direct.system_proxy()
    named = Settings({PROXY_MODE.key: "url", PROXY_URL.key: "http://p.example:1"})
    assert named.proxy() == "http://p.example:1" and not named.system_proxy()


def test_a_damaged_file_gives_defaults_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    path = settings.settings_path()
    path.write_text("{not json", "utf-8")
    with caplog.at_level(logging.WARNING):
        assert settings.load() == Settings()
    assert "is damaged" in caplog.text
    assert path.read_text("utf-8") == "{not json"  # left for the user to look at


def test_each_unusable_value_falls_back_alone(caplog: pytest.LogCaptureFixture) -> None:
    settings.settings_path().write_text(
        json.dumps(
            {
                "network.timeout": "soon",
                "runs.concurrency": 12,
                "logs.level": "WARNING",
                "from.a.newer.version": True,
            }
        ),
        "utf-8",
    )
    with caplog.at_level(logging.WARNING):
        values = settings.load()
    assert values.get(REQUEST_TIMEOUT) == 30.0
    assert values.get(CONCURRENCY) == 12 and values.get(LOG_LEVEL) == "WARNING"
    assert 'The setting "Request timeout" takes a number' in caplog.text
    assert "from.a.newer.version" not in values.as_dict()


# -- jobs.connect uses the network settings --------------------------------------------------


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The arguments of every HTTP client jobs.connect makes (it imports the maker when it
    wires a connection, so the spy goes where it is imported from)."""
    calls: list[dict[str, Any]] = []
    real = http_module.make_http_client

    def spy(**kwargs: Any) -> Any:
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(http_module, "make_http_client", spy)
    return calls


def test_connect_takes_the_proxy_and_timeout_from_the_settings(
    tmp_path: Path, made: list[dict[str, Any]]
) -> None:
    profile = saved_profile(tmp_path)
    with connect(profile, None) as connection:
        assert connection.client.http.timeout.read == 30.0
    assert made[-1]["proxy"] is None and made[-1]["system_proxy"] is True

    settings.save(
        Settings(
            {
                PROXY_MODE.key: "url",
                PROXY_URL.key: "http://proxy.contoso.example:8080",
                REQUEST_TIMEOUT.key: 75,
            }
        )
    )
    with connect(profile, None) as connection:
        assert connection.client.http.timeout.read == 75.0
        assert not connection.client.http.trust_env
    assert made[-1]["proxy"] == "http://proxy.contoso.example:8080"

    settings.save(Settings({PROXY_MODE.key: "none"}))
    with connect(profile, None, timeout=5) as connection:  # the caller's timeout wins
        assert connection.client.http.timeout.read == 5.0
        assert not connection.client.http.trust_env  # no HTTPS_PROXY, no system proxy
    assert made[-1]["proxy"] is None and made[-1]["system_proxy"] is False


def test_the_profile_proxy_wins_and_the_connection_test_uses_the_settings_too(
    tmp_path: Path, made: list[dict[str, Any]]
) -> None:
    settings.save(Settings({PROXY_MODE.key: "url", PROXY_URL.key: "http://app.example:3128"}))
    profile = saved_profile(tmp_path, proxy="http://profile.example:8080")
    with connect(profile, None):
        pass
    assert made[-1]["proxy"] == "http://profile.example:8080"

    settings.save(Settings({PROXY_MODE.key: "none"}))
    plain = saved_profile(tmp_path, name="Plain")
    fake = FakeOpus()
    steps = list(test_connection(plain, None, retry=no_wait_retry(), transport=fake.transport))
    assert [step.ok for step in steps] == [True] * 5
    assert made[-1]["proxy"] is None and made[-1]["system_proxy"] is False


def test_the_sandbox_on_this_computer_is_never_reached_through_a_proxy(
    tmp_path: Path, made: list[dict[str, Any]]
) -> None:
    settings.save(Settings({PROXY_MODE.key: "url", PROXY_URL.key: "http://app.example:3128"}))
    local = saved_profile(
        tmp_path, api_url="http://127.0.0.1:8765", identity_url="http://localhost:8765/identity"
    )
    with connect(local, None):
        pass
    assert made[-1]["proxy"] is None and made[-1]["system_proxy"] is False


def test_a_profile_without_tls_checks_carries_a_warning(tmp_path: Path) -> None:
    assert connect_module.tls_warning(Profile(name="Safe")) is None
    profile = saved_profile(tmp_path, verify_tls=False)
    with connect(profile, None) as connection:
        warning = connection.tls_warning
    assert warning is not None
    assert warning.startswith('TLS certificate checks are turned off for profile "Test"')
