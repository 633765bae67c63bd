"""Files shared in a call: checked by content, refused with a plain reason (wrong type, too big,
an archive or a decompression bomb), scanned by a real ClamAV clamd when configured, encrypted on
disk outside the web root (with key rotation), and readable only by the call's participants."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import zipfile
import zlib
from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, PngImagePlugin

from finestreta.accounts.models import Membership
from finestreta.appointments.services import join_token
from finestreta.video import files, services
from finestreta.video.models import Role, Room, RoomEvent, SharedFile
from tests import processes
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
        (b"\x7fELF\x02\x01\x01" + b"\x00" * 200, "form.pdf", "type"),  # a Linux one
        (b"<!DOCTYPE html><html><script>alert(1)</script></html>", "form.pdf", "type"),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "a.png",
            "type",
        ),
        (b"GIF89a" + b"\x00" * 100, "photo.jpg", "type"),  # a picture, of a kind not taken
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


# --- Archives ------------------------------------------------------------------------------


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def zip_bomb() -> bytes:
    """64 MB of zeros in one entry, about 60 KB on the wire, zipped again (nested)."""
    inner = zip_bytes({"scan.pdf": bytes(64 * 1024 * 1024)})
    return zip_bytes({"scans.zip": inner, "more.zip": inner})


def docx() -> bytes:
    """The parts filetype and Word look for: an office document is a ZIP archive."""
    return zip_bytes(
        {
            "[Content_Types].xml": b'<?xml version="1.0"?><Types/>',
            "word/document.xml": b'<?xml version="1.0"?><document/>',
        }
    )


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (zip_bomb, "bomb.zip"),
        (zip_bomb, "form.pdf"),  # the same bomb named as a PDF
        (docx, "letter.docx"),
        (lambda: gzip.compress(bytes(16 * 1024 * 1024)), "scan.pdf.gz"),
        (lambda: zip_bytes({"a.pdf": PDF}), "a.png"),
    ],
)
def test_archives_and_office_documents_are_refused_as_the_wrong_type_whatever_their_name(
    room, make, name
) -> None:  # type: ignore[no-untyped-def]
    """No archive format is accepted (files.py's docstring): a decompression bomb is refused by
    its first bytes, before anything is unpacked."""
    with pytest.raises(files.FileRefused) as refused:
        share(room, make(), name)
    assert refused.value.code == "type"
    assert not SharedFile.objects.exists()


# --- ClamAV ---------------------------------------------------------------------------------

# Above the platform's default limit, so that every file it accepts reaches the engine whole.
CLAMD_STREAM_MAX = 11 * 1024 * 1024


@pytest.fixture(scope="module")
def clamd_addresses() -> Iterator[dict[str, str]]:
    """A real clamd for this module (it starts in well under a second with our database).

    The engine is ClamAV's own; only its signature database is local: one body signature for
    the EICAR test file, because the official database is downloaded from the network, which
    these machines do not reach (tests/processes.py)."""
    with processes.clamd(
        {"Finestreta.Test.EICAR": EICAR}, stream_max_bytes=CLAMD_STREAM_MAX
    ) as addresses:
        yield addresses


@pytest.fixture
def clamd(settings, clamd_addresses) -> dict[str, str]:  # type: ignore[no-untyped-def]
    settings.VIDEO_CLAMD = clamd_addresses["tcp"]
    return clamd_addresses


@pytest.mark.parametrize("transport", ["tcp", "unix"])
def test_the_real_clamd_finds_the_bare_eicar_test_file(clamd, settings, transport) -> None:  # type: ignore[no-untyped-def]
    settings.VIDEO_CLAMD = clamd[transport]
    with pytest.raises(files.FileRefused) as refused:
        files.scan(EICAR)
    assert refused.value.code == "virus"
    files.scan(PDF)  # clean: no refusal


def test_the_bare_eicar_file_is_refused_before_the_scan_as_it_is_no_accepted_type(
    room, clamd
) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(files.FileRefused) as refused:
        share(room, EICAR, "eicar.pdf")
    assert refused.value.code == "type"


def pdf_with_a_compressed_stream(data: bytes) -> bytes:
    stream = zlib.compress(data)
    return (
        b"%PDF-1.4\n1 0 obj<</Length " + str(len(stream)).encode() + b"/Filter/FlateDecode>>"
        b"stream\n" + stream + b"\nendstream\nendobj\ntrailer<<>>\n%%EOF\n"
    )


def png_with_text(text: bytes) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", text.decode())
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (0, 90, 156)).save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


def jpeg_with_comment(comment: bytes) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (0, 90, 156)).save(buffer, "JPEG", comment=comment)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "mime"),
    [
        (PDF.replace(b"trailer", EICAR + b"\ntrailer"), "application/pdf"),
        # Deflated inside a PDF stream: not in the file's bytes, found because clamd unpacks it.
        (pdf_with_a_compressed_stream(EICAR), "application/pdf"),
        (png_with_text(EICAR), "image/png"),
        (jpeg_with_comment(EICAR), "image/jpeg"),
    ],
    ids=["pdf", "pdf-compressed-stream", "png-text-chunk", "jpeg-comment"],
)
def test_eicar_inside_an_otherwise_valid_file_is_refused_as_a_virus_by_the_real_clamd(
    room, clamd, content, mime
) -> None:  # type: ignore[no-untyped-def]
    assert files.check_content(content) == mime  # it would be kept if clamd did not find it
    with pytest.raises(files.FileRefused) as refused:
        share(room, content)
    assert refused.value.code == "virus"
    assert not SharedFile.objects.exists()
    assert RoomEvent.objects.filter(kind="file_refused", details__reason="virus").exists()


def test_eicar_in_a_compressed_pdf_stream_is_not_in_the_file_s_bytes() -> None:
    assert EICAR not in pdf_with_a_compressed_stream(EICAR)


def test_with_the_real_clamd_clean_files_are_kept(room, clamd, settings) -> None:  # type: ignore[no-untyped-def]
    assert share(room, PDF).size == len(PDF)
    assert share(room, pdf_with_a_compressed_stream(b"Sol.licitud de certificat")).pk
    settings.VIDEO_CLAMD = clamd["unix"]
    assert share(room, png(), "foto.png").content_type == "image/png"
    assert SharedFile.objects.count() == 3


def test_a_file_larger_than_clamd_takes_is_refused_not_kept_unscanned(
    room, clamd, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.VIDEO_FILE_MAX_BYTES = 2 * CLAMD_STREAM_MAX  # a platform limit set above clamd's
    big = PDF.replace(b"trailer", b"0" * (CLAMD_STREAM_MAX + 1) + b"\ntrailer")
    with pytest.raises(files.FileRefused) as refused:
        share(room, big)
    assert refused.value.code == "scan_failed"
    assert not SharedFile.objects.exists()


@pytest.mark.parametrize("transport", ["tcp", "unix"])
def test_a_scanner_that_does_not_answer_refuses_the_file(
    room, settings, tmp_path, transport
) -> None:  # type: ignore[no-untyped-def]
    settings.VIDEO_CLAMD = {  # nobody listens
        "tcp": f"tcp:127.0.0.1:{processes.free_port()}",
        "unix": f"unix:{tmp_path}/no-clamd.sock",
    }[transport]
    with pytest.raises(files.FileRefused) as refused:
        share(room, PDF)
    assert refused.value.code == "scan_failed"
    assert not SharedFile.objects.exists()


def test_upload_and_download_over_http_for_the_call_s_participants_only(
    personas, room, client, clamd
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

    infected = SimpleUploadedFile("justificant.pdf", pdf_with_a_compressed_stream(EICAR))
    refused = client.post(f"/org-a/video/{token}/files/", {"file": infected})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "virus"
    assert SharedFile.objects.count() == 1
