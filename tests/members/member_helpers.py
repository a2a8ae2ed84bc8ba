"""Helpers for the member-list tests: build workbooks and photos in memory."""
from __future__ import annotations

import io
from datetime import date

from openpyxl import Workbook
from PIL import Image

from engine.members.template import COLUMNS, SHEET_NAME

TODAY = date(2026, 3, 2)
GOOD_ROWS = [
    {"ho_ten": "Nguyễn Văn An", "ngay_sinh": "15/03/1990", "gioi_tinh": "Nam", "so_dinh_danh": "079090012345"},
    {"ho_ten": "Trần Thị Bình", "ngay_sinh": "02/11/1985", "gioi_tinh": "Nữ", "so_dinh_danh": "001185004321",
     "dan_toc": "Tày", "ton_giao": "Phật giáo"},
    {"ho_ten": "Lê Hoàng Cường", "ngay_sinh": "20/07/2001", "gioi_tinh": "Nam", "so_dinh_danh": "048201000777",
     "ngay_vao_cd": "01/08/2022"},
    {"ho_ten": "Phạm Thị Dung", "ngay_sinh": "01/01/1975", "gioi_tinh": "Nữ", "so_dinh_danh": "052175009999",
     "ton_giao": "Công giáo", "chuyen_mon": "Thạc sĩ", "ly_luan_ct": "Trung cấp"},
    {"ho_ten": "Võ Minh Em", "ngay_sinh": "30/04/1995", "gioi_tinh": "Nam", "so_dinh_danh": "066095001234",
     "dan_toc": "Ê-đê", "email": "em.vo@congdoan.vn"},
]
DEFAULTS = {"dan_toc": "Kinh", "ton_giao": "Không", "hoc_van": "12/12", "chuyen_mon": "Đại học",
            "ly_luan_ct": "Không", "nghe_nghiep": "Công nhân", "ngay_vao_cd": "01/06/2015",
            "dien_thoai": "0912345678", "email": "", "ghi_chu": ""}


def good_rows() -> list[dict]:
    return [{**DEFAULTS, **row} for row in GOOD_ROWS]


def make_workbook(rows: list[dict], headers: list[str] | None = None) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET_NAME
    ws.append(headers or [h for _, h in COLUMNS])
    for number, row in enumerate(rows, start=1):
        ws.append([row.get(k, number if k == "stt" else None) for k, _ in COLUMNS])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def make_image(width: int = 200, height: int = 300, fmt: str = "JPEG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 180, 160)).save(out, fmt)
    return out.getvalue()


