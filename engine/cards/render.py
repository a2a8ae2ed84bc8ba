"""Member cards (CR80) rendered to print-ready PDFs with WeasyPrint.

* ``render_batch(cards)``: A4 portrait sheets of 10 cards (2 columns x 5 rows) with crop marks at every card
  corner; sheet k's fronts are page 2k+1 and its backs page 2k+2, the backs in the mirrored column, so
  that duplex printing flipped on the long edge puts each back behind its front.
* ``render_batch_parallel(cards, workers=2)``: the same PDF, chunks of sheets rendered in a process pool
  and merged (needs pypdf; without it, one process).
* ``render_preview(card)``: one front and one back, each on a page of card size.

Bad input never raises: a card without a usable member code or name is left out (``skipped``); a photo
that is missing or not an image is replaced by a silhouette (``warnings``). The HTML is built with string
templates (every value escaped), one document per chunk of sheets.
"""
from __future__ import annotations

import base64
import gc
import html
import io
import logging
import math
import multiprocessing
import os
import unicodedata
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from string import Template
from typing import Callable, Iterator, NamedTuple, Sequence

import weasyprint
from PIL import Image, ImageOps

from engine.cards import barcode, emblem
from engine.membercodes import is_valid_member_code

CARD_W, CARD_H = 85.6, 53.98  # mm, ISO/IEC 7810 ID-1 (CR80)
PAGE_W, PAGE_H = 210.0, 297.0  # mm, A4 portrait
COLS, ROWS = 2, 5
PER_SHEET = COLS * ROWS
GAP_X, GAP_Y = 6.0, 3.0  # mm between cards, so that each card has its own cut lines
MARGIN_X = (PAGE_W - COLS * CARD_W - (COLS - 1) * GAP_X) / 2  # 16.4 mm, equal on both sides (duplex)
MARGIN_Y = (PAGE_H - ROWS * CARD_H - (ROWS - 1) * GAP_Y) / 2  # 7.55 mm
MARK_STROKE = 0.1  # mm
PHOTO_PX = (472, 708)  # 20 x 30 mm at 600 dpi
KEEP_PHOTO_BYTES = 300 * 1024  # a valid JPEG/PNG up to this size and ~1.5x PHOTO_PX is embedded as it is
MAX_PHOTO_PIXELS = 40_000_000

_TEMPLATES = Path(__file__).with_name("templates")
CSS = (_TEMPLATES / "card.css").read_text(encoding="utf-8")
FRONT = Template((_TEMPLATES / "front.html").read_text(encoding="utf-8").strip())
BACK = Template((_TEMPLATES / "back.html").read_text(encoding="utf-8").strip())
EMBLEM_URI = emblem.data_uri(emblem.EMBLEM_SVG)
SILHOUETTE_URI = emblem.data_uri(emblem.SILHOUETTE_SVG)
EMPTY_URI = emblem.data_uri('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1" width="1" height="1"/>')
LINKED_MARK = '<div class="linked">THẺ LIÊN KẾT</div>'

Progress = Callable[[int, int], None]
log = logging.getLogger(__name__)


@dataclass(slots=True)
class CardData:
    full_name: str
    birth_date: date | None
    unit_name: str  # the grassroots union (CĐCS)
    member_code: str | None  # 12 digits, see engine.membercodes
    vpoint_code: str | None
    photo: bytes | None  # JPEG/PNG as uploaded
    issue_date: date
    linked: bool = False  # also a VietinBank linked (ATM) card
    member_id: int | None = None  # the caller's reference, echoed in skipped/warnings


class CardIssue(NamedTuple):
    index: int  # position in the input list
    member_code: str | None
    full_name: str
    reason: str  # Vietnamese, for the batch page


@dataclass(slots=True)
class BatchResult:
    pdf: bytes
    pages: int
    cards: int  # cards printed
    skipped: list[CardIssue] = field(default_factory=list)
    warnings: list[CardIssue] = field(default_factory=list)
    workers: int = 1


@dataclass(slots=True)
class _Prepared:
    index: int
    fields: dict[str, str]  # the template values, escaped; positions are added per sheet


def prepare_photo(photo: bytes) -> tuple[str | None, str | None]:
    """(a data: URI to embed, None) or (None, the reason it was not usable). Checked by decoding it whole
    with Pillow; a large, rotated or unusual image is re-encoded as a JPEG of at most 600 dpi on the card."""
    try:
        with Image.open(io.BytesIO(photo)) as img:
            fmt = img.format
            width, height = img.size
            if width * height > MAX_PHOTO_PIXELS:
                return None, f"Ảnh quá lớn ({width}x{height} điểm ảnh): in ảnh mặc định"
            orientation = img.getexif().get(0x0112, 1)
            reencode = (
                len(photo) > KEEP_PHOTO_BYTES or width > PHOTO_PX[0] * 1.5 or height > PHOTO_PX[1] * 1.5
                or orientation not in (None, 1) or fmt not in ("JPEG", "PNG")
                or img.mode not in (("RGB", "L") if fmt == "JPEG" else ("RGB", "RGBA", "L", "LA", "P"))
            )
            if not reencode:
                img.load()  # the whole image decodes: not truncated or corrupt
                mime = "jpeg" if fmt == "JPEG" else "png"
                return f"data:image/{mime};base64,{base64.b64encode(photo).decode()}", None
            img.draft("RGB", PHOTO_PX)
            img.load()
            out = ImageOps.exif_transpose(img)
            if out.mode in ("RGBA", "LA", "P"):
                out = out.convert("RGBA")
                flat = Image.new("RGB", out.size, "white")
                flat.paste(out, mask=out.getchannel("A"))
                out = flat
            out = out.convert("RGB")
            out.thumbnail(PHOTO_PX)
            buffer = io.BytesIO()
            out.save(buffer, "JPEG", quality=88)
            return f"data:image/jpeg;base64,{base64.b64encode(buffer.getvalue()).decode()}", None
    except Exception:  # noqa: BLE001 - any decoder error means "not a usable image"
        return None, "Ảnh không phải tệp ảnh hợp lệ: in ảnh mặc định"


def _clean(text: object) -> str:
    return " ".join(unicodedata.normalize("NFC", "" if text is None else str(text)).split())


def _photo_bytes(photo: object) -> bytes | None:
    return bytes(photo) if isinstance(photo, (bytes, bytearray, memoryview)) and len(photo) else None


def _fields(index: int, card: CardData, name: str, code: str, photo_uri: str) -> dict[str, str]:
    esc = html.escape
    unit = _clean(card.unit_name)
    return {
        "i": str(index), "emblem": EMBLEM_URI, "photo": esc(photo_uri),
        "name": esc(name), "name_pt": _fit_pt(name, 57.0, 9.0, 5.5, 0.62),
        "birth": esc(_date(card.birth_date)), "unit": esc(unit), "unit_pt": _fit_pt(unit, 102.0, 6.0, 4.6, 0.55),
        "code": esc(code), "barcode": _barcode_uri(code), "issued": esc(_date(card.issue_date)),
        "linked": LINKED_MARK if card.linked else "", "vpoint": esc(_clean(card.vpoint_code) or "—"),
    }


def prepare(cards: Sequence[CardData]) -> tuple[list[_Prepared], list[CardIssue], list[CardIssue]]:
    """Validate every card: (printable cards, skipped, warnings). Never raises on card content."""
    ready: list[_Prepared] = []
    skipped: list[CardIssue] = []
    warnings: list[CardIssue] = []
    photo_cache: dict[bytes, tuple[str | None, str | None]] = {}
    for index, card in enumerate(cards):
        name = _clean(getattr(card, "full_name", None))
        raw_code = getattr(card, "member_code", None)
        code = _clean(raw_code).replace(" ", "")
        issue = None
        if not code:
            issue = "Thiếu mã đoàn viên"
        elif not is_valid_member_code(code):
            issue = f"Mã đoàn viên không hợp lệ ({code}): cần 12 chữ số với số kiểm tra đúng"
        elif not name:
            issue = "Thiếu họ và tên"
        if issue:
            skipped.append(CardIssue(index, None if raw_code is None else str(raw_code), name, issue))
            continue
        photo = _photo_bytes(card.photo)
        if photo:
            if photo not in photo_cache:
                photo_cache[photo] = prepare_photo(photo)
            uri, problem = photo_cache[photo]
        else:
            uri, problem = None, "Không có ảnh: in ảnh mặc định"
        try:
            fields = _fields(index, card, name, code, uri or SILHOUETTE_URI)
        except Exception as exc:  # noqa: BLE001 - e.g. a date that is not a date: leave the card out
            skipped.append(CardIssue(index, code, name, f"Dữ liệu thẻ không hợp lệ ({type(exc).__name__})"))
            continue
        if problem:
            warnings.append(CardIssue(index, code, name, problem))
        if len(name) > 46:
            warnings.append(CardIssue(index, code, name, "Họ tên quá dài, có thể bị cắt trên thẻ"))
        ready.append(_Prepared(index, fields))
    return ready, skipped, warnings


def _date(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else "—"


def _fit_pt(text: str, width_mm: float, largest: float, smallest: float, em_ratio: float) -> str:
    """A font size (pt) at which ``text`` should fit ``width_mm``: average glyph width ~ em_ratio em."""
    if not text:
        return f"{largest:g}"
    size = width_mm / (len(text) * em_ratio * 0.3528)
    return f"{max(smallest, min(largest, size)):.2f}"


def slot_position(slot: int, back: bool = False) -> tuple[float, float]:
    """Top-left corner (mm) of a slot 0..9 on a sheet; backs take the mirrored column."""
    row, col = divmod(slot, COLS)
    if back:
        col = COLS - 1 - col
    return MARGIN_X + col * (CARD_W + GAP_X), MARGIN_Y + row * (CARD_H + GAP_Y)


def _front(p: _Prepared, x: float, y: float) -> str:
    return FRONT.substitute(p.fields, x=f"{x:.3f}", y=f"{y:.3f}")


def _back(p: _Prepared, x: float, y: float) -> str:
    return BACK.substitute(p.fields, x=f"{x:.3f}", y=f"{y:.3f}")


def _barcode_uri(code: str) -> str:
    try:
        return emblem.data_uri(barcode.svg(code))
    except ValueError:  # only in a preview of a card that a batch would skip
        return EMPTY_URI


@lru_cache(maxsize=64)
def _marks_uri(slots: tuple[int, ...], back: bool) -> str:
    """An A4 SVG of crop marks at the four corners of each used slot: lines continuing the card edges,
    starting a little off the corner; long into the page margins, short into the gaps between cards."""
    lines = []
    for slot in slots:
        x0, y0 = slot_position(slot, back)
        x1, y1 = x0 + CARD_W, y0 + CARD_H
        row, col = divmod(slot, COLS)
        col = COLS - 1 - col if back else col
        for cx, outward_x, outer_x in ((x0, -1, col == 0), (x1, 1, col == COLS - 1)):
            for cy, outward_y, outer_y in ((y0, -1, row == 0), (y1, 1, row == ROWS - 1)):
                off_x, len_x = (1.0, 5.0) if outer_x else (0.8, GAP_X / 2 - 1.0)
                off_y, len_y = (1.0, 4.0) if outer_y else (0.5, GAP_Y / 2 - 0.6)
                hx = cx + outward_x * off_x
                vy = cy + outward_y * off_y
                lines.append(f"M{hx:.2f} {cy:.2f}h{outward_x * len_x:.2f}M{cx:.2f} {vy:.2f}v{outward_y * len_y:.2f}")
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {PAGE_W:g} {PAGE_H:g}" width="{PAGE_W:g}mm" '
        f'height="{PAGE_H:g}mm"><path fill="none" stroke="#000" stroke-width="{MARK_STROKE}" '
        f'd="{"".join(lines)}"/></svg>'
    )
    return emblem.data_uri(svg)


def _document(body: str) -> str:
    return (
        '<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8"><title>Thẻ đoàn viên công đoàn</title>'
        f"<style>{CSS}</style></head><body>{body}</body></html>"
    )


def sheets_html(prepared: Sequence[_Prepared]) -> str:
    """One HTML document: for every 10 cards a front sheet then its back sheet."""
    parts = []
    for start in range(0, len(prepared), PER_SHEET):
        sheet = prepared[start:start + PER_SHEET]
        slots = tuple(range(len(sheet)))
        for back in (False, True):
            parts.append(f'<section class="sheet {"backs" if back else "fronts"}">')
            parts.append(f'<img class="marks" src="{_marks_uri(slots, back)}" alt="">')
            for slot, p in enumerate(sheet):
                x, y = slot_position(slot, back)
                parts.append(_back(p, x, y) if back else _front(p, x, y))
            parts.append("</section>")
    return _document("".join(parts))


def batch_html(cards: Sequence[CardData]) -> str:
    """The whole batch as one HTML document (what ``render_batch`` lays out, in one piece)."""
    return sheets_html(prepare(cards)[0])


def _chunks(prepared: list[_Prepared], chunk_sheets: int) -> list[list[_Prepared]]:
    size = max(1, chunk_sheets) * PER_SHEET
    return [prepared[k:k + size] for k in range(0, len(prepared), size)]


def render_batch(
    cards: Sequence[CardData], progress: Progress | None = None, chunk_sheets: int = 10
) -> BatchResult:
    """All cards on A4 sheets, in this process. Chunks of ``chunk_sheets`` sheets are laid out one HTML
    document each (progress after each; smaller documents also lay out faster) and written as one PDF."""
    return _render_here(*prepare(cards), progress, chunk_sheets)


def _render_here(
    prepared: list[_Prepared], skipped: list[CardIssue], warnings: list[CardIssue],
    progress: Progress | None, chunk_sheets: int,
) -> BatchResult:
    total = len(prepared)
    if progress:
        progress(0, total)
    if not prepared:
        return BatchResult(b"", 0, 0, skipped, warnings)
    documents = []
    done = 0
    for chunk in _chunks(prepared, chunk_sheets):
        with _no_gc():
            documents.append(weasyprint.HTML(string=sheets_html(chunk)).render())
        done += len(chunk)
        if progress and done < total:
            progress(done, total)
    pages = [page for document in documents for page in document.pages]
    combined = documents[0] if len(documents) == 1 else documents[0].copy(pages)
    with _no_gc():
        pdf = combined.write_pdf()  # the other documents stay referenced (their fonts) until written
    if progress:
        progress(total, total)
    return BatchResult(pdf, len(pages), total, skipped, warnings)


@contextmanager
def _no_gc() -> Iterator[None]:
    """The cyclic GC paused while WeasyPrint builds its (large, acyclic-ish) box trees: Python's collector
    otherwise rescans them over and over, ~15% of the CPU time on 10 sheets and more on larger documents.
    What they leave behind is reclaimed when it is back on."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _render_chunk(document_html: str) -> tuple[bytes, int]:
    with _no_gc():
        document = weasyprint.HTML(string=document_html).render()
        return document.write_pdf(), len(document.pages)


def merge_available() -> bool:
    try:
        import pypdf  # noqa: F401
    except ImportError:
        return False
    return True


def _merge(pdfs: list[bytes]) -> bytes:
    import pypdf

    writer = pypdf.PdfWriter()
    for pdf in pdfs:
        writer.append(pypdf.PdfReader(io.BytesIO(pdf)))
    writer.add_metadata({"/Title": "Thẻ đoàn viên công đoàn"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def render_batch_parallel(
    cards: Sequence[CardData],
    workers: int = 2,
    chunk_sheets: int | None = None,
    progress: Progress | None = None,
    start_method: str | None = None,
) -> BatchResult:
    """``render_batch`` with chunks of sheets rendered in ``workers`` processes and merged in order.

    Falls back to this process when there is one chunk, one worker or CPU, no PDF merger (pypdf), or the
    pool fails. Workers start from a fork server that has WeasyPrint loaded (safe in a threaded caller such
    as the scheduler worker; the calling script needs the ``if __name__ == "__main__"`` guard);
    ``start_method`` may say "fork" or "spawn" instead."""
    prepared, skipped, warnings = prepare(cards)
    total = len(prepared)
    sheets = math.ceil(total / PER_SHEET)
    if chunk_sheets is None:  # >= 4 chunks per worker: balanced, and a progress step every few seconds
        chunk_sheets = min(10, max(2, math.ceil(sheets / (max(1, workers) * 4))))
    chunks = _chunks(prepared, chunk_sheets)
    workers = min(workers, len(chunks), os.cpu_count() or 1)
    if workers <= 1 or not merge_available():
        return _render_here(prepared, skipped, warnings, progress, chunk_sheets)
    if progress:
        progress(0, total)
    try:
        parts = _render_in_pool(chunks, workers, start_method, progress, total)
    except (BrokenProcessPool, OSError, RuntimeError) as exc:
        log.warning("card rendering pool failed (%s); rendering in this process", exc)
        return _render_here(prepared, skipped, warnings, progress, chunk_sheets)
    pdf = _merge([pdf for pdf, _ in parts])
    if progress:
        progress(total, total)
    return BatchResult(pdf, sum(n for _, n in parts), total, skipped, warnings, workers=workers)


def _render_in_pool(
    chunks: list[list[_Prepared]], workers: int, start_method: str | None, progress: Progress | None, total: int
) -> list[tuple[bytes, int]]:
    methods = multiprocessing.get_all_start_methods()
    method = start_method or ("forkserver" if "forkserver" in methods else None)
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        context.set_forkserver_preload([__name__])
    results: dict[int, tuple[bytes, int]] = {}
    done = 0
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pending = {pool.submit(_render_chunk, sheets_html(chunk)): k for k, chunk in enumerate(chunks)}
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                k = pending.pop(future)
                results[k] = future.result()
                done += len(chunks[k])
                if progress and done < total:
                    progress(done, total)
    return [results[k] for k in range(len(chunks))]


def preview_html(card: CardData) -> tuple[str, list[CardIssue]]:
    """The one-card preview document (front page, back page) and any warnings; a card that would be
    skipped in a batch is still previewed (with what it has), its reason among the warnings."""
    prepared, skipped, warnings = prepare([card])
    if prepared:
        p = prepared[0]
    else:  # show what there is: the reason it cannot be printed is among the warnings
        warnings = skipped + warnings
        photo = _photo_bytes(getattr(card, "photo", None))
        uri = (prepare_photo(photo)[0] if photo else None) or SILHOUETTE_URI
        name, code = _clean(getattr(card, "full_name", None)), _clean(getattr(card, "member_code", None))
        try:
            fields = _fields(0, card, name, code, uri)
        except Exception:  # noqa: BLE001 - data that is not what it should be: the names and codes only
            fields = _fields(0, CardData("", None, "", "", "", None, None), name, code, uri)  # type: ignore[arg-type]
        p = _Prepared(0, fields)
    body = f'<section class="one">{_front(p, 0, 0)}</section><section class="one">{_back(p, 0, 0)}</section>'
    return _document(body), warnings


def render_preview(card: CardData) -> bytes:
    """Two pages of card size: the front, then the back."""
    return weasyprint.HTML(string=preview_html(card)[0]).render().write_pdf()
