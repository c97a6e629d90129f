from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from opus_desktop import paths, profiles
from opus_desktop.cli import main
from opus_desktop.profiles import Profile, ProfileError
from tests.helpers.certs import make_certificate

DEMO = Path(__file__).resolve().parents[2] / "opus_desktop" / "resources" / "demo"


def make_profile(tmp_path: Path, name: str = "Records Prod", **changes: object) -> Profile:
    pfx = tmp_path / "app.pfx"
    pfx.write_bytes(b"not read by these tests")
    values: dict[str, object] = {
        "name": name,
        "client_id": "a1b2c3",
        "api_url": "https://graph-au.avepointonlineservices.com",
        "cert_pfx": str(pfx),
        "cert_password_env": "OPUS_TEST_PW",
    }
    values.update(changes)
    return Profile(**values)  # type: ignore[arg-type]


def test_save_and_find_round_trip(tmp_path: Path) -> None:
    profile = profiles.save_profile(make_profile(tmp_path), DEMO / "template.json")
    found = profiles.find_profile("records prod")
    assert found == profile
    assert found.template().connection_id == "6f1c2a4e-3b7d-4e21-9a5c-0d8e7f6a1b2c"
    assert [p.name for p in profiles.list_profiles()] == ["Records Prod"]


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_files_are_private(tmp_path: Path) -> None:
    profile = profiles.save_profile(make_profile(tmp_path), DEMO / "template.json")
    for path in (profile.folder / "profile.json", profile.template_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for folder in (profile.folder, paths.profiles_dir(), paths.config_dir()):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_home_variable_moves_everything(opus_home: Path) -> None:
    assert paths.config_dir().is_relative_to(opus_home)
    assert paths.data_dir().is_relative_to(opus_home)
    assert paths.log_dir().is_relative_to(opus_home)


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"protocol": "soap"}, "graph"),
        ({"api_url": "graph-au"}, "not a web address"),
        ({"client_id": " "}, "client) id"),
        ({"cert_pfx": None}, "needs a certificate"),
        ({"concurrency": 0}, "between 1 and 32"),
        ({"date_format": "yyyy/dd/MM"}, "date format"),
        ({"name": "  "}, "name"),
    ],
)
def test_bad_settings_are_refused(tmp_path: Path, changes: dict[str, object], words: str) -> None:
    with pytest.raises(ProfileError, match=words.replace("(", r"\(").replace(")", r"\)")):
        profiles.save_profile(make_profile(tmp_path, **changes), DEMO / "template.json")
    assert profiles.list_profiles() == []


def test_a_new_profile_needs_a_template(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="connection template"):
        profiles.save_profile(make_profile(tmp_path))


def test_password_never_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, opus_home: Path
) -> None:
    profile = profiles.save_profile(
        make_profile(tmp_path, cert_password_env=None), DEMO / "template.json"
    )
    assert profiles.remember_password(profile, "s3cret-Pa55") is True
    for file in opus_home.rglob("*"):
        if file.is_file():
            assert b"s3cret-Pa55" not in file.read_bytes(), file


def test_password_order_env_then_keyring_then_prompt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    profile = make_profile(tmp_path)
    profiles._memory.clear()
    asked: list[str] = []

    def prompt(text: str) -> str:
        asked.append(text)
        return "typed"

    monkeypatch.delenv("OPUS_TEST_PW", raising=False)
    assert profiles.certificate_password(profile, prompt) == "typed"
    assert len(asked) == 1
    assert (
        profiles.certificate_password(profile, prompt) == "typed"
    )  # kept in memory, not asked again
    assert len(asked) == 1
    monkeypatch.setenv("OPUS_TEST_PW", "from-env")
    assert profiles.certificate_password(profile, prompt) == "from-env"
    monkeypatch.delenv("OPUS_TEST_PW")
    profiles._memory.clear()
    profiles.remember_password(profile, "from-keyring")
    profiles._memory.clear()
    assert profiles.certificate_password(profile) == "from-keyring"
    profiles.forget_password(profile)
    assert profiles.certificate_password(profile) is None


def test_cli_add_list_show_remove(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pfx = make_certificate().write_pfx(tmp_path / "app.pfx", "pfx-pass")
    monkeypatch.setenv("PW", "pfx-pass")
    code = main(
        [
            "profile",
            "add",
            "Prod",
            "--connection",
            str(DEMO / "template.json"),
            "--client-id",
            "abc",
            "--cert",
            str(pfx),
            "--cert-password-env",
            "PW",
            "--api",
            "https://graph-uk.avepointonlineservices.com/",
            "--options",
            str(DEMO / "tenant.json"),
        ]
    )
    assert code == 0, capsys.readouterr().err
    assert main(["profile", "list"]) == 0
    assert "https://graph-uk.avepointonlineservices.com" in capsys.readouterr().out
    assert main(["profile", "show", "Prod"]) == 0
    shown = capsys.readouterr().out
    assert "Security Level [SingleChoice]" in shown and "Confidential" in shown
    assert "$PW" in shown
    saved = json.loads((profiles.find_profile("Prod").folder / "profile.json").read_text())
    assert saved["terms"]["termFullPath"][0] == "Records/Finance/Invoices"
    assert main(["profile", "remove", "Prod"]) == 0
    assert main(["profile", "show", "Prod"]) == 2
    assert 'no profile named "Prod"' in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--cert-pem", "missing.pem", "--key-pem", "missing.key"], "does not exist"),
        (["--cert-pem", "x.pem"], "needs --key-pem"),
    ],
)
def test_cli_add_bad_input_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], words: str
) -> None:
    code = main(
        [
            "profile",
            "add",
            "P",
            "--connection",
            str(DEMO / "template.json"),
            "--client-id",
            "c",
            "--api",
            "https://x.example",
            *extra,
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err and err.count("\n") == 1
