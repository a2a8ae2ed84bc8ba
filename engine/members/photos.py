"""Member photos uploaded as a .zip or as separate image files, read safely into memory.

Nothing is ever extracted to disk: entries are read through a bounded stream, so a zip bomb, an entry
that lies about its size, ``../`` or absolute names and symlinks are refused before any byte lands
anywhere. A refusal raises InvalidInput with a Vietnamese message; the caller writes nothing.
"""
from __future__ import annotations

import stat
import zipfile
from pathlib import Path, PurePosixPath

from engine.errors import InvalidInput

MAX_PHOTO_BYTES = 1024 * 1024  # a photo above this is reported per row by check_workbook, not read whole
MAX_ENTRIES = 20_000
MAX_TOTAL_BYTES = 1024 * 1024 * 1024  # uncompressed, all photos together
MAX_RATIO = 200  # uncompressed / compressed, per entry
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
FIELD = "photos"


def _refuse(message: str) -> InvalidInput:
    return InvalidInput(message, field_errors={FIELD: message})


def _safe_member_name(name: str) -> str:
    """The entry's file name, or an InvalidInput for traversal, absolute names and drive letters."""
    normalised = name.replace("\\", "/")
    path = PurePosixPath(normalised)
    if normalised.startswith("/") or (len(normalised) > 1 and normalised[1] == ":") or ".." in path.parts:
        raise _refuse(f"Tệp nén ảnh chứa đường dẫn không an toàn ({name}); hãy nén lại chỉ các tệp ảnh.")
    return path.name


def _read_bounded(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """At most ``limit`` + 1 bytes of an entry (so that an oversize photo is still recognised as such)."""
    with archive.open(info) as stream:
        return stream.read(limit + 1)


def read_zip(path: Path, display_name: str) -> dict[str, bytes]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise _refuse(f"Tệp {display_name} không phải tệp nén .zip hợp lệ hoặc đã bị hỏng.") from exc
    photos: dict[str, bytes] = {}
    total = 0
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_ENTRIES:
            raise _refuse(f"Tệp nén có {len(infos)} tệp, vượt quá giới hạn {MAX_ENTRIES}.")
        for info in infos:
            name = _safe_member_name(info.filename)
            if info.is_dir() or not name or name.startswith(("._", ".")) or "__MACOSX" in info.filename:
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                raise _refuse(f"Tệp nén chứa liên kết tượng trưng ({info.filename}); không được chấp nhận.")
            if info.flag_bits & 0x1:
                raise _refuse("Tệp nén ảnh được đặt mật khẩu; hãy nén lại không đặt mật khẩu.")
            if info.file_size > MAX_PHOTO_BYTES and info.compress_size and \
                    info.file_size / info.compress_size > MAX_RATIO:
                raise _refuse(f"Tệp nén có dấu hiệu 'bom nén' ({info.filename}); không được chấp nhận.")
            try:
                content = _read_bounded(archive, info, MAX_PHOTO_BYTES)
            except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as exc:
                raise _refuse(f"Không đọc được {info.filename} trong tệp nén: tệp nén bị hỏng.") from exc
            total += len(content)
            if total > MAX_TOTAL_BYTES:
                raise _refuse("Tổng dung lượng ảnh sau giải nén vượt quá 1 GB.")
            if name in photos:
                raise _refuse(f"Tệp nén có hai ảnh cùng tên {name}.")
            photos[name] = content
    return photos


def collect(files: list[tuple[str, Path]]) -> dict[str, bytes]:
    """Photos by file name from uploaded files: each a .zip of photos or a photo itself."""
    photos: dict[str, bytes] = {}
    for display_name, path in files:
        suffix = PurePosixPath(display_name.lower()).suffix
        if suffix == ".zip":
            found = read_zip(path, display_name)
        elif suffix in IMAGE_SUFFIXES:
            with path.open("rb") as fh:
                found = {PurePosixPath(display_name.replace("\\", "/")).name: fh.read(MAX_PHOTO_BYTES + 1)}
        else:
            raise _refuse(f"Tệp {display_name}: ảnh phải là .jpg, .jpeg, .png hoặc một tệp nén .zip chứa các ảnh.")
        for name, content in found.items():
            if name in photos:
                raise _refuse(f"Ảnh {name} được tải lên hai lần.")
            photos[name] = content
    return photos


def find(files: list[tuple[str, Path]], name: str) -> bytes | None:
    """One photo by file name (case-insensitive) without reading the others: for showing a row's photo."""
    wanted = name.lower()
    for display_name, path in files:
        if display_name.lower().endswith(".zip"):
            try:
                with zipfile.ZipFile(path) as archive:
                    for info in archive.infolist():
                        if PurePosixPath(info.filename.replace("\\", "/")).name.lower() == wanted \
                                and not info.is_dir() and ".." not in info.filename:
                            return _read_bounded(archive, info, MAX_PHOTO_BYTES)
            except (zipfile.BadZipFile, OSError):
                continue
        elif PurePosixPath(display_name.replace("\\", "/")).name.lower() == wanted:
            with path.open("rb") as fh:
                return fh.read(MAX_PHOTO_BYTES + 1)
    return None
