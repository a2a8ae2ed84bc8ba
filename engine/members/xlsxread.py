"""A fast reader of one worksheet's cell values from an .xlsx, for member lists of tens of thousands of rows.

It returns what ``openpyxl.load_workbook(read_only=True, data_only=True)`` + ``iter_rows(values_only=True)``
returns (numbers, strings, booleans, datetimes for date-formatted numbers, cached formula results) plus
the positions of formula cells, in one streaming pass over the sheet XML with lxml. Anything it does not
understand raises ``UnsupportedWorkbook`` and the caller falls back to openpyxl.
"""
from __future__ import annotations

import io
import posixpath
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from lxml import etree
from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format
from openpyxl.utils.datetime import from_excel

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_CELL_REF = re.compile(r"^([A-Z]+)(\d+)$")
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)


class UnsupportedWorkbook(Exception):
    """The workbook uses something this reader does not handle; use openpyxl."""


@dataclass
class Sheet:
    title: str
    rows: list[tuple] = field(default_factory=list)
    formulas: set[tuple[int, int]] = field(default_factory=set)


def _column(letters: str) -> int:
    number = 0
    for ch in letters:
        number = number * 26 + ord(ch) - 64
    return number


def _text_of(element: etree._Element) -> str:
    """The text of a shared or inline string: plain <t> or rich-text runs <r><t>; phonetic runs skipped."""
    parts = [t.text or "" for t in element.iter(f"{{{MAIN}}}t") if t.getparent().tag != f"{{{MAIN}}}rPh"]
    return "".join(parts)


def _shared_strings(archive: zipfile.ZipFile, path: str | None) -> list[str]:
    if not path or path not in archive.namelist():
        return []
    strings = []
    with archive.open(path) as stream:
        for _, element in etree.iterparse(stream, tag=f"{{{MAIN}}}si", resolve_entities=False, huge_tree=True):
            strings.append(_text_of(element))
            element.clear()
    return strings


def _date_styles(archive: zipfile.ZipFile, path: str | None) -> set[int]:
    """Indexes of cellXfs whose number format is a date."""
    if not path or path not in archive.namelist():
        return set()
    root = etree.fromstring(archive.read(path), PARSER)
    custom = {int(f.get("numFmtId")): f.get("formatCode") or "" for f in root.iter(f"{{{MAIN}}}numFmt")}
    xfs = root.find(f"{{{MAIN}}}cellXfs")
    dates = set()
    for index, xf in enumerate(xfs if xfs is not None else []):
        fmt_id = int(xf.get("numFmtId") or 0)
        code = custom.get(fmt_id, BUILTIN_FORMATS.get(fmt_id, ""))
        if code and is_date_format(code):
            dates.add(index)
    return dates


def _targets(archive: zipfile.ZipFile) -> tuple[list[tuple[str, str]], str | None, str | None]:
    """[(sheet title, part path)], shared strings path, styles path."""
    root = etree.fromstring(archive.read("xl/workbook.xml"), PARSER)
    rels = etree.fromstring(archive.read("xl/_rels/workbook.xml.rels"), PARSER)
    by_id, strings, styles = {}, None, None
    for rel in rels.iter(f"{{{PKG_REL}}}Relationship"):
        target = rel.get("Target") or ""
        path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
        by_id[rel.get("Id")] = path
        kind = (rel.get("Type") or "").rsplit("/", 1)[-1]
        strings = path if kind == "sharedStrings" else strings
        styles = path if kind == "styles" else styles
    sheets = [(s.get("name") or "", by_id.get(s.get(f"{{{REL}}}id"), "")) for s in root.iter(f"{{{MAIN}}}sheet")]
    return sheets, strings, styles


def read_sheet(data: bytes, choose: Callable[[list[str]], int]) -> Sheet:
    """Values of the sheet picked by ``choose(titles) -> index``, as dense row tuples (row 1 first)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        sheets, strings_path, styles_path = _targets(archive)
        if not sheets:
            raise UnsupportedWorkbook("no sheets")
        title, part = sheets[choose([t for t, _ in sheets])]
        if part not in archive.namelist():
            raise UnsupportedWorkbook(f"missing part {part}")
        strings = _shared_strings(archive, strings_path)
        dates = _date_styles(archive, styles_path)
        sheet = Sheet(title)
        cells: dict[int, dict[int, object]] = {}
        with archive.open(part) as stream:
            _read_cells(stream, strings, dates, cells, sheet.formulas)
    except UnsupportedWorkbook:
        raise
    except Exception as exc:  # noqa: BLE001 - anything unexpected: let openpyxl decide
        raise UnsupportedWorkbook(str(exc)) from exc
    if cells:
        width = max(max(row) for row in cells.values() if row) if any(cells.values()) else 0
        for number in range(1, max(cells) + 1):
            row = cells.get(number, {})
            sheet.rows.append(tuple(row.get(col) for col in range(1, width + 1)))
    return sheet


def _read_cells(stream, strings: list[str], dates: set[int], cells: dict[int, dict[int, object]],  # noqa: ANN001
                formulas: set[tuple[int, int]]) -> None:
    """One tree for the sheet (lxml builds it in C, far faster than per-cell events); then a plain walk."""
    tag_row, tag_c, tag_f, tag_v, tag_is = (f"{{{MAIN}}}{t}" for t in ("row", "c", "f", "v", "is"))
    root = etree.fromstring(stream.read(), PARSER)
    row_no = 0
    for row in root.iter(tag_row):
        row_no = int(row.get("r")) if row.get("r") else row_no + 1
        col_no = 0
        values = cells.setdefault(row_no, {})
        for cell in row:
            if cell.tag != tag_c:
                continue
            ref = cell.get("r")
            if ref:
                match = _CELL_REF.match(ref)
                if match is None:
                    raise UnsupportedWorkbook(f"cell reference {ref}")
                col_no = _column(match[1])
                if int(match[2]) != row_no:
                    raise UnsupportedWorkbook(f"cell {ref} outside row {row_no}")
            else:
                col_no += 1
            v_text, inline = None, None
            for child in cell:
                if child.tag == tag_v:
                    v_text = child.text
                elif child.tag == tag_f:
                    formulas.add((row_no, col_no))
                elif child.tag == tag_is:
                    inline = child
            value = _value(cell.get("t") or "n", v_text, inline, cell.get("s"), strings, dates)
            if value is not None:
                values[col_no] = value


def _value(kind: str, text: str | None, inline: etree._Element | None, style: str | None, strings: list[str],
           dates: set[int]) -> object:
    if kind == "inlineStr":
        return _text_of(inline) if inline is not None else None
    if text is None:
        return None
    if kind == "s":
        return strings[int(text)]
    if kind in ("str", "e"):
        return text
    if kind == "b":
        return text.strip() == "1"
    if kind == "d":
        return datetime.fromisoformat(text)
    if style and int(style) in dates:
        return from_excel(float(text))
    if "." in text or "E" in text or "e" in text:
        return float(text)
    return int(text)


def value_cells(data: bytes) -> int:
    """How many cells hold a value, over all worksheets, by counting value tags in the raw XML (fast; a
    template's thousands of formatted but empty rows do not count)."""
    total = 0
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                with archive.open(name) as stream:
                    tail = b""
                    while chunk := stream.read(1 << 20):
                        block = tail + chunk
                        total += block.count(b"<v>") + block.count(b"<is>") + block.count(b":v>") // 2
                        tail = block[-4:] if not block.endswith(b">") else b""
    return total
