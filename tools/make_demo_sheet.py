"""Write opus_desktop/resources/demo/demo-records.xlsx, the sheet `--sandbox` opens.

A records register as an officer might keep it: a title row above the header, display
names as headers, dates as Excel dates and as text, and six planted mistakes so a
first-time user sees what the editor catches. Deterministic: run it again and the
workbook holds the same values.

    python tools/make_demo_sheet.py
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font

OUT = (
    Path(__file__).resolve().parents[1]
    / "opus_desktop"
    / "resources"
    / "demo"
    / "demo-records.xlsx"
)
ROWS = 200

HEADERS = [
    "Row key",
    "Name",
    "Classification",
    "Created time",
    "Modified time",
    "Created by",
    "Modified by",
    "Case Number",
    "Description",
    "Date Received",
    "Page Count",
    "Security Level",
    "Departments",
    "Record Owner",
    "Storage Location",
]
TERMS = {
    "Records/Finance/Invoices": ("Invoice {n} - {org}.pdf", "Finance"),
    "Records/Finance/Payroll": ("Payroll run {month}.xlsx", "Finance"),
    "Records/Human Resources/Personnel Files": ("Personnel file - {person}.pdf", "Human Resources"),
    "Records/Human Resources/Recruitment": ("Application - {person}.docx", "Human Resources"),
    "Records/Legal/Contracts": ("Contract - {org}.docx", "Legal"),
    "Records/Legal/Litigation": ("Litigation brief - {org} matter.docx", "Legal"),
    "Records/Operations/Correspondence": ("Letter to {org}.docx", "Operations"),
    "Records/Operations/Meeting Minutes": (
        "Minutes - Operations committee {month}.docx",
        "Operations",
    ),
}
PEOPLE = ["alice.nguyen", "bob.smith", "carol.jones", "dmitri.ivanov", "records.team"]
NAMES = ["Zoë Ångström", "Liam O'Brien", "Mei Tanaka", "Aroha Ngata", "José Álvarez", "Priya Patel"]
ORGS = ["Northwind Traders", "Fabrikam", "Tailspin Toys", "Wingtip Toys", "Adventure Works"]
LEVELS = ["Public", "Internal", "Confidential", "Secret"]
LOCATIONS = [
    "Sites/Melbourne/Head Office",
    "Sites/Melbourne/Archive Store",
    "Sites/Sydney/Branch Office",
    "Sites/Offsite/Iron Mountain",
]

# Excel row (header is row 3) -> (header, wrong value): what the editor should flag.
PLANTED = {
    9: ("Created time", "31/02/2021 09:30:00"),
    17: ("Record Owner", "bob.smith@"),
    28: ("Security Level", "Top secret"),
    41: ("Name", None),
    56: ("Classification", "Records/Finance/Invoice"),
    73: ("Page Count", "twelve"),
}


def email(user: str) -> str:
    return f"{user}@contoso.example"


def rows(rng: random.Random) -> list[list[object]]:
    out: list[list[object]] = []
    start = datetime(2019, 1, 7, 8, 30)
    for i in range(ROWS):
        term = rng.choice(list(TERMS))
        pattern, department = TERMS[term]
        created = start + timedelta(days=rng.randint(0, 2400), minutes=rng.randint(0, 600))
        modified = created + timedelta(days=rng.randint(0, 90), minutes=rng.randint(0, 300))
        author, editor = rng.choice(PEOPLE), rng.choice(PEOPLE)
        name = pattern.format(
            n=f"INV-{created.year}-{1000 + i}",
            org=rng.choice(ORGS),
            person=rng.choice(NAMES),
            month=created.strftime("%B %Y"),
        )
        departments = [department] + (
            ["Legal"] if rng.random() < 0.2 and department != "Legal" else []
        )
        # Some times as Excel dates, some as text the way hand-kept registers have them.
        created_cell: object = created if i % 4 else created.strftime("%Y-%m-%d %H:%M:%S")
        out.append(
            [
                f"REG-{created.year}-{i + 1:04d}",
                name,
                term,
                created_cell,
                modified,
                email(author),
                email(editor),
                f"CASE-{created.year}-{rng.randint(100, 9999):04d}",
                f"{department} record filed by {author.replace('.', ' ').title()}.",
                created.date(),
                rng.randint(1, 240),
                rng.choice(LEVELS),
                "; ".join(departments),
                email(rng.choice(PEOPLE)),
                rng.choice(LOCATIONS),
            ]
        )
    return out


def main() -> None:
    rng = random.Random(20261128)
    book = Workbook()
    sheet = book.active
    sheet.title = "Register"
    sheet.append(["Contoso records register — export for Opus"])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([])
    sheet.append(HEADERS)
    for cell in sheet[3]:
        cell.font = Font(bold=True)
    data = rows(rng)
    for number, (header, value) in PLANTED.items():
        data[number - 4][HEADERS.index(header)] = value
    for row in data:
        sheet.append(row)
    for column, width in zip(
        "ABCDEFGHIJKLMNO", (14, 44, 40, 20, 20, 28, 28, 16, 40, 14, 10, 14, 26, 28, 30), strict=True
    ):
        sheet.column_dimensions[column].width = width
    for row in sheet.iter_rows(min_row=4, min_col=4, max_col=5):
        for cell in row:
            if isinstance(cell.value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm:ss"
    for cell in sheet["J"][3:]:
        cell.number_format = "yyyy-mm-dd"
    sheet.freeze_panes = "A4"
    book.save(OUT)
    print(f"wrote {OUT} ({ROWS} rows, {len(PLANTED)} planted mistakes)")


if __name__ == "__main__":
    main()
