"""Messy test inputs: workbooks as officers really send them, CSV files, unreadable files.

`messy_workbook` builds the sheet the import tests share. Its bad values are planted on
purpose and listed in `PLANTED`, so a test can check that exactly those are reported.
"""

from __future__ import annotations

import csv
import io
import json
import struct
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl

import opus_desktop
from opus_desktop.core.schema import Template, load_template
from opus_desktop.core.values import ValueSettings

DEMO = Path(opus_desktop.__file__).parent / "resources" / "demo"

# A float that Excel stores for 2024-01-16 08:00:07 a hair too small: calamine reads it
# back as 08:00:06.99999..., which the reader must round to the second.
_SERIAL_0800_07 = (datetime(2024, 1, 16, 8, 0, 7) - datetime(1899, 12, 30)).total_seconds() / 86400
ALMOST_0800_07 = _SERIAL_0800_07 - 2e-9


class DateSerial(float):
    """A raw Excel serial written with a date-time number format."""


MESSY_SHEET = "Records"
MESSY_HEADER_ROW = 4
MESSY_HEADERS = [
    "  row KEY ",
    "NAME",
    "Created",
    "modified   time",
    "Case number",
    "Date received",
    "Page count",
    "Security level",
    "Record owner",
    "Classification",
    None,  # an empty header cell between named ones: column K is ignored
    "Internal notes",
]
LONG_NAME = "Minutes " + "x" * 300

# Excel row number -> the row's cells, as written (None leaves the cell empty).
MESSY_ROWS: dict[int, list[object]] = {
    5: ["REC-001", "Annual report 2023.pdf", datetime(2024, 1, 15, 9, 30),
        DateSerial(ALMOST_0800_07), "C-1001", date(2024, 1, 10), 12, "Public",
        "alice.nguyen@contoso.example", "Records/Finance/Invoices", "stray", "checked"],
    6: ["REC-002", "Zoë Ångström – personnel file", "2024-02-01 10:00:00", "2024-02-02",
        "C-1002", "2024-03-14", "7", "internal",
        "bob.smith@contoso.example; carol.jones@contoso.example",
        "Records/Human Resources/Personnel Files", None, None],
    # row 7 is blank
    8: ["REC-003", "東京 office lease", datetime(2024, 3, 1, 12, 0), datetime(2024, 3, 2),
        "C-1003", "1 March 2024", 3, "Confidential", "carol.jones@contoso.example",
        "Records/Legal/Contracts", None, None],
    9: ["REC-004", "Invoice 4", datetime(2024, 3, 5), datetime(2024, 3, 5),
        "C-1004", "2024-02-30", 1, "Public", "alice.nguyen@contoso.example",
        "Records/Finance/Invoices", None, None],
    10: ["REC-005", "Invoice 5", datetime(2024, 3, 6), datetime(2024, 3, 6),
         "C-1005", date(2024, 3, 6), 1, "Public", "bob at contoso",
         "Records/Finance/Invoices", None, None],
    11: ["REC-006", "Contract 6", datetime(2024, 3, 7), datetime(2024, 3, 7),
         "C-1006", date(2024, 3, 7), 2, "Top secret", "alice.nguyen@contoso.example",
         "Records/Legal/Contracts", None, None],
    12: ["REC-007", LONG_NAME, datetime(2024, 3, 8), datetime(2024, 3, 8),
         "C-1007", date(2024, 3, 8), 2, "Internal", "alice.nguyen@contoso.example",
         "Records/Operations/Meeting Minutes", None, None],
    13: ["REC-003", "Lease annex", datetime(2024, 3, 9), datetime(2024, 3, 9),
         "C-1008", date(2024, 3, 9), 4, "Confidential", "carol.jones@contoso.example",
         "Records/Legal/Contracts", None, None],
    14: ["REC-009", None, datetime(2024, 3, 10), datetime(2024, 3, 10),
         "C-1009", date(2024, 3, 10), 1, "Public", "alice.nguyen@contoso.example",
         "Records/Finance/Invoices", None, None],
    15: ["REC-010", "  padded name  ", datetime(2024, 3, 11), datetime(2024, 3, 11),
         "C-1010", date(2024, 3, 11), 5.0, "Secret", "dmitri.ivanov@contoso.example",
         "Records/Finance/Payroll", None, None],
}  # fmt: skip
VALID_ROWS = (5, 6, 15)
# (Excel row, column display name in the demo template) of every planted bad value.
PLANTED = {
    (9, "Date Received"),  # 30 February
    (10, "Record Owner"),  # not an e-mail address
    (11, "Security Level"),  # no such option
    (12, "Name"),  # longer than 255 characters
    (13, "Row key"),  # REC-003 again: the problem names row 8, where it was first used
    (14, "Name"),  # required, left empty
}


def demo_template() -> Template:
    return load_template(DEMO / "template.json")


def demo_settings() -> ValueSettings:
    """The demo tenant's options and terms, as the sandbox profile holds them."""
    tenant = json.loads((DEMO / "tenant.json").read_text(encoding="utf-8"))
    return ValueSettings(
        date_format=tenant["date_format"],
        choices=tenant["choices"],
        terms={name: list(paths) for name, paths in tenant["terms"].items()},
    )


def write_workbook(path: Path, sheets: dict[str, Sequence[Sequence[object]]]) -> Path:
    """Write sheets of rows (row 1 first); None leaves a cell empty."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                _put(sheet, r, c, value)
    book.save(path)
    return path


def _put(sheet: Any, row: int, column: int, value: object) -> None:
    if value is None:
        return
    cell = sheet.cell(row=row, column=column)
    if isinstance(value, DateSerial):
        cell.value = float(value)
        cell.number_format = "yyyy-mm-dd hh:mm:ss"
        return
    cell.value = value
    if isinstance(value, datetime):
        cell.number_format = "yyyy-mm-dd hh:mm:ss"
    elif isinstance(value, date):
        cell.number_format = "yyyy-mm-dd"


def messy_workbook(path: Path) -> Path:
    """A cover sheet, then the records under a title, a note and a blank row."""
    records: list[list[object]] = [
        ["Records for transfer to Opus"],
        ["Exported on", datetime(2024, 4, 2)],
        [],
        list(MESSY_HEADERS),
    ]
    last = max(MESSY_ROWS)
    for number in range(MESSY_HEADER_ROW + 1, last + 1):
        records.append(list(MESSY_ROWS.get(number, [])))
    cover = [["Records transfer, spring 2024"], [], ["Prepared by the records team"]]
    return write_workbook(path, {"Cover": cover, MESSY_SHEET: records})


def write_csv(
    path: Path,
    rows: Sequence[Sequence[object]],
    *,
    encoding: str = "utf-8",
    delimiter: str = ",",
) -> Path:
    """Write rows as CSV bytes in the given encoding ("utf-8-sig" and "utf-16" add a BOM)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def ole2_file(path: Path, streams: Sequence[str]) -> Path:
    """A minimal, well-formed OLE2 compound file holding empty streams with these names.

    An encrypted .xlsx is such a file with the streams EncryptionInfo and EncryptedPackage;
    an Excel 97-2003 workbook holds a stream called Workbook.
    """
    end_of_chain, free, fat_sector, no_stream = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(16)
    header += struct.pack("<HHHHH6xIIIIIIIII", 0x3E, 3, 0xFFFE, 9, 6, 0, 1, 1, 0, 4096,
                          end_of_chain, 0, end_of_chain, 0)  # fmt: skip
    header += struct.pack("<109I", 0, *([free] * 108))
    fat = struct.pack("<128I", fat_sector, end_of_chain, *([free] * 126))

    def entry(name: str, kind: int, left: int, right: int, child: int) -> bytes:
        encoded = (name + "\0").encode("utf-16-le")
        return (
            encoded.ljust(64, b"\0")
            + struct.pack("<HBBIII", len(encoded), kind, 1, left, right, child)
            + bytes(16 + 4 + 16)
            + struct.pack("<IQ", end_of_chain, 0)
        )

    # Siblings chained to the right: a valid (if lopsided) red-black tree.
    entries = [entry("Root Entry", 5, no_stream, no_stream, 1 if streams else no_stream)]
    ordered = sorted(streams, key=lambda n: (len(n), n.upper()))
    for index, name in enumerate(ordered, start=1):
        right = index + 1 if index < len(ordered) else no_stream
        entries.append(entry(name, 2, no_stream, right, no_stream))
    directory = b"".join(entries).ljust(512, b"\0")
    path.write_bytes(header + fat + directory[:512])
    return path


def encrypted_workbook(path: Path) -> Path:
    return ole2_file(path, ["EncryptionInfo", "EncryptedPackage"])


def old_excel_file(path: Path) -> Path:
    return ole2_file(path, ["Workbook"])
