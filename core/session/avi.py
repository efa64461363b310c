"""Session videos: the append-only MJPEG-in-AVI writer, counting the frames of a video (also one cut off by a
crash), rewriting its index, and reading its codec, all through PyAV. No Qt.

Units: pixels (frame sizes), frames per second.
"""

from __future__ import annotations

import contextlib
import os
from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from core.atomic import atomic_output
from core.errors import InputError, SessionError
from core.session.layout import JPEG_QUALITY, VIDEO_CODEC, VIDEO_CONTAINER, Opener, keep_os_error, open_append


def load_av() -> Any:
    """PyAV (FFmpeg bindings), which writes and reads session videos; SessionError when it is not installed."""
    try:
        import av
    except ImportError as exc:
        raise SessionError(
            f"PyAV is not installed ({exc}); sessions need it to write and read videos. Install it: pip install av"
        ) from None
    return av


class MjpegAviWriter:
    """Append-only MJPEG-in-AVI writer: each frame is one JPEG (libjpeg-turbo), muxed by PyAV with
    ``flush_packets`` into an unbuffered file, so every frame reaches the OS as soon as :meth:`write` returns.

    A file cut off by a kill or a full disk is readable by OpenCV and PyAV up to the last complete frame
    (AVI demuxers scan the ``movi`` list when the index is missing). :meth:`close` writes the index.
    ``opener(path)`` makes the binary file (tests inject failures through it). Raises OSError on write errors.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        width: int,
        height: int,
        fps: float,
        quality: int = JPEG_QUALITY,
        opener: Opener | None = None,
    ) -> None:
        av = load_av()
        self.path = Path(path)
        self.size = (int(width), int(height))
        self.quality = int(quality)
        self.frames = 0
        self._av = av
        self._file = (opener or open_append)(self.path)
        try:
            self._container = av.open(self._file, "w", format=VIDEO_CONTAINER, options={"flush_packets": "1"})
            rate = Fraction(fps).limit_denominator(1001) if fps > 0 else Fraction(30)
            self._stream = self._container.add_stream(VIDEO_CODEC, rate=rate)
            self._stream.width, self._stream.height = self.size
            self._stream.pix_fmt = "yuvj420p"
            self._time_base = Fraction(1) / rate
        except Exception:
            self._file.close()
            raise
        self._closed = False

    def encode(self, image: np.ndarray) -> bytes:
        """JPEG bytes of a BGR ``(H, W, 3)`` uint8 image (may run in any thread)."""
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if not ok:
            raise InputError("a frame could not be encoded as JPEG")
        return buf.tobytes()

    def write_jpeg(self, jpeg: bytes) -> int:
        """Append one encoded frame; returns its size in bytes."""
        pkt = self._av.Packet(jpeg)
        pkt.stream = self._stream
        pkt.pts = pkt.dts = self.frames
        pkt.time_base = self._time_base
        pkt.is_keyframe = True
        self._container.mux(pkt)
        self.frames += 1
        return len(jpeg)

    def write(self, image: np.ndarray) -> int:
        """Encode and append one BGR frame of this writer's size; returns the JPEG size in bytes."""
        h, w = image.shape[:2]
        if (w, h) != self.size:
            raise InputError(f"frame of {w}x{h} px given to a {self.size[0]}x{self.size[1]} video '{self.path}'.")
        return self.write_jpeg(self.encode(image))

    def close(self) -> None:
        """Write the AVI index and close (best effort: the file stays readable without it)."""
        if self._closed:
            return
        self._closed = True
        try:
            self._container.close()
        finally:
            with contextlib.suppress(OSError):
                self._file.close()


def _mjpeg_complete(data: bytes) -> bool:
    """A JPEG ends with the EOI marker (trailing padding allowed)."""
    return data.rstrip(b"\x00").endswith(b"\xff\xd9")


def count_video_frames(path: str | os.PathLike, check_last: bool = True) -> int:
    """Frames in a video by demuxing (no decoding): fast even for long files and for files cut off by a crash.

    For MJPEG the last frame counts only when complete (``check_last``). InputError if unreadable.
    """
    av = load_av()
    path = Path(path)
    if not path.is_file():
        raise InputError(f"video '{path}' does not exist.")
    n = 0
    last: bytes | None = None
    mjpeg = False
    try:
        with av.open(str(path)) as c:
            if not c.streams.video:
                raise InputError(f"'{path}' holds no video stream.")
            stream = c.streams.video[0]
            mjpeg = stream.codec_context.name == "mjpeg"
            for pkt in c.demux(stream):
                if pkt.size:
                    n += 1
                    if mjpeg and check_last:
                        last = bytes(pkt)
    except InputError:
        raise
    except Exception as exc:  # av.error.* on a damaged header
        if n == 0:
            raise InputError(f"video '{path}' cannot be read ({exc}); the file is damaged or not a video.") from None
    if mjpeg and check_last and last is not None and not _mjpeg_complete(last):
        n -= 1
    return n


def remux_video(src: Path, n_frames: int) -> None:
    """Rewrite an MJPEG/AVI video with its first ``n_frames`` packets into a finalised container (index written),
    in place.

    Packet copy, no re-encoding. Written to a temporary file and renamed, so a failure leaves ``src`` as it was.
    """
    av = load_av()
    with (
        atomic_output(src, error=keep_os_error, mkdir=False) as tmp,  # type: ignore[arg-type]
        av.open(str(src)) as inp,
    ):
        s_in = inp.streams.video[0]
        with av.open(str(tmp), "w", format=VIDEO_CONTAINER) as out:
            s_out = out.add_stream_from_template(s_in)
            k = 0
            for pkt in inp.demux(s_in):
                if not pkt.size:
                    continue
                if k >= n_frames:
                    break
                pkt.stream = s_out
                out.mux(pkt)
                k += 1


def video_codec(path: Path) -> str:
    """The codec of a video's first stream as FFmpeg names it (``h264``, ``mjpeg``...), ``unknown`` if unreadable."""
    av = load_av()
    try:
        with av.open(str(path)) as c:
            return str(c.streams.video[0].codec_context.name)
    except Exception:
        return "unknown"
