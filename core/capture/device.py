"""Real cameras: :class:`DeviceSource` through ``cv2.VideoCapture`` with the platform's best backend (V4L2,
DirectShow, MSMF, AVFoundation), and :func:`list_devices`."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from core.capture.base import CameraSource
from core.capture.frame import DeviceLostError, FrameReadError, as_bgr, quiet_opencv
from core.errors import CameraError, InputError


@dataclass(frozen=True)
class DeviceInfo:
    """A camera device that can be opened with ``DeviceSource(index)``; ``backend`` is the OpenCV backend name."""

    index: int
    name: str
    backend: str


class VideoCaptureLike(Protocol):
    """The subset of ``cv2.VideoCapture`` used by :class:`DeviceSource` (fakes implement this in tests)."""

    def isOpened(self) -> bool: ...

    def set(self, prop: int, value: float) -> bool: ...

    def get(self, prop: int) -> float: ...

    def grab(self) -> bool: ...

    def retrieve(self) -> tuple[bool, np.ndarray | None]: ...

    def release(self) -> None: ...


Opener = Callable[[int, int], VideoCaptureLike]

_BACKEND_NAMES = {
    cv2.CAP_ANY: "ANY",
    cv2.CAP_V4L2: "V4L2",
    cv2.CAP_DSHOW: "DSHOW",
    cv2.CAP_MSMF: "MSMF",
    cv2.CAP_AVFOUNDATION: "AVFOUNDATION",
}


def default_backend(platform: str | None = None) -> int:
    """Best OpenCV capture backend for the platform: V4L2 (Linux), DirectShow (Windows), AVFoundation (macOS).

    DirectShow is preferred to MSMF on Windows: it opens much faster and honours MJPG + resolution settings.
    """
    platform = sys.platform if platform is None else platform
    if platform.startswith("linux"):
        return cv2.CAP_V4L2
    if platform.startswith("win"):
        return cv2.CAP_DSHOW
    if platform == "darwin":
        return cv2.CAP_AVFOUNDATION
    return cv2.CAP_ANY


def backend_name(backend: int) -> str:
    return _BACKEND_NAMES.get(backend, str(backend))


def _cv2_opener(index: int, backend: int) -> VideoCaptureLike:
    return cv2.VideoCapture(index, backend)


def list_devices(max_index: int = 8, *, sysfs: str | os.PathLike = "/sys/class/video4linux") -> list[DeviceInfo]:
    """Cameras present, ``[DeviceInfo(index, name, backend)]``, sorted by index (only indices < max_index).

    Linux: read from sysfs without opening anything (metadata nodes are skipped); no sysfs -> ``[]``.
    Other platforms: probe indices 0..max_index-1 with OpenCV, quietly (names are "Camera N").
    Returns ``[]`` quickly when there is no camera.
    """
    if sys.platform.startswith("linux"):
        root = Path(sysfs)
        if not root.is_dir():
            return []
        found = [d for d in (_sysfs_device(e, max_index) for e in root.glob("video*")) if d is not None]
        return sorted(found, key=lambda d: d.index)
    return _probed_devices(max_index)


def _sysfs_device(entry: Path, max_index: int) -> DeviceInfo | None:
    """The camera of a sysfs ``video<N>`` node, or None (not a capture node, or N >= max_index)."""
    try:
        index = int(entry.name[len("video") :])
    except ValueError:
        return None
    if index >= max_index:
        return None
    idx_file = entry / "index"  # 0 = the capture node; >0 = metadata nodes of the same camera
    with contextlib.suppress(OSError, ValueError):
        if int(idx_file.read_text().strip()) != 0:
            return None
    try:
        name = (entry / "name").read_text().strip() or f"Camera {index}"
    except OSError:
        name = f"Camera {index}"
    return DeviceInfo(index, name, "V4L2")


def _probed_devices(max_index: int) -> list[DeviceInfo]:
    """Open indices 0..max_index-1 with the platform's backend, quietly; the ones that open are cameras."""
    backend = default_backend()
    found = []
    with quiet_opencv():
        for index in range(max_index):
            cap = cv2.VideoCapture(index, backend)
            try:
                if cap.isOpened():
                    found.append(DeviceInfo(index, f"Camera {index}", backend_name(backend)))
            finally:
                cap.release()
    return found


class DeviceSource(CameraSource):
    """A webcam by index through ``cv2.VideoCapture`` with the platform's best backend.

    Requested settings (``width``, ``height`` pixels, ``fps``, ``fourcc``, optional ``exposure`` in the
    driver's units) are applied on every (re)open; what the driver actually gave is in ``actual_size``
    and ``actual_fps`` after connecting. ``opener(index, backend)`` replaces ``cv2.VideoCapture`` in tests.
    """

    def __init__(
        self,
        index: int,
        name: str | None = None,
        *,
        width: int | None = 1280,
        height: int | None = 720,
        fps: float = 30.0,
        fourcc: str | None = "MJPG",
        exposure: float | None = None,
        backend: int | None = None,
        opener: Opener | None = None,
        **kwargs: object,
    ) -> None:
        if fourcc is not None and len(fourcc) != 4:
            raise InputError(f"fourcc must be 4 characters such as 'MJPG' or 'YUYV', got {fourcc!r}.")
        kwargs.setdefault("stall_timeout_s", 2.0)
        super().__init__(name or f"cam{index}", nominal_fps=fps, **kwargs)  # type: ignore[arg-type]
        self.index = int(index)
        self.width, self.height, self.fps = width, height, fps
        self.fourcc, self.exposure = fourcc, exposure
        self.backend = default_backend() if backend is None else backend
        self._opener: Opener = opener or _cv2_opener
        self._cap: VideoCaptureLike | None = None
        self.actual_size: tuple[int, int] | None = None
        self.actual_fps: float | None = None

    def _open(self) -> None:
        with quiet_opencv():
            cap = self._opener(self.index, self.backend)
        if cap is None or not cap.isOpened():
            if cap is not None:
                with contextlib.suppress(Exception):
                    cap.release()
            raise CameraError(
                f"Camera {self.index} ({backend_name(self.backend)}) could not be opened: it is not connected, was"
                " unplugged, or another program is using it. Plug it in, close other video apps, or choose another"
                f" camera index{_found_hint()}."
            )
        if self.fourcc is not None:  # before the size: V4L2 picks the size list of the format
            cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*self.fourcc))
        if self.width:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, float(self.width))
        if self.height:
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, float(self.height))
        if self.fps:
            cap.set(cv2.CAP_PROP_FPS, float(self.fps))
        if self.exposure is not None:
            manual = 1.0 if self.backend == cv2.CAP_V4L2 else 0.25  # V4L2: 1 = manual; DSHOW/MSMF: 0.25 = manual
            cap.set(cv2.CAP_PROP_AUTO_EXPOSURE, manual)
            cap.set(cv2.CAP_PROP_EXPOSURE, float(self.exposure))
        self.actual_size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        got_fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.actual_fps = got_fps if got_fps > 0 else None
        self._cap = cap

    def _read(self) -> tuple[int, np.ndarray, int | None] | None:
        cap = self._cap
        if cap is None:
            raise DeviceLostError(f"Camera {self.index} is not open.")
        if not cap.grab():
            raise FrameReadError(f"camera {self.index}: grab() failed")
        t_ns = self.clock.now_ns()  # stamp at grab, before decoding
        ok, image = cap.retrieve()
        if not ok or image is None:
            raise FrameReadError(f"camera {self.index}: the frame could not be decoded")
        return t_ns, as_bgr(image), None

    def _close(self) -> None:
        cap, self._cap = self._cap, None
        if cap is not None:
            cap.release()


def _found_hint() -> str:
    """' (cameras found: ...)' on Linux, where listing is free; '' elsewhere (probing would disturb devices)."""
    if not sys.platform.startswith("linux"):
        return ""
    found = list_devices()
    return f" (cameras found: {', '.join(f'{d.index} {d.name}' for d in found) if found else 'none'})"
