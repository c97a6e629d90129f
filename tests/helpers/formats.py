"""Workbooks in the older and open formats offices keep: .xls (xlwt) and .ods (by hand)."""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import xlwt


def write_xls(
    path: Path, sheets: dict[str, list[list[object]]], hidden: frozenset[str] = frozenset()
) -> Path:
    book = xlwt.Workbook()
    for name, rows in sheets.items():
        sheet = book.add_sheet(name)
        sheet.visibility = 1 if name in hidden else 0
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is not None:
                    sheet.write(r, c, value)
    book.save(str(path))
    return path


def _ods_cell(value: object) -> str:
    if isinstance(value, int | float):
        return (
            f'<table:table-cell office:value-type="float" office:value="{value}">'
            f"<text:p>{value}</text:p></table:table-cell>"
        )
    return (
        f'<table:table-cell office:value-type="string"><text:p>{value}</text:p></table:table-cell>'
    )


def write_ods(
    path: Path, sheets: dict[str, list[list[object]]], hidden: frozenset[str] = frozenset()
) -> Path:
    """A minimal OpenDocument spreadsheet: a stored mimetype first, a manifest, the content."""
    tables = []
    for name, rows in sheets.items():
        style = ' table:style-name="hidden"' if name in hidden else ""
        body = "".join(
            "<table:table-row>" + "".join(_ods_cell(v) for v in row) + "</table:table-row>"
            for row in rows
        )
        tables.append(f'<table:table table:name="{name}"{style}>{body}</table:table>')
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content'
        ' xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
        ' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
        ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
        ' xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" office:version="1.2">'
        '<office:automatic-styles><style:style style:name="hidden" style:family="table">'
        '<style:table-properties table:display="false"/></style:style></office:automatic-styles>'
        f"<office:body><office:spreadsheet>{''.join(tables)}</office:spreadsheet></office:body>"
        "</office:document-content>"
    )
    return write_ods_content(path, content)


def write_ods_content(path: Path, content: str) -> Path:
    """An OpenDocument spreadsheet around the given content.xml."""
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest'
        ' xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
        '<manifest:file-entry manifest:full-path="/"'
        ' manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            zipfile.ZipInfo("mimetype"),
            "application/vnd.oasis.opendocument.spreadsheet",
            compress_type=zipfile.ZIP_STORED,
        )
        archive.writestr("META-INF/manifest.xml", manifest)
        archive.writestr("content.xml", content)
    return path


# -- .xlsb: the binary records of MS-XLSB, the few a reader needs -------------------------


class XlsbError:
    """A cell saved as an error (BrtCellError), or as a formula whose result is one."""

    def __init__(self, code: int, formula: bool = False) -> None:
        self.code = code
        self.formula = formula


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _record(typ: int, body: bytes = b"") -> bytes:
    return _varint(typ) + _varint(len(body)) + body


def _wide(text: str) -> bytes:
    return struct.pack("<I", len(text)) + text.encode("utf-16-le")


def _xlsb_cell(column: int, value: object) -> bytes:
    head = struct.pack("<II", column, 0)
    if isinstance(value, XlsbError):
        if value.formula:  # BrtFmlaError: the error, flags, an empty parsed formula
            return _record(0x0B, head + bytes([value.code]) + b"\0\0" + struct.pack("<II", 0, 0))
        return _record(0x03, head + bytes([value.code]))
    if isinstance(value, bool):
        return _record(0x04, head + bytes([value]))
    if isinstance(value, int | float):
        return _record(0x05, head + struct.pack("<d", float(value)))
    return _record(0x06, head + _wide(str(value)))


def _xlsb_sheet(rows: list[list[object]]) -> bytes:
    width = max((len(row) for row in rows), default=1)
    out = [
        _record(0x81),  # BrtBeginSheet
        _record(0x94, struct.pack("<IIII", 0, max(len(rows) - 1, 0), 0, width - 1)),  # BrtWsDim
        _record(0x91),  # BrtBeginSheetData
    ]
    for r, row in enumerate(rows):
        out.append(_record(0x00, struct.pack("<IIH", r, 0, 300) + b"\0" * 7))  # BrtRowHdr
        out.extend(_xlsb_cell(c, value) for c, value in enumerate(row) if value is not None)
    out += [_record(0x92), _record(0x82)]  # BrtEndSheetData, BrtEndSheet
    return b"".join(out)


def write_xlsb(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    """A binary workbook of text, number, boolean and error cells (no styles, no shared
    strings: each text cell holds its own string)."""
    bundles = b"".join(
        _record(0x9C, struct.pack("<II", 0, n + 1) + _wide(f"rId{n + 1}") + _wide(name))
        for n, name in enumerate(sheets)
    )
    workbook = _record(0x83) + _record(0x8F) + bundles + _record(0x90) + _record(0x84)
    rels = "".join(
        f'<Relationship Id="rId{n + 1}" Type="http://schemas.openxmlformats.org/officeDocument/'
        f'2006/relationships/worksheet" Target="worksheets/sheet{n + 1}.bin"/>'
        for n in range(len(sheets))
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
            'package/2006/content-types"><Default Extension="bin" ContentType="application/'
            'vnd.ms-excel.sheet.binary.macroEnabled.main"/></Types>',
        )
        archive.writestr(
            "xl/_rels/workbook.bin.rels",
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
            f'openxmlformats.org/package/2006/relationships">{rels}</Relationships>',
        )
        archive.writestr("xl/workbook.bin", workbook)
        for n, rows in enumerate(sheets.values()):
            archive.writestr(f"xl/worksheets/sheet{n + 1}.bin", _xlsb_sheet(rows))
    return path
