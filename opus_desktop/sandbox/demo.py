"""The demo tenant: its app certificate and 500 believable records.

The certificate is a throw-away self-signed RSA certificate (CN=Opus Desktop Sandbox,
two years); its key is written unencrypted and the PFX's password is "sandbox", because
the sandbox is a demo on the user's own machine with nothing worth protecting. Of the 500
records exactly 120 are due for disposal when they are made, each at least a day
overdue, and the rest at least 30 days away from being due (or never, without a
classification), so the count holds for a while after seeding.
"""

from __future__ import annotations

import functools
import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from opus_desktop.files import write_private
from opus_desktop.sandbox.dates import MONTHS, DatePattern
from opus_desktop.sandbox.values import CLASSIFICATION, add_years

DEMO_CLIENT_ID = "3c9a1f6e-52d4-4b8e-a7c1-0e6f2d9b8a34"
PFX_PASSWORD = "sandbox"
SUBJECT = "Opus Desktop Sandbox"
RECORD_COUNT = 500
DUE_COUNT = 120
UNCLASSIFIED_COUNT = 20
DEFAULT_SEED = 20240401


@dataclass(frozen=True)
class CertificateFiles:
    cert_pem: Path
    key_pem: Path
    pfx: Path


def certificate_files(directory: Path) -> CertificateFiles:
    return CertificateFiles(
        directory / "sandbox-certificate.pem",
        directory / "sandbox-key.pem",
        directory / "sandbox-certificate.pfx",
    )


def load_resource(name: str) -> dict[str, Any]:
    text = (
        resources.files("opus_desktop")
        .joinpath("resources", "demo", name)
        .read_text(encoding="utf-8-sig")
    )
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError(f"The demo resource {name} is not a JSON object.")
    return value


def make_certificate(files: CertificateFiles) -> bytes:
    """Write the demo certificate as PEM certificate, PEM key and PFX; the certificate PEM."""
    cert_pem, key_pem, pfx = _demo_certificate()
    write_private(files.cert_pem, cert_pem)
    write_private(files.key_pem, key_pem)
    write_private(files.pfx, pfx)
    return cert_pem


@functools.cache
def _demo_certificate() -> tuple[bytes, bytes, bytes]:
    # Made once per process: a new RSA key takes up to a few hundred milliseconds, and
    # tests start many sandboxes. Each sandbox folder still gets its own files.
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SUBJECT)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=730))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    cert_pem = certificate.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    pfx = pkcs12.serialize_key_and_certificates(
        SUBJECT.encode("utf-8"),
        key,
        certificate,
        None,
        serialization.BestAvailableEncryption(PFX_PASSWORD.encode("ascii")),
    )
    return cert_pem, key_pem, pfx


_SUPPLIERS = (
    "Northwind Traders",
    "Contoso Pharmaceuticals",
    "Fabrikam Logistics",
    "Adventure Works",
    "Tailspin Toys",
    "Wide World Importers",
    "Litware Inc",
    "Proseware Consulting",
)
_PEOPLE = (
    "Priya Raman",
    "Tom O'Brien",
    "Mei Chen",
    "Samuel Okafor",
    "Lucia Rossi",
    "Jonas Berg",
    "Aisha Khan",
    "Daniel Kowalski",
    "Hannah Wright",
    "Mateo Garcia",
)
_ROLES = (
    "Records Officer",
    "Accounts Payable Clerk",
    "Site Supervisor",
    "Legal Counsel",
    "Analyst",
)
_TOPICS = (
    "lease renewal",
    "delivery delays",
    "annual audit",
    "site access",
    "pricing review",
    "warranty claim",
    "insurance cover",
    "office relocation",
)
_COMMITTEES = (
    "Operations Committee",
    "Executive Board",
    "Health and Safety Committee",
    "Audit Committee",
)
_MATTERS = (
    "Northwind v Contoso",
    "Fabrikam warranty dispute",
    "Tailspin trademark claim",
    "Former employee grievance",
)
_DEPARTMENT_OF = {"Finance": 1, "Human Resources": 2, "Legal": 3, "Operations": 4}


def _name(term: str, rng: random.Random, created: datetime) -> str:
    leaf = term.rsplit("/", 1)[-1]
    supplier, person, topic = rng.choice(_SUPPLIERS), rng.choice(_PEOPLE), rng.choice(_TOPICS)
    names = {
        "Invoices": f"Invoice INV-{created.year}-{rng.randint(1000, 9999)} - {supplier}.pdf",
        "Payroll": f"Payroll run {MONTHS[created.month - 1]} {created.year}.xlsx",
        "Personnel Files": f"Personnel file - {person}.pdf",
        "Recruitment": f"Application - {rng.choice(_ROLES)} - {person}.docx",
        "Contracts": f"Contract - {supplier} - {topic}.docx",
        "Litigation": f"Litigation brief - {rng.choice(_MATTERS)}.docx",
        "Correspondence": f"Letter to {supplier} about {topic}.docx",
        "Meeting Minutes": f"Minutes - {rng.choice(_COMMITTEES)} - {created:%Y-%m-%d}.docx",
    }
    return names.get(leaf, f"Draft notes on {topic}.docx")


def demo_items(
    tenant: dict[str, Any], pattern: DatePattern, seed: int | None, now: datetime
) -> list[dict[str, Any]]:
    """The demo records as a client would submit them (values in the tenant's formats)."""
    rng = random.Random(DEFAULT_SEED if seed is None else seed)
    now = now.replace(microsecond=0, tzinfo=None)
    retention: dict[str, int] = {p: y for p, y in tenant["terms"][CLASSIFICATION].items() if y}
    locations = list(tenant["terms"]["_Storage_%20_Location"])
    users: list[str] = tenant["users"]
    kinds = ["due"] * DUE_COUNT + ["none"] * UNCLASSIFIED_COUNT
    kinds += ["later"] * (RECORD_COUNT - len(kinds))
    rng.shuffle(kinds)
    items = []
    for number, kind in enumerate(kinds, start=1):
        term = rng.choice(sorted(retention))
        years = retention[term]
        if kind == "due":
            due = now - timedelta(days=rng.randint(1, 1500), seconds=rng.randint(0, 86399))
            created = add_years(due, -years)
        elif kind == "later":
            due = now + timedelta(
                days=rng.randint(30, years * 365 - 30), seconds=rng.randint(0, 86399)
            )
            created = add_years(due, -years)
        else:
            created = now - timedelta(days=rng.randint(10, 4000), seconds=rng.randint(0, 86399))
        modified = min(
            created + timedelta(days=rng.randint(0, 400), minutes=rng.randint(0, 600)), now
        )
        owner, editor = rng.choice(users), rng.choice(users)
        department = _DEPARTMENT_OF[term.split("/")[1]]
        departments = sorted({department} | ({rng.randint(1, 5)} if rng.random() < 0.3 else set()))
        item: dict[str, Any] = {
            "rowKey": f"REC-{number:05d}",
            "leafName": _name(term if kind != "none" else "", rng, created),
            "timeCreated": pattern.format(created),
            "timeModified": pattern.format(modified),
            "createdBy": owner,
            "modifiedBy": editor,
            "_Case_%20_Number": f"CASE-{created.year}-{rng.randint(100, 99999):05d}",
            "_Description": f"Filed by {owner.split('@')[0].replace('.', ' ').title()} for the "
            f"{term.split('/')[1] if kind != 'none' else 'general'} file.",
            "_Date_%20_Received": pattern.format(created - timedelta(days=rng.randint(0, 30))),
            "_Page_%20_Count": rng.randint(1, 250),
            "_Security_%20_Level": rng.choice((1, 2, 2, 2, 3, 3, 4)),
            "_Departments": departments,
            "_Record_%20_Owner": [owner],
            "_Storage_%20_Location": rng.choice(locations),
        }
        if kind != "none":
            item[CLASSIFICATION] = term
        items.append(item)
    return items
