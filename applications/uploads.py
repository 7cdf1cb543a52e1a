"""Checking an uploaded file before it is kept: size, extension, actual content
(magic bytes), image dimensions, a safe name, and the virus-scan hook."""

from __future__ import annotations

import logging
import socket
import struct
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath

from django.conf import settings
from django.utils.translation import gettext as _

from core.errors import ValidationFailed

logger = logging.getLogger(__name__)

MAX_IMAGE_PIXELS = 40_000_000  # 40 megapixels: larger ones are decompression bombs
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "jpg": "image/jpeg",
    "png": "image/png",
    "heic": "image/heic",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv",
    "txt": "text/plain",
}
EXTENSION_ALIASES = {"jpeg": "jpg"}


@dataclass(frozen=True)
class CheckedFile:
    name: str
    kind: str
    content_type: str
    size: int


def safe_name(name: str) -> str:
    """The file's own name without any path, control characters or leading dots,
    at most 120 characters, keeping its extension."""
    base = PureWindowsPath(PurePosixPath(name or "").name).name
    base = unicodedata.normalize("NFC", base)
    base = "".join(
        ch for ch in base if unicodedata.category(ch)[0] != "C" and ch not in '<>:"/\\|?*'
    )
    base = base.strip().lstrip(".") or "file"
    stem, dot, extension = base.rpartition(".")
    if not dot:
        return base[:120]
    return f"{stem[: 119 - len(extension)]}.{extension}"


def _extension(name: str) -> str:
    extension = name.rpartition(".")[2].lower() if "." in name else ""
    return EXTENSION_ALIASES.get(extension, extension)


def _png_size(head: bytes) -> tuple[int, int] | None:
    if len(head) >= 24 and head[12:16] == b"IHDR":
        return struct.unpack(">II", head[16:24])
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    index = 2
    while index + 9 < len(data):
        if data[index] != 0xFF:
            return None
        marker = data[index + 1]
        length = struct.unpack(">H", data[index + 2 : index + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[index + 5 : index + 9])
            return width, height
        index += 2 + length
    return None


def _matches(kind: str, head: bytes, upload) -> bool:
    if kind == "pdf":
        return head.startswith(b"%PDF-")
    if kind == "png":
        return head.startswith(b"\x89PNG\r\n\x1a\n")
    if kind == "jpg":
        return head.startswith(b"\xff\xd8\xff")
    if kind == "heic":
        return head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1")
    if kind in ("docx", "xlsx"):
        if not head.startswith(b"PK\x03\x04"):
            return False
        try:
            upload.seek(0)
            with zipfile.ZipFile(upload) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, OSError):
            return False
        return "[Content_Types].xml" in names and any(
            name.startswith("word/" if kind == "docx" else "xl/") for name in names
        )
    if kind in ("csv", "txt"):
        upload.seek(0)
        sample = upload.read(65536)
        if b"\x00" in sample:
            return False
        try:
            sample.decode("utf-8")
        except UnicodeDecodeError as error:
            # A multi-byte character cut at the sample's end is still text.
            return error.start >= len(sample) - 3
        return True
    return False


def check_upload(upload, spec: dict) -> CheckedFile:
    """Raise ValidationFailed (a message for the field) unless the file is what its
    field accepts: allowed extension, real content of that type, within the size
    limit, not empty, images of sane dimensions."""
    accepted = spec.get("accept") or ["pdf", "jpg", "png"]
    limit_mb = spec.get("max_size_mb", 10)
    name = safe_name(getattr(upload, "name", ""))
    kind = _extension(name)

    def refuse(message: str):
        raise ValidationFailed(message, details={spec["key"]: [message]})

    if upload.size == 0:
        refuse(_("The file “%(name)s” is empty.") % {"name": name})
    if upload.size > limit_mb * 1024 * 1024:
        refuse(
            _("The file “%(name)s” is larger than %(size)d MB.") % {"name": name, "size": limit_mb}
        )
    if kind not in accepted:
        refuse(
            _("The file “%(name)s” is not an accepted type (%(types)s).")
            % {"name": name, "types": ", ".join(accepted)}
        )
    upload.seek(0)
    head = upload.read(65536)
    if not _matches(kind, head, upload):
        refuse(
            _(
                "The file “%(name)s” is not really a %(kind)s file; its content does not match its name."
            )
            % {"name": name, "kind": kind.upper()}
        )
    size = _png_size(head) if kind == "png" else _jpeg_size(head) if kind == "jpg" else None
    if size is not None and (size[0] * size[1] > MAX_IMAGE_PIXELS or 0 in size):
        refuse(
            _("The image “%(name)s” is %(width)d × %(height)d pixels; send a smaller image.")
            % {"name": name, "width": size[0], "height": size[1]}
        )
    upload.seek(0)
    return CheckedFile(name=name, kind=kind, content_type=CONTENT_TYPES[kind], size=upload.size)


def virus_scan(upload) -> str:
    """ "clean", "infected" or "skipped". Uses clamd over its socket when
    CLAMAV_SOCKET is set; otherwise skips with a logged notice. Fails closed: a
    scanner that does not answer "OK" gets the file refused, never accepted."""
    path = getattr(settings, "CLAMAV_SOCKET", "")
    if not path:
        logger.info("Virus scan skipped: CLAMAV_SOCKET is not configured.")
        return "skipped"
    unavailable = _("The file could not be checked for viruses just now. Try again later.")
    upload.seek(0)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(30)
            connection.connect(path)
            connection.sendall(b"zINSTREAM\0")
            for chunk in iter(lambda: upload.read(65536), b""):
                connection.sendall(struct.pack(">I", len(chunk)) + chunk)
            connection.sendall(struct.pack(">I", 0))
            reply = connection.recv(4096).decode("ascii", "replace").strip("\0 \n")
    except OSError as error:
        logger.error("Virus scanner unreachable: %s", type(error).__name__)
        raise ValidationFailed(unavailable) from error
    finally:
        upload.seek(0)
    if reply.endswith("FOUND"):
        return "infected"
    if reply.endswith("OK"):
        return "clean"
    logger.error("Virus scanner answered unexpectedly: %s", reply[:100])
    raise ValidationFailed(unavailable)
