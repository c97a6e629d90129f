"""What kind of file a sheet is, told by its content, not its name.

Old systems export under any name: an .xlsx called .xls, a CSV file called .xlsx, a
web page called .xls. The first bytes decide (an OLE2 compound file, a zip and what it
holds, or text); when the name says otherwise, `FileKind.note` says so in one sentence
and the file is read as what it is. Only the head of the file and, for a zip, its list
of names are read, so a 100 MB file is not loaded just to be told apart.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from opus_desktop.core.errors import SheetError

HEAD_BYTES = 8192
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# An encrypted OOXML file is an OLE2 compound file holding a stream of this name.
_ENCRYPTION_STREAM = "EncryptionInfo".encode("utf-16-le")
_ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"

# What each kind is called in a sentence.
KIND_NAMES = {
    "xlsx": "an Excel workbook (.xlsx)",
    "xlsb": "an Excel binary workbook (.xlsb)",
    "xls": "an Excel 97-2003 workbook (.xls)",
    "ods": "an OpenDocument spreadsheet (.ods)",
    "csv": "a text (CSV) file",
}
# The kind each name promises; calamine chooses its reader by these too.
SUFFIX_KINDS = {
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".xlsb": "xlsb",
    ".xls": "xls",
    ".ods": "ods",
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
}
# For file dialogs: the names the sheets offices keep are saved under.
SHEET_PATTERNS = " ".join(f"*{suffix}" for suffix in SUFFIX_KINDS if suffix != ".txt")
# Files that are none of the kinds, by their first bytes.
_BINARY_MAGIC = (
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
)
# Text that Excel opens but that is not a table of cells separated by delimiters.
_HTML = re.compile(rb"^\s*(?:<!doctype\s+html|<html|<table|<head|<body|<meta)", re.IGNORECASE)
_XML_SPREADSHEET = b"urn:schemas-microsoft-com:office:spreadsheet"


@dataclass(frozen=True, slots=True)
class FileKind:
    kind: str  # one of KIND_NAMES
    note: str | None = None  # one sentence when the name promises another kind

    @property
    def excel(self) -> bool:
        return self.kind != "csv"


def file_kind(path: Path) -> FileKind:
    """The kind of the file by its content, or a SheetError in one sentence."""
    head = read_head(path)
    if not head:
        raise SheetError(f"{path.name} is empty.")
    kind = _content_kind(path, head)
    return FileKind(kind, mismatch_note(path, kind))


def read_head(path: Path, size: int = HEAD_BYTES) -> bytes:
    """The first bytes of the file, or a SheetError saying why it cannot be opened."""
    try:
        with path.open("rb") as handle:
            return handle.read(size)
    except FileNotFoundError:
        raise SheetError(f"{path} does not exist.") from None
    except IsADirectoryError:
        raise SheetError(f"{path} is a folder, not a file.") from None
    except OSError as exc:
        raise SheetError(f"Cannot open {path}: {exc.strerror or exc}.") from None


def mismatch_note(path: Path, kind: str) -> str | None:
    promised = SUFFIX_KINDS.get(path.suffix.lower())
    if promised == kind:
        return None
    if path.suffix:
        said = f"though its name ends in {path.suffix}"
    else:
        said = "though its name has no extension"
    return f"{path.name} is {KIND_NAMES[kind]}, {said}: it is read as one."


def _content_kind(path: Path, head: bytes) -> str:
    if head.startswith(OLE2_MAGIC):
        if _holds(path, _ENCRYPTION_STREAM):
            raise SheetError(
                f"{path.name} is protected by a password: open it in Excel, remove the password "
                "(File > Info > Protect Workbook) and save it again."
            )
        return "xls"
    if head.startswith(b"PK"):
        return _zip_kind(path)
    for magic, what in _BINARY_MAGIC:
        if head.startswith(magic):
            raise _not_a_sheet(path, what)
    if head.startswith(b"{\\rtf"):
        raise _not_a_sheet(path, "an RTF document", excel_opens=True)
    if _HTML.match(head):
        raise _not_a_sheet(path, "a web page (HTML)", excel_opens=True)
    if head.lstrip().startswith(b"<?xml") and _XML_SPREADSHEET in head:
        raise _not_a_sheet(path, "an Excel 2003 XML spreadsheet", excel_opens=True)
    if _binary(head):
        raise SheetError(
            f"{path.name} is not a workbook or a CSV file: it holds binary data "
            "(it may be damaged, or another kind of file renamed)."
        )
    return "csv"


def _zip_kind(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            mimetype = _small_member(archive, "mimetype") if "mimetype" in names else b""
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        raise SheetError(
            f"{path.name} is damaged and cannot be read ({exc}): "
            "open it in Excel and save it again."
        ) from None
    if "xl/workbook.xml" in names:
        return "xlsx"
    if "xl/workbook.bin" in names:
        return "xlsb"
    if mimetype.strip() == _ODS_MIMETYPE:
        return "ods"
    if mimetype.startswith(b"application/vnd.oasis.opendocument."):
        raise _not_a_sheet(path, "an OpenDocument file of another kind (not a spreadsheet)")
    if "word/document.xml" in names:
        raise _not_a_sheet(path, "a Word document")
    if "ppt/presentation.xml" in names:
        raise _not_a_sheet(path, "a PowerPoint presentation")
    if "[Content_Types].xml" in names:
        raise SheetError(
            f"{path.name} is damaged and cannot be read (it has no workbook part): "
            "open it in Excel and save it again."
        )
    raise _not_a_sheet(path, "a zip archive")


def _small_member(archive: zipfile.ZipFile, name: str) -> bytes:
    with archive.open(name) as member:
        return member.read(200)


def _holds(path: Path, needle: bytes) -> bool:
    """Whether the file holds these bytes, read a megabyte at a time."""
    tail = b""
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            if needle in tail + chunk[: len(needle)] or needle in chunk:
                return True
            tail = chunk[-len(needle) :]
    return False


def _binary(head: bytes) -> bool:
    """NUL bytes, or many control characters, in text without a UTF-16 byte order mark."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False
    if b"\x00" in head:
        return True
    controls = sum(1 for byte in head if byte < 32 and byte not in b"\t\n\r\f\x0b\x1a")
    return controls * 10 > len(head)


def _not_a_sheet(path: Path, what: str, *, excel_opens: bool = False) -> SheetError:
    advice = ": open it in Excel and save it as .xlsx" if excel_opens else ""
    return SheetError(f"{path.name} is {what}, not a workbook or a CSV file{advice}.")
