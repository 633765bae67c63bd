"""Where recordings are kept and how they are read back (ADR 28).

A track's media is a WebM stream written by PyAV into a `ChunkSink`: a write-only, unseekable
file, so that FFmpeg's Matroska muxer writes "live" WebM (clusters one after another, no index to
patch at the end). Every RECORDING_CHUNK_SECONDS the sink seals what it holds as one chunk: the
bytes encrypted with the first of RECORDING_KEYS (Fernet: AES-128-CBC and HMAC-SHA256) into a
file of its own, renamed into place once complete, and a `Chunk` row. The plain media of a track
is its chunks decrypted and joined in order; a server that dies mid-call leaves every chunk
sealed before it, and those decode (a crash loses the seconds since the last chunk).

Playing back joins a participant's sound and picture tracks into one WebM file with an index,
copying the encoded packets (no re-encoding), on a temporary file.
"""

from __future__ import annotations

import fractions
import hashlib
import io
import os
import tempfile
import time
from pathlib import Path
from typing import IO, Any

import av
from cryptography.fernet import InvalidToken, MultiFernet
from django.conf import settings
from django.db.models import F
from django.utils import timezone

from finestreta.lib.keys import fernet_keys
from finestreta.recordings.models import Chunk, Recording, Track

MAX_CHUNK_BYTES = 8 * 1024 * 1024
MILLISECONDS = fractions.Fraction(1, 1000)


class NotConfigured(Exception):
    """No RECORDING_KEYS in production: nothing is recorded unencrypted."""


class Damaged(Exception):
    """A chunk is missing, altered or encrypted with a key no longer configured."""


def keys() -> MultiFernet:
    found = fernet_keys(settings.RECORDING_KEYS, "finestreta.recordings")
    if found is None:
        raise NotConfigured
    return found


def directory(recording: Recording) -> Path:
    return Path(settings.RECORDINGS_DIR) / recording.storage_id.hex


def chunk_path(recording: Recording, chunk: Chunk) -> Path:
    return directory(recording) / f"{chunk.track_id}-{chunk.seq:06d}.bin"


def _write_atomically(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_suffix(".part")
    with open(temporary, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


class ChunkSink(io.RawIOBase):
    """The file PyAV writes one track into: sealed as an encrypted chunk every few seconds."""

    def __init__(self, track: Track, fernet: MultiFernet) -> None:
        super().__init__()
        self.track = track
        self.fernet = fernet
        self.buffer = bytearray()
        self.sealed_at = time.monotonic()
        self.seq = 0

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def write(self, data: Any) -> int:
        self.buffer += data
        due = time.monotonic() - self.sealed_at >= settings.RECORDING_CHUNK_SECONDS
        if due or len(self.buffer) >= MAX_CHUNK_BYTES:
            self.seal()
        return len(data)

    def seal(self) -> None:
        """Keep what is buffered as the next chunk: the file first, then its row."""
        self.sealed_at = time.monotonic()
        if not self.buffer:
            return
        plain = bytes(self.buffer)
        self.buffer.clear()
        sealed = self.fernet.encrypt(plain)
        chunk = Chunk(
            track=self.track,
            seq=self.seq,
            size=len(plain),
            sha256=hashlib.sha256(sealed).hexdigest(),
            written_at=timezone.now(),
        )
        _write_atomically(chunk_path(self.track.recording, chunk), sealed)
        chunk.save()
        Track.objects.filter(pk=self.track.pk).update(
            chunks=F("chunks") + 1, size=F("size") + len(plain)
        )
        self.seq += 1


class TrackWriter:
    """Encodes one participant's sound or picture into its track (VP8 or Opus in WebM). Runs in
    a thread of its own: encoding is CPU work that must not hold up the server's event loop.
    Every frame is stamped on the recording's clock (milliseconds since it started), so that
    all tracks of a recording line up."""

    def __init__(
        self,
        recording: Recording,
        *,
        peer: str,
        role: str,
        name: str,
        kind: str,
        clock: float,
        part: int = 0,
    ) -> None:
        self.recording = recording
        self.part = part
        self.peer, self.role, self.name, self.kind = peer, role, name, kind
        self.clock = clock
        self.fernet = keys()
        self.track: Track | None = None
        self.sink: ChunkSink | None = None
        self.container: Any = None
        self.stream: Any = None
        self.last_pts = -1
        self.kept_at = 0.0
        self.samples = 0

    def _open(self, first: Any, arrived: float) -> None:
        offset = max(0, int((arrived - self.clock) * 1000))
        self.track = Track.objects.create(
            recording=self.recording,
            peer=self.peer,
            role=self.role,
            name=self.name,
            kind=self.kind,
            part=self.part,
            offset_ms=offset,
            started_at=timezone.now(),
        )
        self.sink = ChunkSink(self.track, self.fernet)
        # Small clusters and a small I/O buffer: the muxer hands over about a second at a time
        # (the default 32 KiB buffer is eight seconds of speech), so a chunk holds what its time
        # says and a crash loses little.
        self.container = av.open(
            self.sink,
            mode="w",
            format="webm",
            buffer_size=4096,
            options={"live": "1", "cluster_time_limit": "1000"},
        )
        if self.kind == Track.Kind.VIDEO:
            width = min(first.width, settings.RECORDING_MAX_WIDTH)
            height = max(2, round(first.height * width / first.width / 2) * 2)
            width -= width % 2
            stream = self.container.add_stream("libvpx", rate=settings.RECORDING_MAX_FPS)
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            stream.bit_rate = 700_000
            stream.codec_context.time_base = MILLISECONDS
            stream.codec_context.options = {"deadline": "realtime", "cpu-used": "8"}
        else:
            stream = self.container.add_stream("libopus", rate=48000)
            stream.layout = "mono"
            stream.bit_rate = 32_000
        self.stream = stream

    def write(self, frame: Any, arrived: float) -> None:
        if self.kind == Track.Kind.VIDEO:
            if self.kept_at and arrived - self.kept_at < 0.95 / settings.RECORDING_MAX_FPS:
                return  # fewer pictures than the camera sends: enough for evidence
            self.kept_at = arrived
        if self.container is None:
            self._open(frame, arrived)
        stream = self.stream
        if self.kind == Track.Kind.VIDEO:
            pts = int((arrived - self.clock) * 1000)
            pts = max(pts, self.last_pts + 1)
            self.last_pts = pts
            frame = frame.reformat(width=stream.width, height=stream.height, format="yuv420p")
            frame.pts, frame.time_base = pts, MILLISECONDS
        else:
            # Sound keeps its own sample clock (a picture can wait, samples cannot overlap);
            # after a gap (lost packets), it jumps to the wall clock again.
            rate = frame.sample_rate or 48000
            wall = int((arrived - self.clock) * rate)
            if self.samples == 0 or wall - self.samples > rate // 2:
                self.samples = wall
            frame.pts, frame.time_base = self.samples, fractions.Fraction(1, rate)
            self.samples += frame.samples
        for packet in stream.encode(frame):
            self.container.mux(packet)

    def close(self) -> None:
        if self.container is not None:
            for packet in self.stream.encode(None):
                self.container.mux(packet)
            self.container.close()
        if self.sink is not None:
            self.sink.seal()
        if self.track is not None:
            Track.objects.filter(pk=self.track.pk).update(ended_at=timezone.now())


# --- Reading back ----------------------------------------------------------------------------


def read_track(track: Track, fernet: MultiFernet | None = None) -> bytes:
    """The plain media of a track: its chunks decrypted, checked and joined in order."""
    fernet = fernet or keys()
    recording = track.recording
    parts: list[bytes] = []
    for expected, chunk in enumerate(Chunk.objects.filter(track=track).order_by("seq")):
        if chunk.seq != expected:
            raise Damaged(f"chunk {expected} of track {track.pk} is missing")
        try:
            sealed = chunk_path(recording, chunk).read_bytes()
        except FileNotFoundError:
            raise Damaged(f"chunk {chunk.seq} of track {track.pk} is missing") from None
        if hashlib.sha256(sealed).hexdigest() != chunk.sha256:
            raise Damaged(f"chunk {chunk.seq} of track {track.pk} was altered")
        try:
            parts.append(fernet.decrypt(sealed))
        except InvalidToken:
            raise Damaged(f"chunk {chunk.seq} of track {track.pk} cannot be decrypted") from None
    return b"".join(parts)


def participant_file(tracks: list[Track], out: IO[bytes]) -> None:
    """One participant's sound and picture (tracks of one connection) as one WebM file with an
    index, starting at 0: packets copied, not re-encoded. A track cut short by a crash is read
    as far as it goes."""
    start = min(track.offset_ms for track in tracks)
    inputs = []
    try:
        output = av.open(out, mode="w", format="webm")
        pairs = []
        for track in tracks:
            source = av.open(io.BytesIO(read_track(track)), mode="r", format="webm")
            inputs.append(source)
            in_stream = source.streams[0]
            pairs.append((source, in_stream, output.add_stream_from_template(in_stream)))
        packets = []
        for source, in_stream, out_stream in pairs:
            try:
                for packet in source.demux(in_stream):
                    if packet.pts is None or packet.dts is None or packet.size == 0:
                        continue
                    packets.append((float(packet.pts * packet.time_base), packet, out_stream))
            except av.error.InvalidDataError:
                pass  # the end of a track cut short
        shift = start / 1000
        for _seconds, packet, out_stream in sorted(packets, key=lambda item: item[0]):
            base = packet.time_base
            moved = int(round(shift / base)) if base else 0
            pts, dts = packet.pts, packet.dts
            if pts is None or dts is None or pts - moved < 0:
                continue
            packet.pts, packet.dts = pts - moved, dts - moved
            packet.stream = out_stream
            output.mux(packet)
        output.close()
    finally:
        for source in inputs:
            source.close()


def participant_temporary_file(tracks: list[Track]) -> IO[bytes]:
    """As `participant_file`, on an anonymous temporary file rewound for reading."""
    handle = tempfile.TemporaryFile()  # noqa: SIM115 - the response closes it
    participant_file(tracks, handle)
    handle.seek(0)
    return handle


def duration_of(media: IO[bytes] | bytes) -> float:
    """Seconds of media in a WebM file (the last packet's end)."""
    source = av.open(io.BytesIO(media) if isinstance(media, bytes) else media, mode="r")
    last = 0.0
    try:
        for stream in source.streams:
            for packet in source.demux(stream):
                if packet.pts is not None:
                    end = float((packet.pts + (packet.duration or 0)) * packet.time_base)
                    last = max(last, end)
    except av.error.InvalidDataError:
        pass
    finally:
        source.close()
    return last


def delete_files(recording: Recording) -> None:
    folder = directory(recording)
    if folder.exists():
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()


def rotate(recording: Recording, fernet: MultiFernet) -> int:
    """Re-encrypt every chunk of a recording under the first key; returns how many."""
    done = 0
    for chunk in Chunk.objects.filter(track__recording=recording).select_related("track"):
        path = chunk_path(recording, chunk)
        sealed = path.read_bytes()
        if hashlib.sha256(sealed).hexdigest() != chunk.sha256:
            raise Damaged(f"chunk {chunk.seq} of track {chunk.track_id} was altered")
        again = fernet.rotate(sealed)
        _write_atomically(path, again)
        Chunk.objects.filter(pk=chunk.pk).update(sha256=hashlib.sha256(again).hexdigest())
        done += 1
    return done
