"""Uploaded files for form fields (x-widget file).

A file is stored under the upload folder with a random name; the form data keeps only a reference
string ``upload:<id>/<original name>``. No Flask here: callers pass the folder, the name and a stream.
"""
from __future__ import annotations

import io
import re
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Iterable

from engine.errors import InvalidInput, NotFound

PREFIX = "upload:"
MAX_BYTES = 20 * 1024 * 1024
CHUNK = 64 * 1024
_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class Upload:
    id: str
    name: str
    path: Path

    @property
    def reference(self) -> str:
        return f"{PREFIX}{self.id}/{self.name}"


def safe_name(filename: str) -> str:
    """The original name without folders or control characters, at most 150 characters."""
    name = unicodedata.normalize("NFC", filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '<>:"|?*').strip(" .")
    return name[:150] or "tep"


def store(upload_dir: str | Path, field: str, filename: str, stream: BinaryIO,
          max_bytes: int = MAX_BYTES) -> Upload:
    """Copy the stream to a new random file; refuse empty or too large files (nothing kept)."""
    folder = Path(upload_dir)
    folder.mkdir(parents=True, exist_ok=True)
    upload_id = secrets.token_hex(16)
    path = folder / upload_id
    size = 0
    try:
        with path.open("xb") as out:
            while True:
                chunk = stream.read(CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if size > max_bytes:
                    raise InvalidInput("Tệp quá lớn", field_errors={field: "Tệp quá lớn"})
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if size == 0:
        path.unlink(missing_ok=True)
        raise InvalidInput("Tệp rỗng", field_errors={field: "Tệp rỗng"})
    return Upload(upload_id, safe_name(filename), path)


GENERATED_MAX_BYTES = 500 * 1024 * 1024  # files the platform writes itself (error workbooks, print batches)


def store_bytes(upload_dir: str | Path, name: str, content: bytes, max_bytes: int = GENERATED_MAX_BYTES) -> str:
    """Store generated content like an upload; returns its reference."""
    return store(upload_dir, "generated", name, io.BytesIO(content), max_bytes).reference


def resolve(upload_dir: str | Path, ref: str, field: str = "file") -> tuple[str, Path]:
    """(original name, path) of a stored file, or InvalidInput (on ``field``) when the reference is bad or
    the file is gone."""
    parsed = parse_reference(ref)
    path = Path(upload_dir) / parsed[0] if parsed else None
    if parsed is None or path is None or not path.is_file():
        raise InvalidInput("Không tìm thấy tệp đã tải lên; hãy tải lên lại", field_errors={field: "Hãy tải lên lại"})
    return parsed[1], path


def parse_reference(value: Any) -> tuple[str, str] | None:
    """(id, original name) of an ``upload:<id>/<name>`` string, else None."""
    if not isinstance(value, str) or not value.startswith(PREFIX):
        return None
    upload_id, _, name = value[len(PREFIX):].partition("/")
    return (upload_id, name) if _ID.match(upload_id) else None


def references(data: Any) -> Iterable[str]:
    """Every upload reference in a JSON-like value."""
    if isinstance(data, dict):
        for value in data.values():
            yield from references(value)
    elif isinstance(data, list):
        for value in data:
            yield from references(value)
    elif parse_reference(data):
        yield data


def find(upload_dir: str | Path, upload_id: str, allowed: Iterable[str]) -> Upload:
    """The stored file for an id, if one of the allowed references names it."""
    for ref in allowed:
        parsed = parse_reference(ref)
        if parsed and parsed[0] == upload_id:
            path = Path(upload_dir) / upload_id
            if path.is_file():
                return Upload(upload_id, parsed[1], path)
    raise NotFound("Không tìm thấy tệp", upload_id=upload_id)
