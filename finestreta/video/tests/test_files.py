"""Files shared in a call: checked by content, refused with a plain reason, scanned by a clamd
when configured, encrypted on disk outside the web root (with key rotation), and readable only by
the call's participants."""

from __future__ import annotations

import datetime as dt
import io
import socketserver
import struct
import threading
from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from finestreta.accounts.models import Membership
from finestreta.appointments.services import join_token
from finestreta.video import files, services
from finestreta.video.models import Role, Room, RoomEvent, SharedFile
from tests.factories import AppointmentFactory
from tests.personas import log_in

NOW = dt.datetime(2026, 12, 1, 9, 5, tzinfo=dt.UTC)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
CITIZEN = files.Uploader(role=Role.CITIZEN, name="Núria Vidal")


def png(width: int = 40, height: int = 30) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (0, 90, 156)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def storage(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.VIDEO_FILES_DIR = tmp_path / "files"
    settings.VIDEO_FILE_KEYS = [Fernet.generate_key().decode()]
    return settings.VIDEO_FILES_DIR


@pytest.fixture
def room(personas) -> Room:  # type: ignore[no-untyped-def]
    appointment = AppointmentFactory(
        agent=Membership.objects.get(user=personas.agent_a),
        service=personas.service_a,
        starts_at=dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC),
    )
    room = services.get_room(appointment)
    room.citizen_admitted_at = NOW
    room.save()
    return room


def share(room: Room, content: bytes, name: str = "document.pdf") -> SharedFile:
    return files.share_file(
        room=room, uploader=CITIZEN, upload=io.BytesIO(content), name=name, now=NOW
    )


@pytest.mark.parametrize(
    ("content", "name", "code"),
    [
        (b"MZ\x90\x00" + b"\x00" * 200, "form.pdf", "type"),  # a program named as a PDF
        (b"Just some text", "notes.png", "type"),
        (b"%PDF-1.4\nno end", "cut.pdf", "damaged"),
        (png()[:60], "cut.png", "damaged"),
        (b"", "empty.pdf", "empty"),
    ],
)
def test_a_file_is_judged_by_its_content_not_its_name(room, content, name, code) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(files.FileRefused) as refused:
        share(room, content, name)
    assert refused.value.code == code
    assert not SharedFile.objects.exists()
    assert RoomEvent.objects.filter(kind="file_refused", details__reason=code).exists()


def test_too_large_files_and_decompression_bombs_are_refused(room, settings) -> None:  # type: ignore[no-untyped-def]
    settings.VIDEO_FILE_MAX_BYTES = 1000
    with pytest.raises(files.FileRefused) as refused:
        share(room, PDF + b"x" * 2000)
    assert refused.value.code == "too_big"
    settings.VIDEO_FILE_MAX_BYTES = 10_000_000
    with pytest.raises(files.FileRefused) as refused:
        share(room, png(9000, 9000), "bomb.png")  # 81 megapixels of one colour, a few KB
    assert refused.value.code == "too_big"


def test_a_kept_file_is_encrypted_on_disk_named_by_its_content_and_reads_back(
    room, storage, settings
) -> None:  # type: ignore[no-untyped-def]
    picture = png()
    shared = share(room, picture, "../../etc/passwd photo.JPG")
    assert shared.content_type == "image/png" and shared.name == "passwd photo.png"
    on_disk = storage / shared.storage_name
    assert on_disk.is_file() and oct(on_disk.stat().st_mode)[-3:] == "600"
    assert picture not in on_disk.read_bytes() and b"PNG" not in on_disk.read_bytes()
    assert files.read_file(shared, reader=CITIZEN, now=NOW) == picture

    # Rotation: a new key first, the old one kept, reads; without the old one, it does not.
    old = settings.VIDEO_FILE_KEYS[0]
    settings.VIDEO_FILE_KEYS = [Fernet.generate_key().decode(), old]
    assert files.read_file(shared, reader=CITIZEN, now=NOW) == picture
    settings.VIDEO_FILE_KEYS = settings.VIDEO_FILE_KEYS[:1]
    with pytest.raises(files.FileRefused):
        files.read_file(shared, reader=CITIZEN, now=NOW)


def test_the_citizen_shares_only_once_admitted_and_never_after_the_end(room) -> None:  # type: ignore[no-untyped-def]
    room.citizen_admitted_at = None
    room.save()
    with pytest.raises(files.FileRefused) as refused:
        share(room, PDF)
    assert refused.value.code == "not_in_call"
    room.state = Room.State.ENDED
    room.save()
    with pytest.raises(files.FileRefused) as refused:
        share(room, PDF)
    assert refused.value.code == "ended"


class FakeClamd(socketserver.BaseRequestHandler):
    """Stands in for ClamAV's clamd, which cannot run here (its virus database is downloaded
    from the network): it speaks clamd's INSTREAM protocol and reports the EICAR test string
    as found, as clamd does."""

    def handle(self) -> None:
        command = b""
        while not command.endswith(b"\0"):
            command += self.request.recv(1)
        assert command == b"zINSTREAM\0"
        content = b""
        while True:
            (length,) = struct.unpack("!L", self._exactly(4))
            if not length:
                break
            content += self._exactly(length)
        verdict = b"stream: Eicar-Signature FOUND\0" if EICAR in content else b"stream: OK\0"
        self.request.sendall(verdict)

    def _exactly(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            data += self.request.recv(size - len(data))
        return data


@pytest.fixture
def clamd(settings) -> Iterator[None]:  # type: ignore[no-untyped-def]
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), FakeClamd)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.VIDEO_CLAMD = f"tcp:127.0.0.1:{server.server_address[1]}"
    yield
    server.shutdown()
    server.server_close()


def test_with_clamd_configured_a_virus_is_refused_and_a_clean_file_kept(room, clamd) -> None:  # type: ignore[no-untyped-def]
    infected = PDF.replace(b"trailer", EICAR + b"\ntrailer")
    with pytest.raises(files.FileRefused) as refused:
        share(room, infected)
    assert refused.value.code == "virus"
    assert share(room, PDF).size == len(PDF)


def test_a_scanner_that_does_not_answer_refuses_the_file(room, settings) -> None:  # type: ignore[no-untyped-def]
    from tests.processes import free_port

    settings.VIDEO_CLAMD = f"tcp:127.0.0.1:{free_port()}"  # nobody listens
    with pytest.raises(files.FileRefused) as refused:
        share(room, PDF)
    assert refused.value.code == "scan_failed"


def test_upload_and_download_over_http_for_the_call_s_participants_only(
    personas, room, client
) -> None:  # type: ignore[no-untyped-def]
    token = join_token(room.appointment)
    upload = SimpleUploadedFile("justificant.pdf", PDF, content_type="application/pdf")
    response = client.post(f"/org-a/video/{token}/files/", {"file": upload})
    assert response.status_code == 201, response.content
    file_id = response.json()["file"]["id"]
    assert response.json()["file"]["name"] == "justificant.pdf"

    download = client.get(f"/org-a/video/{token}/files/{file_id}/")
    assert download.status_code == 200 and download.content == PDF
    assert download["Content-Disposition"] == 'attachment; filename="justificant.pdf"'
    assert download["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in download["Content-Security-Policy"]

    agent = log_in(personas.agent_a)
    staff_path = f"/org-a/staff/video/{room.public_id}/files/{file_id}/"
    assert agent.get(staff_path).content == PDF
    assert log_in(personas.agent_b).get(staff_path).status_code == 404  # another organisation
    assert client.get(f"/org-b/video/{token}/files/{file_id}/").status_code == 404

    bad = SimpleUploadedFile("virus.pdf", b"MZ" + b"\x00" * 100)
    refused = agent.post(f"/org-a/staff/video/{room.public_id}/files/", {"file": bad})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "type"
    assert client.post(f"/org-a/video/{token}/files/", {}).json()["error"]["code"] == "no_file"
