"""What the app knows of a certificate once it is read: who, until when, which one, and the
key (a `Credential`). certificate.py reads the files; these types are apart so that the
window and jobs/ can name them without loading cryptography at start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from opus_desktop.opus.errors import CertificateError

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import rsa

WARN_DAYS = 30


class PasswordNeeded(CertificateError):
    """The .pfx or the PEM key is protected by a password, and none was given."""


@dataclass(frozen=True)
class CertificateInfo:
    """What the GUI shows about a certificate: who, until when, which one."""

    path: Path
    subject: str
    issuer: str
    not_before: datetime
    not_after: datetime
    thumbprint: str  # SHA-1 of the DER certificate, hex, upper case
    x5t: str  # the same SHA-1, base64url without padding
    certificate: x509.Certificate = field(repr=False, compare=False)

    def remaining(self, now: datetime | None = None) -> timedelta:
        return self.not_after - (now or datetime.now(UTC))

    @property
    def days_left(self) -> int:
        """Whole days until expiry; negative once it has expired."""
        return self.remaining().days

    @property
    def expired(self) -> bool:
        return self.remaining() <= timedelta(0)

    @property
    def expires_soon(self) -> bool:
        """Less than 30 days left (an expired certificate counts too)."""
        return self.remaining() < timedelta(days=WARN_DAYS)

    def validity_problem(self, now: datetime | None = None) -> str | None:
        """Why the certificate is not valid at `now`, in a sentence without its full stop;
        None when it is valid."""
        moment = now or datetime.now(UTC)
        if moment >= self.not_after:
            return (
                f"The certificate {self.subject} in {self.path.name} expired on "
                f"{_day(self.not_after)}"
            )
        if moment < self.not_before:
            return (
                f"The certificate {self.subject} in {self.path.name} is not valid before "
                f"{_day(self.not_before)}"
            )
        return None

    def check_usable(self, now: datetime | None = None) -> None:
        """Raise CertificateError if the certificate is not valid at `now`."""
        moment = now or datetime.now(UTC)
        problem = self.validity_problem(moment)
        if problem is None:
            return
        if moment >= self.not_after:
            advice = (
                "Create a new one, register it for the app in AvePoint Online Services > "
                "App registrations, and choose it in the profile."
            )
        else:
            advice = "If that date is already past, this computer's clock is wrong."
        raise CertificateError(f"{problem}. {advice}")


@dataclass(frozen=True)
class Credential(CertificateInfo):
    """A certificate together with its private key, ready to sign client assertions."""

    private_key: rsa.RSAPrivateKey = field(repr=False, compare=False)


def _day(moment: datetime) -> str:
    return moment.strftime("%d %B %Y")
