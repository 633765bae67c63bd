"""A recording's tracks are kept as encrypted chunks that decode back to the media written, a
track cut short by a crash still plays up to its last chunk, and rotating the keys keeps every
recording readable."""

from __future__ import annotations

import fractions
import io
import time
from pathlib import Path

import av
import pytest
from cryptography.fernet import Fernet

from finestreta.recordings import storage
from finestreta.recordings.models import Chunk, Track
from finestreta.recordings.tests.conftest import make_recording
from tests.personas import Personas

EBML = b"\x1a\x45\xdf\xa3"  # the first bytes of every WebM (Matroska) file


def video_frame(index: int, width: int = 640, height: int = 480) -> av.VideoFrame:
    frame = av.VideoFrame(width=width, height=height, format="yuv420p")
    for plane in frame.planes:
        plane.update(bytes([(index * 7) % 255]) * plane.buffer_size)
    frame.pts, frame.time_base = index * 3000, fractions.Fraction(1, 90000)
    return frame


def audio_frame(index: int) -> av.AudioFrame:
    frame = av.AudioFrame(format="s16", layout="stereo", samples=960)
    frame.planes[0].update(bytes(frame.planes[0].buffer_size))
    frame.sample_rate = 48000
    frame.pts, frame.time_base = index * 960, fractions.Fraction(1, 48000)
    return frame


def write_seconds(
    writer: storage.TrackWriter, seconds: float, *, start: float = 0.0, close: bool = True
) -> None:
    """Feed the writer `seconds` of media, as if it arrived in real time from `start`."""
    if writer.kind == Track.Kind.VIDEO:
        for index in range(int(seconds * 30)):
            writer.write(video_frame(index), writer.clock + start + index / 30)
    else:
        for index in range(int(seconds * 50)):
            writer.write(audio_frame(index), writer.clock + start + index / 50)
    if close:
        writer.close()


def test_a_track_is_kept_encrypted_in_chunks_that_decode_to_the_media_written(
    personas: Personas, settings: pytest.FixtureRequest, recordings_dir: Path
) -> None:
    settings.RECORDING_CHUNK_SECONDS = 0  # type: ignore[attr-defined]  # every write seals
    recording = make_recording(personas)
    video = storage.TrackWriter(
        recording, peer="p_1", role="citizen", name="Núria", kind="video", clock=100.0
    )
    write_seconds(video, 4)
    track = Track.objects.get(recording=recording, kind="video")
    assert track.chunks == Chunk.objects.filter(track=track).count() > 3
    # On disk: nothing a media player (or anyone without the key) could read.
    files = sorted(recordings_dir.rglob("*.bin"))
    assert len(files) == track.chunks
    for path in files:
        content = path.read_bytes()
        assert EBML not in content and b"webm" not in content
        with pytest.raises(av.error.FFmpegError):
            av.open(io.BytesIO(content), mode="r")
    media = storage.read_track(track)
    assert media.startswith(EBML) and len(media) == track.size
    assert storage.duration_of(media) == pytest.approx(4, abs=0.3)
    source = av.open(io.BytesIO(media))
    assert source.streams.video[0].codec_context.name == "vp8"
    # At most RECORDING_MAX_FPS pictures a second are kept.
    assert sum(1 for _ in source.decode(video=0)) == pytest.approx(4 * 15, abs=3)


def test_a_participants_sound_and_picture_play_as_one_file_from_the_start(
    personas: Personas,
) -> None:
    recording = make_recording(personas)
    clock = 1000.0
    audio = storage.TrackWriter(
        recording, peer="p_1", role="citizen", name="Núria", kind="audio", clock=clock
    )
    video = storage.TrackWriter(
        recording, peer="p_1", role="citizen", name="Núria", kind="video", clock=clock
    )
    write_seconds(audio, 3, start=5.0)
    write_seconds(video, 3, start=5.2)
    tracks = list(Track.objects.filter(recording=recording))
    assert {t.offset_ms for t in tracks} == {5000, 5200}
    handle = storage.participant_temporary_file(tracks)
    source = av.open(handle)
    assert {s.type for s in source.streams} == {"audio", "video"}
    assert source.duration is not None  # an index: the player can seek
    assert source.duration / av.time_base == pytest.approx(3.2, abs=0.3)
    frames = list(source.decode(video=0))
    assert float(frames[0].pts * frames[0].time_base) == pytest.approx(0.2, abs=0.1)


def test_a_track_cut_by_a_crash_plays_up_to_its_last_chunk(
    personas: Personas, settings: pytest.FixtureRequest
) -> None:
    settings.RECORDING_CHUNK_SECONDS = 1  # type: ignore[attr-defined]
    recording = make_recording(personas)
    video = storage.TrackWriter(
        recording, peer="p_1", role="citizen", name="Núria", kind="video", clock=0.0
    )
    # Real time passes while the frames come, so the sink seals a chunk every second or so.
    for index in range(60):
        video.write(video_frame(index), index / 30)
        time.sleep(1 / 30)
    # The server dies here: no closing of the file, the buffer since the last chunk is lost.
    track = Track.objects.get(recording=recording)
    assert track.chunks >= 1 and track.ended_at is None
    media = storage.read_track(track)
    assert 0.5 <= storage.duration_of(media) <= 2.0
    assert storage.participant_temporary_file([track]).read(4) == EBML


def test_rotating_the_keys_keeps_old_recordings_readable_and_leaves_the_old_key_unneeded(
    personas: Personas, settings: pytest.FixtureRequest
) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.RECORDING_KEYS = [old]  # type: ignore[attr-defined]
    recording = make_recording(personas)
    audio = storage.TrackWriter(
        recording, peer="p_1", role="staff", name="Jordi", kind="audio", clock=0.0
    )
    write_seconds(audio, 2)
    track = Track.objects.get(recording=recording)
    before = storage.read_track(track)

    settings.RECORDING_KEYS = [new, old]  # type: ignore[attr-defined]  # a new key goes first
    assert storage.read_track(track) == before
    from django.core.management import call_command

    out = io.StringIO()
    call_command("rotate_recording_keys", stdout=out)
    assert "1 recording" in out.getvalue()

    settings.RECORDING_KEYS = [new]  # type: ignore[attr-defined]  # the old key is retired
    assert storage.read_track(track) == before
    settings.RECORDING_KEYS = [old]  # type: ignore[attr-defined]
    with pytest.raises(storage.Damaged):
        storage.read_track(track)


def test_an_altered_or_missing_chunk_is_reported_not_played(
    personas: Personas, recordings_dir: Path
) -> None:
    recording = make_recording(personas)
    audio = storage.TrackWriter(
        recording, peer="p_1", role="staff", name="Jordi", kind="audio", clock=0.0
    )
    write_seconds(audio, 1)
    track = Track.objects.get(recording=recording)
    (path,) = recordings_dir.rglob("*.bin")
    sealed = bytearray(path.read_bytes())
    sealed[len(sealed) // 2] ^= 1
    path.write_bytes(bytes(sealed))
    with pytest.raises(storage.Damaged, match="altered"):
        storage.read_track(track)
    path.unlink()
    with pytest.raises(storage.Damaged, match="missing"):
        storage.read_track(track)
