"""A password-protected certificate checked without a password: the command line is told
the flag that names the variable, the window its fields."""

from __future__ import annotations

from pathlib import Path

from opus_desktop.profiles import Profile
from opus_desktop.usecases.profile_checks import check_certificate
from tests.helpers.certs import make_certificate


def profile_for(pfx: Path) -> Profile:
    return Profile(
        name="P",
        client_id="c",
        api_url="https://graph-uk.avepointonlineservices.com",
        cert_pfx=str(pfx),
    )


def test_the_command_line_is_told_the_flag_and_the_window_is_not(tmp_path: Path) -> None:
    profile = profile_for(make_certificate().write_pfx(tmp_path / "app.pfx", "right"))
    said = check_certificate(profile).problem
    assert said is not None and "with --cert-password-env VAR" in said
    assert said.startswith("app.pfx is protected by a password") and said.endswith("type it in.")
    shown = check_certificate(profile, in_window=True).problem
    assert shown is not None and "--" not in shown
    assert shown.endswith("name the environment variable that holds it, or type it in.")
