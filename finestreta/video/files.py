"""Files shared in a call: checked by their content (not their name), scanned by ClamAV when it is
configured, encrypted at rest outside the web root, and read back only for the call's
participants (ADR 18).

Accepted: PDF, JPEG, PNG and WebP — what citizens send to a counter (a scanned form, a photo of a
document) and what staff show. Office documents are left out on purpose: they are archives that
can hide macros and decompression bombs, and their content cannot be checked as simply.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import os
import re
import socket
import struct
import unicodedata
import uuid
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import filetype
from cryptography.fernet import InvalidToken, MultiFernet
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from PIL import Image

from finestreta.lib.keys import fernet_keys
from finestreta.video.models import Role, Room, RoomEvent, SharedFile

ALLOWED = {
    "application/pdf": "pdf",
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
}
# A picture larger than this many pixels is refused (a decompression bomb, or no photo a
# citizen would send).
MAX_PIXELS = 50_000_000
CHUNK = 64 * 1024


class FileRefused(Exception):
    """A file not kept: `code` for the API and logs, `message` for the person (translated)."""

    def __init__(self, code: str, message: object) -> None:
        super().__init__(code)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Uploader:
    """Who shares: the citizen of the call, or a staff member who may serve it."""

    role: str
    name: str
    user_id: int | None = None


# --- Keys ----------------------------------------------------------------------------------


def _keys() -> MultiFernet:
    keys = fernet_keys(settings.VIDEO_FILE_KEYS, "finestreta.video.files")
    if keys is None:
        raise FileRefused("not_configured", _("Sharing files is not available at the moment."))
    return keys


# --- Checking -------------------------------------------------------------------------------


def _read_bounded(upload: IO[bytes]) -> bytes:
    """The upload's bytes, refusing it as soon as it is larger than the limit."""
    limit = settings.VIDEO_FILE_MAX_BYTES
    buffer = io.BytesIO()
    while chunk := upload.read(CHUNK):
        buffer.write(chunk)
        if buffer.tell() > limit:
            raise FileRefused(
                "too_big",
                _("The file is larger than %(size)s MB.") % {"size": limit // (1024 * 1024)},
            )
    return buffer.getvalue()


def check_content(content: bytes) -> str:
    """The file's type from its content (its name is not trusted), or FileRefused."""
    if not content:
        raise FileRefused("empty", _("The file is empty."))
    kind = filetype.guess(content)
    mime = kind.mime if kind is not None else ""
    if mime not in ALLOWED:
        raise FileRefused(
            "type", _("Only PDF documents and pictures (JPEG, PNG or WebP) can be shared.")
        )
    if mime == "application/pdf":
        if not content.startswith(b"%PDF-") or b"%%EOF" not in content[-2048:]:
            raise FileRefused("damaged", _("The file is damaged or incomplete."))
        return mime
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise FileRefused("too_big", _("The picture is too large."))
                image.verify()
    except FileRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise FileRefused("too_big", _("The picture is too large.")) from None
    except Exception:  # noqa: BLE001 - Pillow raises many kinds for a broken picture
        raise FileRefused("damaged", _("The file is damaged or incomplete.")) from None
    return mime


def scan(content: bytes) -> None:
    """Ask ClamAV's clamd (INSTREAM) about the content when VIDEO_CLAMD is set. A finding, or a
    scanner that cannot answer, refuses the file: nothing unscanned is kept."""
    address = settings.VIDEO_CLAMD
    if not address:
        return
    try:
        if address.startswith("unix:"):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(30)
            sock.connect(address[len("unix:") :])
        else:
            host, _sep, port = address.removeprefix("tcp:").rpartition(":")
            sock = socket.create_connection((host, int(port)), timeout=30)
        with sock:
            sock.sendall(b"zINSTREAM\0")
            for start in range(0, len(content), CHUNK):
                part = content[start : start + CHUNK]
                sock.sendall(struct.pack("!L", len(part)) + part)
            sock.sendall(struct.pack("!L", 0))
            answer = b""
            while not answer.endswith(b"\0"):
                received = sock.recv(4096)
                if not received:
                    break
                answer += received
    except (OSError, ValueError) as error:
        raise FileRefused(
            "scan_failed", _("The file could not be checked for viruses. Try again later.")
        ) from error
    verdict = answer.rstrip(b"\0").decode(errors="replace")
    if verdict.endswith("FOUND"):
        raise FileRefused("virus", _("The file contains a virus and was not shared."))
    if not verdict.endswith("OK"):
        raise FileRefused(
            "scan_failed", _("The file could not be checked for viruses. Try again later.")
        )


def clean_name(name: str, mime: str) -> str:
    """A file name safe to show and to offer for download, with the extension its content
    deserves."""
    stem = Path(unicodedata.normalize("NFC", name or "")).stem
    stem = re.sub(r"[^\w\- ]+", "_", stem).strip(" ._")[:100] or "file"
    return f"{stem}.{ALLOWED[mime]}"


# --- Keeping and reading ------------------------------------------------------------------


def _path(storage_name: str) -> Path:
    return Path(settings.VIDEO_FILES_DIR) / storage_name


def share_file(
    *, room: Room, uploader: Uploader, upload: IO[bytes], name: str, now: dt.datetime
) -> SharedFile:
    """Check, scan, encrypt and keep a file shared in the call; FileRefused (recorded in the
    room's events) when it is not acceptable."""
    if room.state != Room.State.OPEN:
        raise FileRefused("ended", _("The call has ended."))
    if uploader.role == Role.CITIZEN and room.citizen_admitted_at is None:
        raise FileRefused("not_in_call", _("You can share files once you are in the call."))
    try:
        content = _read_bounded(upload)
        mime = check_content(content)
        scan(content)
        sealed = _keys().encrypt(content)
    except FileRefused as refusal:
        _record(room, RoomEvent.Kind.FILE_REFUSED, uploader, now, {"reason": refusal.code})
        raise
    storage_name = f"{room.organisation_id}/{room.pk}/{uuid.uuid4().hex}.bin"
    path = _path(storage_name)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_suffix(".part")
    with open(temporary, "wb") as handle:  # noqa: PTH123 - flags below need the handle
        os.chmod(temporary, 0o600)
        handle.write(sealed)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    try:
        with transaction.atomic():
            shared = SharedFile.objects.create(
                room=room,
                role=uploader.role,
                user_id=uploader.user_id,
                sender=uploader.name,
                name=clean_name(name, mime),
                content_type=mime,
                size=len(content),
                sha256=hashlib.sha256(content).hexdigest(),
                storage_name=storage_name,
                uploaded_at=now,
            )
            _record(room, RoomEvent.Kind.FILE_SHARED, uploader, now, {"file": shared.pk})
    except Exception:
        path.unlink(missing_ok=True)
        raise
    return shared


def delete_stored(storage_names: Iterable[str]) -> None:
    """Remove the encrypted files of shared files whose rows were deleted (the retention
    purge calls it once its transaction has committed): a file already gone is no error, and
    a room's folder left empty goes too."""
    for storage_name in storage_names:
        path = _path(storage_name)
        path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # not empty: other files of the room stay
            path.parent.rmdir()


def read_file(shared: SharedFile, *, reader: Uploader, now: dt.datetime) -> bytes:
    """The file's content for one of the call's participants (the caller checked who), with
    the reading recorded."""
    try:
        content = _keys().decrypt(_path(shared.storage_name).read_bytes())
    except (OSError, InvalidToken) as error:
        raise FileRefused("unreadable", _("The file cannot be read.")) from error
    if hashlib.sha256(content).hexdigest() != shared.sha256:
        raise FileRefused("unreadable", _("The file cannot be read."))
    _record(shared.room, RoomEvent.Kind.FILE_DOWNLOADED, reader, now, {"file": shared.pk})
    return content


def get_file(room: Room, file_id: int) -> SharedFile | None:
    """A file shared in this room (never another room's)."""
    return SharedFile.objects.filter(room=room, pk=file_id).first()


def list_files(room: Room) -> list[SharedFile]:
    return list(SharedFile.objects.filter(room=room))


def file_message(shared: SharedFile) -> dict[str, object]:
    """What the call's participants are told over the signaling socket (docs/signaling.md)."""
    return {
        "type": "file",
        "id": shared.pk,
        "name": shared.name,
        "content_type": shared.content_type,
        "size": shared.size,
        "role": shared.role,
        "sender": shared.sender,
        "at": shared.uploaded_at.isoformat(),
    }


def _record(
    room: Room, kind: str, who: Uploader, now: dt.datetime, details: dict[str, object]
) -> None:
    RoomEvent.objects.create(
        room=room, kind=kind, role=who.role, user_id=who.user_id, details=details, at=now
    )
