"""Reading a CSV file's bytes as text: which encoding, found without a whole copy
(core.sheets streams the file in it), and the whole text where one is needed."""

from __future__ import annotations

import codecs
from pathlib import Path

from opus_desktop.core.errors import SheetError

HEAD = 65537  # characters sniff_delimiter looks at, and one more (is there more?)
_BLOCK = 1 << 20


def csv_encoding(path: Path) -> str:
    """The encoding decode_text would read the file in, found a block at a time."""
    with path.open("rb") as file:
        start = file.read(4)
        if start.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"  # a byte that is not is told when the stream reaches it
        if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        for encoding in ("utf-8", "cp1252"):
            file.seek(0)
            decoder = codecs.getincrementaldecoder(encoding)()
            try:
                while block := file.read(_BLOCK):
                    decoder.decode(block)
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                continue
            return encoding
    return "latin-1"  # five bytes have no character in Windows-1252; Latin-1 maps them all


def decode_text(raw: bytes, name: str = "the file") -> str:
    """Text of a CSV file: BOMs first, then UTF-8, then Windows-1252 (what Excel writes)."""
    if raw.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            # Five bytes have no character in Windows-1252; Latin-1 maps them all.
            try:
                return raw.decode("cp1252")
            except UnicodeDecodeError:
                return raw.decode("latin-1")
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise SheetError(
            f"{name} says it is {encoding.upper()} text but byte {exc.start} is not: "
            "save it again as CSV UTF-8."
        ) from None
