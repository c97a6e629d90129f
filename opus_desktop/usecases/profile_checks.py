"""Checking a profile's certificate before the profile is saved, for both front ends.

    check = check_certificate(profile, password, in_window=True)   # the window, as fields change
    saved, said = add_profile(profile, template, ask=prompt, force=args.force)   # the CLI

The checks are those that signing in would make later, made now so that a profile that
cannot work is not saved as if it could: the password variable the profile names is set,
the .pfx (or the PEM key) opens with the password, the key belongs to the certificate, and
the certificate is valid now. Each failure is one sentence, the `problem`; forcing saves
the profile even so (a certificate whose validity starts next week, a password variable
set only where the scripts run). A certificate that expires within 30 days is a warning.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from opus_desktop.jobs.connect import certificate_warning, password_needed
from opus_desktop.opus.credentials import Credential, PasswordNeeded
from opus_desktop.opus.errors import CertificateError, WrongPassword
from opus_desktop.profiles import Profile, ProfileError, save_profile
from opus_desktop.usecases.connection import AskPassword

# What to do about a password-protected certificate checked without a password, in the
# words of each front end: the window has fields for both, the command line a flag.
GIVE_PASSWORD = {
    False: "name the environment variable that holds it with --cert-password-env VAR, "
    "or run the command in a terminal to type it in",
    True: "name the environment variable that holds it, or type it in",
}


@dataclass(frozen=True)
class CertificateCheck:
    """What the checks found. `credential` is there whenever the files could be opened,
    also when `problem` says the certificate is not valid now."""

    credential: Credential | None
    problem: str | None = None  # one sentence: why the profile should not be saved
    warnings: tuple[str, ...] = ()  # sentences said, the profile saved even so

    @property
    def ok(self) -> bool:
        return self.problem is None


class ProfileRefused(ProfileError):
    """The certificate check failed and saving was not forced; `problem` says why."""

    def __init__(self, problem: str) -> None:
        super().__init__(f"{_clause(problem)}; the profile was not saved.")
        self.problem = problem


def check_certificate(
    profile: Profile,
    password: str | None = None,
    ask: AskPassword | None = None,
    now: datetime | None = None,
    *,
    in_window: bool = False,
) -> CertificateCheck:
    """Check the profile's certificate as signing in would, without saving or keeping
    anything. `password` is one typed in or kept already; without it the variable the
    profile names gives it, else `ask` when the certificate needs one."""
    warnings: list[str] = []
    variable = profile.cert_password_env
    if variable and os.environ.get(variable) is None:
        unset = (
            f"The environment variable {variable} that the profile names for the certificate "
            "password is not set"
        )
        if password is None:
            return CertificateCheck(None, unset + ".")
        warnings.append(f"{unset} here; the password given is used instead.")
    elif variable and password is None:
        password = os.environ[variable]  # a wrong one is said, not asked for again
    elif password is None and ask is not None and password_needed(profile):
        password = ask(f'Certificate password for profile "{profile.name}": ')
    try:
        credential = _load(profile, password)
    except WrongPassword as exc:
        if variable and password == os.environ.get(variable):
            return CertificateCheck(
                None, f"{_clause(exc.message)}: it comes from the environment variable {variable}."
            )
        return CertificateCheck(None, exc.message)
    except PasswordNeeded:
        certificate = Path(profile.cert_pfx or profile.key_pem or "").name
        return CertificateCheck(
            None,
            f"{certificate} is protected by a password, and none was given to check it with: "
            f"{GIVE_PASSWORD[in_window]}.",
        )
    except CertificateError as exc:
        return CertificateCheck(None, exc.message)
    moment = now or datetime.now(UTC)
    problem = credential.validity_problem(moment)
    if problem is None:
        warning = certificate_warning(credential, moment)
        if warning is not None:
            warnings.append(warning)
    return CertificateCheck(credential, None if problem is None else problem + ".", tuple(warnings))


def add_profile(
    profile: Profile,
    template: Path | bytes | None,
    *,
    password: str | None = None,
    ask: AskPassword | None = None,
    force: bool = False,
    now: datetime | None = None,
    in_window: bool = False,
) -> tuple[Profile, list[str]]:
    """Check the profile, its certificate first, then save it; returns the saved profile
    and the sentences to tell (warnings, and a forced problem). ProfileRefused when the
    certificate check fails and `force` is not given: nothing is written then."""
    profile.check()
    check = check_certificate(profile, password, ask, now, in_window=in_window)
    said = list(check.warnings)
    if check.problem is not None:
        if not force:
            raise ProfileRefused(check.problem)
        said.insert(0, f"{_clause(check.problem)}; saved even so, as asked.")
    note = profile.destroy_path_note()
    if note is not None:
        said.append(note)
    return save_profile(profile, template), said


def _load(profile: Profile, password: str | None) -> Credential:
    from opus_desktop.opus.certificate import load_certificate  # cryptography: when used

    pfx = Path(profile.cert_pfx) if profile.cert_pfx else None
    return load_certificate(
        pfx=pfx,
        password=password,
        cert_pem=Path(profile.cert_pem) if profile.cert_pem and pfx is None else None,
        key_pem=Path(profile.key_pem) if profile.key_pem and pfx is None else None,
    )


def _clause(sentence: str) -> str:
    """A sentence without its full stop, to go on with."""
    return sentence.rstrip().removesuffix(".")
