"""The calibration wizard's engine room: inputs, the run (session + caches), frame feeds and QThread workers.

Nothing here draws. The wizard (``app/calibration_wizard.py``) shows what these objects report:

- :class:`InputSpec` says where frames come from: two cameras (``core.capture.DeviceSource``), two video
  files recorded together, or two folders of photos (``calibration.sources``). :func:`open_recordings`
  opens and checks recordings (two inputs, same resolution, pairing plan) and raises a
  :class:`~core.errors.CrossViewError` that says what to do.
- :class:`CalibrationRun` owns one :class:`calibration.CalibrationSession` with options that suit the input,
  a cache of detections per recorded frame, the images of the kept stereo pairs, and per-camera resets.
- :class:`CaptureWorker` (QThread) plays a feed (camera frames or a recording, paced or as fast as possible),
  detects the board (one ``BoardDetector`` per camera; both cameras of a pair in parallel), offers views to
  the session automatically or on request, runs the running RMS / live stereo estimate every few kept views,
  diagnoses a board that is never seen, and publishes the newest :class:`PreviewPacket` for the GUI.
- :class:`SolveWorker` (QThread) runs ``session.solve`` with progress and cancel, then prepares the
  rectified preview (:class:`Rectifier`).

Units: images are ``(H, W, 3)`` BGR uint8, pixel coordinates are full-resolution pixels unless a packet's
``scale`` says otherwise, lengths are metres, times seconds.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np
from PySide6 import QtCore

from calibration.boards import Board
from calibration.detect import BoardDetector, Detection
from calibration.engine import (
    CalibrationCancelledError,
    CalibrationResult,
    CalibrationSession,
    SessionState,
)
from calibration.intrinsics import IntrinsicsResult, load_intrinsics
from calibration.selection import ViewDecision
from calibration.sources import FrameSource, PairPlan, iter_pairs, open_source, pair_sources
from calibration.stereo import calibrate_stereo, pair_consistency_rms
from core.camera import Camera, CameraGroup, relative_pose
from core.capture import CameraSource, Frame, SourceState
from core.errors import CalibrationError, CrossViewError, InputError

log = logging.getLogger(__name__)

CAMERA_NAMES = ("cam_0", "cam_1")
#: Longest side (px) of the preview images a worker sends to the GUI.
PREVIEW_SIDE = 960
#: Kept views between two running intrinsic estimates / live stereo estimates.
ESTIMATE_EVERY = 3
#: The board counts as "not seen" after this many frames or seconds without it; then it is diagnosed.
NOT_SEEN_FRAMES = 20
NOT_SEEN_S = 3.0
#: Least time between two full diagnoses (0.2-0.4 s each) of frames without the board.
DIAGNOSE_EVERY_S = 2.0
#: Seconds per photo when an image folder is played "at recorded speed".
PHOTO_PERIOD_S = 0.5
#: Largest camera-2 frame shift tried by the synchronisation check of recorded videos.
MAX_FRAME_OFFSET = 2
#: A frame shift is adopted only when it lowers the pair consistency RMS below this fraction.
OFFSET_GAIN = 0.85


# ----------------------------------------------------------------------------------------------- inputs
@dataclass(frozen=True)
class InputSpec:
    """Where the wizard's frames come from.

    ``kind``: "cameras", "videos" or "images". Cameras: ``devices`` (two indices), ``width``/``height``
    (px), ``fps`` and ``mjpg``. Recordings: ``paths`` (camera 1, camera 2; a video file, a folder, or a
    glob such as ``folder/left*.jpg``), ``timestamps`` (optional capture-time CSV for two videos) and
    ``pace`` (True: play at the recorded speed; False: as fast as possible).
    """

    kind: str
    paths: tuple[str, str] = ("", "")
    timestamps: str = ""
    pace: bool = False
    devices: tuple[int, int] = (0, 1)
    width: int = 1280
    height: int = 720
    fps: float = 30.0
    mjpg: bool = True

    @property
    def recorded(self) -> bool:
        return self.kind in ("videos", "images")

    def key(self) -> tuple:
        """What identifies the inputs (a changed key means a new calibration run)."""
        if self.recorded:
            return (self.kind, self.paths, self.timestamps)
        return (self.kind, self.devices, self.width, self.height, self.fps, self.mjpg)


@dataclass
class RecordingSet:
    """Two opened recordings and how their frames pair."""

    sources: tuple[FrameSource, FrameSource]
    plan: PairPlan
    timestamps: str = ""

    @property
    def sizes(self) -> tuple[tuple[int, int], tuple[int, int]]:
        return (self.sources[0].image_size, self.sources[1].image_size)

    def describe(self, cam: int) -> str:
        s = self.sources[cam]
        w, h = s.image_size
        if s.kind == "video":
            return f"{w}×{h} · {s.n_frames} frames · {s.fps:.3g} fps"
        return f"{w}×{h} · {s.n_frames} photos"


def find_timestamps(path0: str, path1: str) -> str:
    """A ``timestamps.csv`` next to both videos (Caliscope's layout), or ''."""
    try:
        p0, p1 = Path(path0), Path(path1)
    except TypeError:
        return ""
    if not path0 or not path1 or p0.parent != p1.parent:
        return ""
    cand = p0.parent / "timestamps.csv"
    return str(cand) if cand.is_file() else ""


def open_one(path: str, role: str, kind: str) -> FrameSource:
    """Open one recording, checking it is of the expected ``kind`` ("videos" or "images")."""
    if not str(path).strip():
        raise InputError(
            f"{role}: no input given. A stereo calibration needs TWO cameras: give this camera's "
            + ("video file." if kind == "videos" else "folder of photos.")
        )
    src = open_source(str(path).strip(), role)
    want = "video" if kind == "videos" else "images"
    if src.kind != want:
        raise InputError(
            f"{role}: '{path}' is {'a video file' if src.kind == 'video' else 'a folder of images'}, but "
            f"{'video files' if kind == 'videos' else 'photo folders'} were chosen. Pick the matching option."
        )
    return src


def open_recordings(spec: InputSpec) -> RecordingSet:
    """Open both recordings of ``spec`` and pair their frames; raise a CrossViewError that says what to do.

    Checks: two inputs given, not the same path, same kind, same resolution, pairable frames.
    """
    p0, p1 = (str(p).strip() for p in spec.paths)
    if not p0 and not p1:
        raise InputError("choose the two recordings (one per camera) or connect two cameras to calibrate them live.")
    if not p0 or not p1:
        raise InputError(
            "a stereo calibration needs TWO cameras but only one "
            + ("video" if spec.kind == "videos" else "photo folder")
            + " was given. Add the second camera's recording as well."
        )
    if Path(p0).expanduser().resolve() == Path(p1).expanduser().resolve():
        raise InputError(
            f"both inputs are the same path ('{p0}'): a stereo calibration needs footage from two different cameras."
        )
    s0 = open_one(p0, "camera 1", spec.kind)
    s1 = open_one(p1, "camera 2", spec.kind)
    if s0.image_size != s1.image_size:
        raise InputError(
            f"the two inputs have different resolutions: camera 1 is {s0.image_size[0]}x{s0.image_size[1]} and "
            f"camera 2 is {s1.image_size[0]}x{s1.image_size[1]}. Record both cameras at the same resolution "
            "and calibrate again."
        )
    ts = spec.timestamps.strip() if spec.kind == "videos" else ""
    plan = pair_sources(s0, s1, ts or None)
    if len(plan) == 0:
        raise InputError(
            "no frame of camera 1 could be paired with a frame of camera 2. Check that the recordings were "
            "made at the same time" + (" and that the timestamps file belongs to them." if ts else ".")
        )
    return RecordingSet((s0, s1), plan, ts)


def session_options(kind: str) -> dict:
    """CalibrationSession options for an input kind.

    Cameras: the engine's live defaults (novel views only, a moving board's pairs rejected). Videos:
    recorded footage is often a few fps with the board moving between frames, so the motion test is off
    and fewer views are required. Photos: deliberate stills, every sharp non-duplicate view is kept and
    the thorough chessboard search is used.
    """
    if kind == "cameras":
        return {}
    if kind == "videos":
        return dict(min_views=4, min_pairs=4, max_motion_px=None, duplicate_fraction=0.01)
    return dict(min_views=3, min_pairs=3, require_novelty=False, max_motion_px=None, thorough=True)


# ----------------------------------------------------------------------------------------------- the run
@dataclass
class StoredPair:
    """Images (JPEG bytes) and frame indices of one kept stereo pair."""

    jpg0: bytes
    jpg1: bytes
    frames: tuple[int | None, int | None] = (None, None)

    def images(self) -> tuple[np.ndarray, np.ndarray]:
        a = cv2.imdecode(np.frombuffer(self.jpg0, np.uint8), cv2.IMREAD_COLOR)
        b = cv2.imdecode(np.frombuffer(self.jpg1, np.uint8), cv2.IMREAD_COLOR)
        return a, b

    def label(self) -> str:
        f0, f1 = self.frames
        return "" if f0 is None else f"frames {f0} / {f1}"


def encode_jpeg(image: np.ndarray, quality: int = 92) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise InputError("could not encode a preview image.")
    return buf.tobytes()


class CalibrationRun:
    """One calibration attempt: the board, the inputs, the session and what the wizard kept on the way.

    ``devices``: two started camera sources (cameras) or None; ``recordings``: two opened recordings or None.
    Thread-safety: a worker feeds the session while the GUI reads ``session.state()`` (the session is
    thread-safe); ``pairs_store`` and ``det_cache`` are guarded by :attr:`lock`.
    """

    def __init__(
        self,
        board: Board,
        spec: InputSpec,
        *,
        recordings: RecordingSet | None = None,
        devices: Sequence[CameraSource] | None = None,
    ) -> None:
        if spec.recorded and recordings is None:
            raise InputError("the recordings were not opened; go back to the first page and choose them.")
        if not spec.recorded and (devices is None or len(devices) != 2):
            raise InputError("two cameras are needed; go back to the first page and choose them.")
        self.board = board
        self.spec = spec
        self.recordings = recordings
        self.devices = list(devices) if devices is not None else []
        self.options = session_options(spec.kind)
        self.lock = threading.RLock()
        self.det_cache: dict[tuple[int, int], Detection] = {}
        self.pairs_store: dict[tuple[int, int], StoredPair] = {}
        self.loaded: list[IntrinsicsResult | None] = [None, None]
        self.loaded_from: list[str] = ["", ""]
        self.frame_offset = 0
        self.played: set[str] = set()
        self.session = self._new_session(recordings.sizes if recordings is not None else None)

    def key(self) -> tuple:
        return (self.spec.key(), self.board)

    def _new_session(self, sizes) -> CalibrationSession:
        return CalibrationSession(self.board, sizes, names=CAMERA_NAMES, **self.options)

    # ---------------------------------------------------------------- edits
    def reset_camera(self, cam: int) -> None:
        """Forget camera ``cam``'s captured views (the other camera's views, the pairs and loaded intrinsics stay)."""
        with self.lock:
            old = self.session
            new = self._new_session(old.image_sizes if None not in old.image_sizes else None)
            for c in (0, 1):
                if self.loaded[c] is not None:
                    new.set_intrinsics(c, self.loaded[c])
            other = 1 - cam
            for v in old.views(other):
                new.add_detection(other, v)
            pairs = old.pairs()
            if pairs:
                new.replace_pairs(pairs)
            self.session = new
            self.played.discard(f"cam{cam}")

    def reset_pairs(self) -> None:
        """Forget the kept stereo pairs (the cameras' views stay)."""
        with self.lock:
            old = self.session
            new = self._new_session(old.image_sizes if None not in old.image_sizes else None)
            for c in (0, 1):
                if self.loaded[c] is not None:
                    new.set_intrinsics(c, self.loaded[c])
                for v in old.views(c):
                    new.add_detection(c, v)
            self.session = new
            self.pairs_store.clear()
            self.frame_offset = 0
            self.played.discard("pairs")

    def load_intrinsics(self, cam: int, path: str, camera: str | int) -> IntrinsicsResult:
        """Use camera ``cam``'s intrinsics from a calibration TOML instead of capturing them."""
        size = self.session.image_sizes[cam]
        ir = load_intrinsics(path, camera, image_size=size, name=CAMERA_NAMES[cam])
        with self.lock:
            self.session.set_intrinsics(cam, ir)
            self.loaded[cam] = ir
            self.loaded_from[cam] = f"{Path(path).name} ({camera})"
        return ir

    def clear_loaded(self, cam: int) -> None:
        """Capture camera ``cam``'s intrinsics again instead of using loaded ones."""
        with self.lock:
            self.session.set_intrinsics(cam, None)
            self.loaded[cam] = None
            self.loaded_from[cam] = ""

    # ---------------------------------------------------------------- figures
    def camera_model(self, cam: int) -> Camera | None:
        """Camera ``cam``'s best intrinsics so far (loaded, else the running estimate), or None."""
        if self.loaded[cam] is not None:
            return self.loaded[cam].camera
        size = self.session.image_sizes[cam]
        est = self.session.state().running[cam]
        if est is None or size is None:
            return None
        return Camera(CAMERA_NAMES[cam], est.K, est.dist, size=size)

    def kept_pairs(self) -> list[tuple[Detection, Detection, StoredPair | None]]:
        """The session's kept pairs with their stored images (None when not stored)."""
        with self.lock:
            return [(a, b, self.pairs_store.get((id(a), id(b)))) for a, b in self.session.pairs()]

    def store_pair(
        self, det0: Detection, det1: Detection, img0: np.ndarray, img1: np.ndarray, frames=(None, None)
    ) -> None:
        stored = StoredPair(encode_jpeg(img0), encode_jpeg(img1), frames)
        with self.lock:
            self.pairs_store[(id(det0), id(det1))] = stored
            if len(self.pairs_store) > 4 * max(int(self.options.get("max_pairs", 40)), 10):
                live = {(id(a), id(b)) for a, b in self.session.pairs()}
                for k in [k for k in self.pairs_store if k not in live]:
                    del self.pairs_store[k]

    def close(self) -> None:
        """Drop cached data (the camera sources belong to the wizard and are stopped there)."""
        with self.lock:
            self.det_cache.clear()
            self.pairs_store.clear()


# ----------------------------------------------------------------------------------------------- feeds
@dataclass
class FeedItem:
    """Frames for one step: one image (one camera) or two (a pair), their frame indices and a label."""

    images: list[np.ndarray]
    frames: list[int | None]
    label: str
    progress: tuple[int, int] | None = None


class FeedEnded(Exception):  # noqa: N818 - a signal, not an error
    """A recording has no more frames."""


class RecordingFeed:
    """Frames of a recording for one camera (``cam`` 0/1) or pairs (``cam`` None), paced or as fast as possible."""

    def __init__(self, rec: RecordingSet, cam: int | None, pace: bool, stop: threading.Event, offset: int = 0):
        self.stop = stop
        self.pace = pace
        self.rec = rec
        if cam is None:
            plan = rec.plan
            if offset:
                n1 = rec.sources[1].n_frames
                shifted = plan.idx1 + offset
                ok = (shifted >= 0) & (shifted < n1)
                plan = PairPlan(plan.idx0[ok], shifted[ok], plan.skew_s[ok], plan.method)
            self.total = len(plan)
            src = rec.sources[0]
            self._times = plan.idx0 / (src.fps or (1.0 / PHOTO_PERIOD_S))
            self._it: Iterator = ((i0, i1, a, b) for i0, i1, a, b in iter_pairs(rec.sources[0], rec.sources[1], plan))
        else:
            src = rec.sources[cam]
            self.total = src.n_frames
            self._times = np.arange(src.n_frames) / (src.fps or (1.0 / PHOTO_PERIOD_S))
            self._it = ((i, img) for i, img in src.iter_frames(range(src.n_frames)))
        self.cam = cam
        self._k = 0
        self._anchor = time.monotonic()
        self._anchor_k = 0

    def reanchor(self) -> None:
        """Restart the pacing clock (after a pause)."""
        self._anchor = time.monotonic()
        self._anchor_k = self._k

    def get(self, timeout: float) -> FeedItem | None:
        if self.pace and self._k < len(self._times):
            due = self._anchor + float(self._times[self._k] - self._times[min(self._anchor_k, len(self._times) - 1)])
            wait = due - time.monotonic()
            if wait > 0 and (self.stop.wait(min(wait, timeout)) or wait > timeout):
                return None
        try:
            item = next(self._it)
        except StopIteration:
            raise FeedEnded from None
        self._k += 1
        if self.cam is None:
            i0, i1, a, b = item
            return FeedItem([a, b], [int(i0), int(i1)], f"frames {i0} / {i1}", (self._k, self.total))
        i, img = item
        name = self.rec.sources[self.cam].label(int(i))
        return FeedItem([img], [int(i)], name, (self._k, self.total))

    def problem(self) -> str:
        return ""

    def close(self) -> None:
        close = getattr(self._it, "close", None)
        if callable(close):
            close()


class DeviceFeed:
    """Live frames of one camera (``cam``) or synchronised pairs of both (``cam`` None) from running sources."""

    def __init__(self, sources: Sequence[CameraSource], cam: int | None) -> None:
        self.sources = list(sources)
        self.cam = cam
        self._cond = threading.Condition()
        self._latest: Frame | None = None
        self._detach: list[Callable[[], None]] = []
        self._sync = None
        self.total = None
        if cam is None:
            from core.sync import LiveSynchronizer

            self._sync = LiveSynchronizer.for_sources(self.sources[0], self.sources[1])
        else:
            self._detach.append(self.sources[cam].subscribe(self._on_frame))

    def _on_frame(self, frame: Frame) -> None:
        with self._cond:
            self._latest = frame
            self._cond.notify_all()

    def reanchor(self) -> None:
        pass

    def get(self, timeout: float) -> FeedItem | None:
        if self._sync is not None:
            pair = self._sync.get_latest(timeout)
            if pair is None:
                return None
            a, b = pair.frames
            return FeedItem([a.image, b.image], [a.index, b.index], f"pair {pair.index} · skew {pair.skew_ms:+.1f} ms")
        with self._cond:
            if self._latest is None:
                self._cond.wait(timeout)
            frame, self._latest = self._latest, None
        if frame is None:
            return None
        return FeedItem([frame.image], [frame.index], f"frame {frame.index}")

    def problem(self) -> str:
        """Why a camera is not delivering ('' when all are fine)."""
        cams = range(2) if self.cam is None else [self.cam]
        for c in cams:
            st = self.sources[c].status()
            if st.state in (SourceState.DISCONNECTED, SourceState.RECONNECTING, SourceState.STOPPED):
                reason = st.reason or "not delivering frames"
                return (
                    f"Camera {c + 1} ({st.camera}) is not delivering frames: {reason}. Check its cable (was it "
                    "unplugged?) and that no other program uses it; capture resumes when it is back."
                )
        return ""

    def close(self) -> None:
        for d in self._detach:
            d()
        self._detach = []
        if self._sync is not None:
            self._sync.close()


# ----------------------------------------------------------------------------------------------- packets
@dataclass(frozen=True)
class StereoEstimate:
    """A live stereo fit on the kept pairs with the running intrinsics (px / m)."""

    epipolar_px: float
    rms: float
    baseline_m: float
    n_pairs: int
    heldout: bool
    error: str = ""


@dataclass
class PreviewPacket:
    """What a capture worker shows after one step.

    ``images``: downscaled BGR previews (one per view); ``scales``: preview px per full-resolution px;
    ``detections``/``decisions``: per view (decisions None when the view was not offered);
    ``pair_decision``: the stereo pair's decision (pairs mode). ``kept``: this step added a view/pair.
    """

    images: list[np.ndarray]
    scales: list[float]
    detections: list[Detection]
    decisions: list[ViewDecision | None]
    state: SessionState
    label: str
    progress: tuple[int, int] | None = None
    pair_decision: ViewDecision | None = None
    kept: bool = False
    offered: bool = True
    estimate: StereoEstimate | None = None
    t: float = field(default_factory=time.monotonic)


def downscale(image: np.ndarray, side: int = PREVIEW_SIDE) -> tuple[np.ndarray, float]:
    """``image`` shrunk so its longest side is at most ``side`` px, and the scale applied."""
    h, w = image.shape[:2]
    s = min(1.0, side / max(h, w))
    if s >= 1.0:
        return image, 1.0
    return cv2.resize(image, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA), s


def estimate_stereo(run: CalibrationRun) -> StereoEstimate | None:
    """A quick fixed-intrinsics stereo fit on the kept pairs (None until both cameras and 3 pairs are known)."""
    c0, c1 = run.camera_model(0), run.camera_model(1)
    pairs = run.session.pairs()
    if c0 is None or c1 is None or len(pairs) < 3:
        return None
    try:
        st = calibrate_stereo(pairs, c0, c1, refine=False, min_pairs=3)
    except CalibrationError as exc:
        return StereoEstimate(float("nan"), float("nan"), float("nan"), len(pairs), False, str(exc))
    return StereoEstimate(st.epipolar_px, st.rms, st.baseline_m, st.n_pairs, bool(st.heldout))


_DIAG_ORDER = (
    "wrong_dictionary",
    "wrong_type",
    "wrong_size",
    "inverted",
    "not_inverted",
    "legacy",
    "partial",
    "too_small",
    "blurred",
    "too_dark",
    "glare",
)


def best_reason(dets: Sequence[Detection]) -> str:
    """The most telling reason among not-found detections (a wrong board definition first)."""
    texts: dict[str, str] = {}
    for d in dets:
        for c, r in zip(d.codes, d.reasons):
            texts.setdefault(c, r)
    for code in _DIAG_ORDER:
        if code in texts:
            return texts[code]
    return next(iter(texts.values()), "")


def user_text(text: str) -> str:
    """An engine message with the cameras named as the wizard names them: ``cam_0`` / ``Camera 0`` -> "camera 1"."""
    text = re.sub(r"\b([Cc]amera) ([01])\b", lambda m: f"{m[1]} {int(m[2]) + 1}", text)
    text = re.sub(r"\bcam_([01])\b", lambda m: f"camera {int(m[1]) + 1}", text)
    return text[:1].upper() + text[1:]


def board_points(group: CameraGroup, pairs: Sequence[tuple[Detection, Detection]]) -> list[np.ndarray]:
    """The board corners of each pair triangulated in the world of ``group``: a list of ``(N_k, 3)`` metres."""
    from core.triangulation import triangulate

    out = []
    for a, b in pairs:
        common, i0, i1 = np.intersect1d(a.ids, b.ids, return_indices=True)
        if len(common) < 3:
            out.append(np.zeros((0, 3)))
            continue
        uv = np.stack([a.corners[i0], b.corners[i1]])[:, None]  # (2, 1, N, 2)
        tri = triangulate(uv, np.ones(uv.shape[:-1]), group, reject_outlier_views=False)
        pts = np.asarray(tri.points[0])
        out.append(pts[np.isfinite(pts).all(axis=1)])
    return out


# ----------------------------------------------------------------------------------------------- capture
class CaptureWorker(QtCore.QThread):
    """Plays a feed into the session in a worker thread and publishes previews.

    ``mode``: "cam0", "cam1" (one camera's intrinsics) or "pairs" (stereo). ``auto``: offer every frame to
    the engine's selector (it keeps the views that add information); otherwise only the next frame after
    :meth:`request_capture`. Signals (queued to the GUI): ``packetReady`` when a packet waits in
    :meth:`take_packet` (one at a time: a slow GUI skips packets, never queues them), ``problem(text)``
    (a source problem; '' when solved), ``diagnosis(text)`` (why the board is not seen; '' when seen),
    ``info(text)``, ``streamEnded(summary)`` (a recording played to its end).
    """

    packetReady = QtCore.Signal()
    problem = QtCore.Signal(str)
    diagnosis = QtCore.Signal(str)
    info = QtCore.Signal(str)
    streamEnded = QtCore.Signal(str)

    def __init__(self, run: CalibrationRun, mode: str, *, auto: bool = True, parent: QtCore.QObject | None = None):
        super().__init__(parent)
        if mode not in ("cam0", "cam1", "pairs"):
            raise ValueError(f"mode must be cam0, cam1 or pairs, got {mode!r}")
        self.run_ = run
        self.mode = mode
        self.cam = None if mode == "pairs" else int(mode[-1])
        self._stop = threading.Event()
        self._resume = threading.Event()
        self._resume.set()
        self._auto = auto
        self._capture_now = False
        self._slot_lock = threading.Lock()
        self._slot: PreviewPacket | None = None
        self._flags_lock = threading.Lock()
        self.frames_processed = 0
        self.ended = False
        self._estimate: StereoEstimate | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._diag_detector: BoardDetector | None = None

    # ---------------------------------------------------------------- control (GUI thread)
    def stop(self) -> None:
        """Ask the worker to stop (returns at once; ``wait()`` for it)."""
        self._stop.set()
        self._resume.set()

    def set_paused(self, paused: bool) -> None:
        if paused:
            self._resume.clear()
        else:
            self._resume.set()

    def paused(self) -> bool:
        return not self._resume.is_set()

    def set_auto(self, auto: bool) -> None:
        with self._flags_lock:
            self._auto = bool(auto)

    def request_capture(self) -> None:
        """Offer the next frame to the engine (manual capture)."""
        with self._flags_lock:
            self._capture_now = True

    def take_packet(self) -> PreviewPacket | None:
        with self._slot_lock:
            pkt, self._slot = self._slot, None
            return pkt

    def _publish(self, pkt: PreviewPacket) -> None:
        with self._slot_lock:
            pending = self._slot is not None
            self._slot = pkt
        if not pending:
            self.packetReady.emit()

    def _offer_now(self) -> bool:
        with self._flags_lock:
            if self._auto:
                return True
            if self._capture_now:
                self._capture_now = False
                return True
            return False

    # ---------------------------------------------------------------- thread
    def run(self) -> None:
        run = self.run_
        try:
            feed = self._open_feed()
        except CrossViewError as exc:
            self.problem.emit(str(exc))
            return
        except Exception as exc:  # a worker must never take the GUI down
            log.exception("opening the capture feed failed")
            self.problem.emit(f"Could not start the capture: {exc}")
            return
        views = 1 if self.cam is not None else 2
        self._diag_detector = BoardDetector(run.board, thorough=run.options.get("thorough", False))
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="calib-detect") if views == 2 else None
        last_found = [time.monotonic()] * views
        not_found_n = [0] * views
        last_diag = [0.0] * views
        samples: list[deque] = [deque(maxlen=3) for _ in range(views)]
        found_any = [False] * views
        kept_since_estimate = 0
        last_problem = ""
        try:
            while not self._stop.is_set():
                if not self._resume.is_set():
                    self._resume.wait(0.2)
                    if self._resume.is_set():
                        feed.reanchor()
                    continue
                problem = feed.problem()
                if problem != last_problem:
                    last_problem = problem
                    self.problem.emit(problem)
                try:
                    item = feed.get(0.2)
                except FeedEnded:
                    self._end_of_stream(found_any, samples)
                    return
                except CrossViewError as exc:
                    self.problem.emit(str(exc))
                    return
                if item is None:
                    continue
                if len(item.images) == 2 and item.images[0].shape != item.images[1].shape:
                    h0, w0 = item.images[0].shape[:2]
                    h1, w1 = item.images[1].shape[:2]
                    msg = (
                        f"The two cameras deliver different resolutions ({w0}x{h0} and {w1}x{h1}). Go back to the "
                        "first page and give both the same resolution."
                    )
                    if msg != last_problem:
                        last_problem = msg
                        self.problem.emit(msg)
                    continue
                dets = self._detect(item)
                self.frames_processed += 1
                offer = self._offer_now()
                decisions: list[ViewDecision | None] = [None] * views
                pair_decision = None
                kept = False
                try:
                    if self.cam is not None:
                        if offer:
                            fb = run.session.add_detection(self.cam, dets[0])
                            decisions[0] = fb.decision
                            kept = bool(fb.decision is not None and fb.decision.accepted)
                            state = fb.state
                        else:
                            state = run.session.state()
                        if kept:
                            kept_since_estimate += 1
                            if kept_since_estimate >= ESTIMATE_EVERY:
                                kept_since_estimate = 0
                                run.session.running_rms(self.cam)
                                state = run.session.state()
                    else:
                        if offer:
                            fb = run.session.add_pair(dets[0], dets[1])
                            decisions = [fb.view0, fb.view1]
                            pair_decision = fb.pair
                            kept = fb.pair.accepted
                            state = fb.state
                            if kept:
                                run.store_pair(dets[0], dets[1], item.images[0], item.images[1], tuple(item.frames))
                        else:
                            state = run.session.state()
                        if kept:
                            kept_since_estimate += 1
                            if kept_since_estimate >= ESTIMATE_EVERY or self._estimate is None:
                                kept_since_estimate = 0
                                self._refresh_running()
                                self._estimate = estimate_stereo(run)
                                state = run.session.state()
                except CrossViewError as exc:
                    self.problem.emit(str(exc))
                    return
                # the board not seen for a while: say why (a full diagnosis now and then)
                now = time.monotonic()
                for v, det in enumerate(dets):
                    if det.found:
                        if not found_any[v] or not_found_n[v] >= NOT_SEEN_FRAMES:
                            self.diagnosis.emit("")
                        found_any[v] = True
                        last_found[v] = now
                        not_found_n[v] = 0
                        continue
                    not_found_n[v] += 1
                    if not_found_n[v] == 1 or not_found_n[v] % 10 == 0:
                        samples[v].append(item.images[v])
                    long_enough = not_found_n[v] >= NOT_SEEN_FRAMES or now - last_found[v] >= NOT_SEEN_S
                    if long_enough and now - last_diag[v] >= DIAGNOSE_EVERY_S:
                        last_diag[v] = now
                        full = self._diag_detector.detect(item.images[v], diagnose="full")
                        why = best_reason([full, det]) or "show the whole board to the camera, flat and well lit."
                        who = f"camera {(self.cam if self.cam is not None else v) + 1}"
                        self.diagnosis.emit(f"The board has not been seen by {who} for {not_found_n[v]} frames: {why}")
                previews = [downscale(img) for img in item.images]
                self._publish(
                    PreviewPacket(
                        images=[p[0] for p in previews],
                        scales=[p[1] for p in previews],
                        detections=dets,
                        decisions=decisions,
                        state=state,
                        label=item.label,
                        progress=item.progress,
                        pair_decision=pair_decision,
                        kept=kept,
                        offered=offer,
                        estimate=self._estimate,
                    )
                )
        except Exception as exc:  # never a traceback in the GUI: report and stop this capture
            log.exception("capture worker failed")
            self.problem.emit(f"The capture stopped after an unexpected error: {type(exc).__name__}: {exc}")
        finally:
            feed.close()
            if self._pool is not None:
                self._pool.shutdown(wait=True)

    def _open_feed(self):
        run = self.run_
        if run.recordings is not None:
            return RecordingFeed(run.recordings, self.cam, run.spec.pace, self._stop, run.frame_offset)
        return DeviceFeed(run.devices, self.cam)

    def _detect(self, item: FeedItem) -> list[Detection]:
        run = self.run_
        recorded = run.recordings is not None
        cams = [self.cam] if self.cam is not None else [0, 1]

        def one(v: int) -> Detection:
            cam = cams[v]
            idx = item.frames[v]
            key = (cam, int(idx)) if recorded and idx is not None else None
            if key is not None:
                with run.lock:
                    hit = run.det_cache.get(key)
                if hit is not None:
                    return hit
            det = run.session.detect(cam, item.images[v], "quick")
            if key is not None:
                with run.lock:
                    run.det_cache[key] = det
            return det

        if len(cams) == 1:
            return [one(0)]
        assert self._pool is not None
        fut = self._pool.submit(one, 1)  # camera 2's detector in the helper thread, camera 1's here
        d0 = one(0)
        return [d0, fut.result()]

    def _refresh_running(self) -> None:
        run = self.run_
        for c in (0, 1):
            if run.loaded[c] is None and len(run.session.views(c)) >= 3:
                run.session.running_rms(c)

    def _end_of_stream(self, found_any: list[bool], samples: list[deque]) -> None:
        run = self.run_
        self.ended = True
        run.played.add(self.mode)
        for v, seen in enumerate(found_any):
            if seen:
                continue
            diag = [self._diag_detector.detect(img, diagnose="full") for img in samples[v]]  # type: ignore[union-attr]
            why = best_reason(diag) or (
                "Check that the board is in view and that the board definition matches the print."
            )
            cam = (self.cam if self.cam is not None else v) + 1
            self.problem.emit(
                f"The board ({run.board.describe()}) was never found in camera {cam}'s recording. {why} "
                "Go back to the board page to fix the definition, or record again with the whole board in view."
            )
        if self.cam is not None:
            if run.loaded[self.cam] is None and len(run.session.views(self.cam)) >= 3:
                run.session.running_rms(self.cam)
        else:
            self._refresh_running()
            if run.spec.kind == "videos" and run.frame_offset == 0:
                self._sync_check()
            self._estimate = estimate_stereo(run)
        state = run.session.state()
        self._publish_final(state)
        if self.cam is not None:
            st = state.cameras[self.cam]
            kept = 0 if st is None else st.views_kept
            summary = f"End of the recording: {kept} view(s) kept."
        else:
            kept = 0 if state.pairs is None else state.pairs.views_kept
            summary = f"End of the recording: {kept} stereo pair(s) kept."
        self.streamEnded.emit(summary)

    def _publish_final(self, state: SessionState) -> None:
        with self._slot_lock:
            last = self._slot
        if last is not None:
            self._publish(replace(last, state=state, estimate=self._estimate, kept=False))
        else:
            self._publish(
                PreviewPacket([], [], [], [], state, "end of the recording", estimate=self._estimate, kept=False)
            )

    def _sync_check(self) -> None:
        """Recorded videos: re-pair with camera 2 shifted by a frame or two when that makes the kept pairs
        clearly more consistent (webcam timestamps are often one frame off)."""
        run = self.run_
        rec = run.recordings
        c0, c1 = run.camera_model(0), run.camera_model(1)
        if rec is None or c0 is None or c1 is None:
            return
        kept = [(sp.frames[0], sp.frames[1]) for _, _, sp in run.kept_pairs() if sp is not None]
        kept = [(a, b) for a, b in kept if a is not None and b is not None]
        if len(kept) < 5:
            return
        n1 = rec.sources[1].n_frames
        offsets = range(-MAX_FRAME_OFFSET, MAX_FRAME_OFFSET + 1)
        need = sorted({b + o for _, b in kept for o in offsets if 0 <= b + o < n1})
        self._detect_frames(1, need)
        scores: dict[int, float] = {}
        for o in offsets:
            pairs = [
                (run.det_cache[(0, a)], run.det_cache[(1, b + o)])
                for a, b in kept
                if (0, a) in run.det_cache and (1, b + o) in run.det_cache
            ]
            scores[o] = pair_consistency_rms(pairs, c0, c1)
        finite = {o: v for o, v in scores.items() if np.isfinite(v)}
        if 0 not in finite:
            return
        best = min(finite, key=finite.get)  # type: ignore[arg-type]
        if best == 0 or finite[best] >= OFFSET_GAIN * finite[0]:
            return
        # re-pair every planned frame with the shift, from the detection cache (detecting what is missing)
        plan = rec.plan
        shifted = [(int(a), int(b) + best) for a, b in zip(plan.idx0, plan.idx1) if 0 <= int(b) + best < n1]
        self._detect_frames(0, sorted({a for a, _ in shifted}))
        self._detect_frames(1, sorted({b for _, b in shifted}))
        pairs = [(run.det_cache[(0, a)], run.det_cache[(1, b)]) for a, b in shifted]
        index = {(id(run.det_cache[(0, a)]), id(run.det_cache[(1, b)])): (a, b) for a, b in shifted}
        with run.lock:
            run.session.replace_pairs(pairs)
            run.frame_offset = best
            run.pairs_store.clear()
        self._store_images(index)
        self.info.emit(
            f"Camera 2's frames were {abs(best)} frame(s) {'late' if best > 0 else 'early'} against camera 1 "
            f"(the recordings' timestamps are off): the frames were paired again with a {best:+d} frame shift, "
            f"which makes the pairs agree better ({finite[0]:.2f} → {finite[best]:.2f} px)."
        )

    def _detect_frames(self, cam: int, frames: list[int]) -> None:
        run = self.run_
        rec = run.recordings
        assert rec is not None
        todo = [f for f in frames if (cam, f) not in run.det_cache]
        for i, img in rec.sources[cam].iter_frames(todo):
            if self._stop.is_set():
                return
            det = run.session.detect(cam, img, "quick")
            with run.lock:
                run.det_cache[(cam, int(i))] = det

    def _store_images(self, index: dict[tuple[int, int], tuple[int, int]]) -> None:
        """Read and store the images of the kept pairs (after re-pairing)."""
        run = self.run_
        rec = run.recordings
        assert rec is not None
        want = []
        for a_det, b_det in run.session.pairs():
            frames = index.get((id(a_det), id(b_det)))
            if frames is not None:
                want.append(frames)
        imgs0 = dict(rec.sources[0].iter_frames([a for a, _ in want]))
        imgs1 = dict(rec.sources[1].iter_frames([b for _, b in want]))
        for a, b in want:
            if a in imgs0 and b in imgs1:
                run.store_pair(run.det_cache[(0, a)], run.det_cache[(1, b)], imgs0[a], imgs1[b], (a, b))


# ----------------------------------------------------------------------------------------------- solve
class Rectifier:
    """Rectification of a calibrated pair: after it, a scene point lies on the same image ROW in both images
    (on the same column for cameras stacked vertically: ``vertical``).

    The rotations come from ``cv2.stereoRectify``. Its own projections suit nearly parallel cameras; for
    strongly converging ones (rectification then stretches the images a lot) :meth:`compose` aims the
    projections at the board of the pair shown: one focal length and one row origin for both cameras
    (required for equal rows), each camera's column origin centring its board.
    """

    def __init__(self, group: CameraGroup) -> None:
        c0, c1 = group[0], group[1]
        R, t = relative_pose(c0, c1)
        self.size = (int(c0.size[0]), int(c0.size[1]))
        R1, R2, P1, P2, _, _, _ = cv2.stereoRectify(
            c0.K, c0.dist, c1.K, c1.dist, self.size, R, t.reshape(3, 1), flags=cv2.CALIB_ZERO_DISPARITY, alpha=0
        )
        self.vertical = bool(abs(P2[1, 3]) > abs(P2[0, 3]))
        self._R = (R1, R2)
        self._default_P = (P1[:, :3].copy(), P2[:, :3].copy())
        self._cams = (c0, c1)
        self._maps: dict[tuple, tuple] = {}

    def _normalised(self, cam: int, uv: np.ndarray) -> np.ndarray:
        c = self._cams[cam]
        pts = uv.reshape(-1, 1, 2).astype(np.float64)
        return cv2.undistortPoints(pts, c.K, c.dist, R=self._R[cam]).reshape(-1, 2)

    def projections(
        self, det0: Detection | None = None, det1: Detection | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The two rectified camera matrices ``(3, 3)`` used for a pair (the default ones when they show
        the board at a sensible scale, else ones aimed at the board)."""
        if det0 is None or det1 is None or not det0.found or not det1.found:
            return self._default_P
        w, h = self.size
        n0, n1 = self._normalised(0, det0.corners), self._normalised(1, det1.corners)
        ok = True
        for P, n, c in zip(self._default_P, (n0, n1), self._cams):
            uv = n @ P[:2, :2].T + P[:2, 2]
            scale = P[0, 0] / c.K[0, 0]
            inside = (uv[:, 0] >= 0) & (uv[:, 0] < w) & (uv[:, 1] >= 0) & (uv[:, 1] < h)
            ok &= bool(inside.all()) and 0.4 <= scale <= 2.5
        if ok:
            return self._default_P
        across, along = (1, 0) if not self.vertical else (0, 1)  # across: the shared (row) axis
        both = np.concatenate([n0, n1])
        span_across = float(np.ptp(both[:, across])) or 1e-3
        span_along = max(float(np.ptp(n0[:, along])), float(np.ptp(n1[:, along]))) or 1e-3
        extent = (w, h)
        f = min(
            float(self._cams[0].K[0, 0]),
            0.6 * extent[across] / span_across,
            0.6 * extent[along] / span_along,
        )
        mid_across = 0.5 * (both[:, across].min() + both[:, across].max())
        out = []
        for n in (n0, n1):
            mid_along = 0.5 * (n[:, along].min() + n[:, along].max())
            P = np.array([[f, 0.0, 0.0], [0.0, f, 0.0], [0.0, 0.0, 1.0]])
            P[across, 2] = extent[across] / 2 - f * mid_across
            P[along, 2] = extent[along] / 2 - f * mid_along
            out.append(P)
        return out[0], out[1]

    def _map(self, cam: int, P: np.ndarray) -> tuple:
        key = (cam, P.tobytes())
        if key not in self._maps:
            if len(self._maps) > 8:
                self._maps.clear()
            c = self._cams[cam]
            self._maps[key] = cv2.initUndistortRectifyMap(c.K, c.dist, self._R[cam], P, self.size, cv2.CV_16SC2)
        return self._maps[key]

    def points(self, cam: int, uv: np.ndarray, P: np.ndarray | None = None) -> np.ndarray:
        """Distorted pixels ``(N, 2)`` of camera ``cam`` -> rectified pixels ``(N, 2)`` (with projection ``P``)."""
        if not len(uv):
            return np.zeros((0, 2))
        P = self._default_P[cam] if P is None else P
        return self._normalised(cam, uv) @ P[:2, :2].T + P[:2, 2]

    def row_error(self, det0: Detection, det1: Detection) -> float:
        """Mean |row difference| (px, at the preview's scale) of the corners both cameras saw, after
        rectification (columns for a vertical rig)."""
        common, i0, i1 = np.intersect1d(det0.ids, det1.ids, return_indices=True)
        if not len(common):
            return float("nan")
        P0, P1 = self.projections(det0, det1)
        a = self.points(0, det0.corners[i0], P0)
        b = self.points(1, det1.corners[i1], P1)
        axis = 0 if self.vertical else 1
        return float(np.mean(np.abs(a[:, axis] - b[:, axis])))

    def compose(
        self,
        img0: np.ndarray,
        img1: np.ndarray,
        det0: Detection | None = None,
        det1: Detection | None = None,
        step_px: int = 40,
    ) -> np.ndarray:
        """Both images rectified side by side (stacked for a vertical rig) with epipolar lines every
        ``step_px`` px and the detected corners: BGR ``(h, 2w + gap, 3)`` (``(2h + gap, w, 3)`` stacked)."""
        P0, P1 = self.projections(det0, det1)
        r0 = cv2.remap(img0, *self._map(0, P0), cv2.INTER_LINEAR)
        r1 = cv2.remap(img1, *self._map(1, P1), cv2.INTER_LINEAR)
        w, h = self.size
        gap = 6
        if self.vertical:
            out = np.full((2 * h + gap, w, 3), 24, np.uint8)
            out[:h], out[h + gap :] = r0, r1
            offsets = [(0, 0), (0, h + gap)]
        else:
            out = np.full((h, 2 * w + gap, 3), 24, np.uint8)
            out[:, :w], out[:, w + gap :] = r0, r1
            offsets = [(0, 0), (w + gap, 0)]
        thick = max(1, round(max(w, h) / 900))
        colours = ((80, 220, 255), (255, 170, 60))
        if self.vertical:
            for k, x in enumerate(range(step_px // 2, w, step_px)):
                cv2.line(out, (x, 0), (x, out.shape[0] - 1), colours[k % 2], thick, cv2.LINE_AA)
        else:
            for k, y in enumerate(range(step_px // 2, h, step_px)):
                cv2.line(out, (0, y), (out.shape[1] - 1, y), colours[k % 2], thick, cv2.LINE_AA)
        r = max(3, round(max(w, h) / 250))
        for cam, det, colour, P in ((0, det0, (90, 240, 90), P0), (1, det1, (240, 90, 240), P1)):
            if det is None or not det.found:
                continue
            ox, oy = offsets[cam]
            for x, y in self.points(cam, det.corners, P):
                if np.isfinite(x) and np.isfinite(y):
                    cv2.circle(out, (round(x + ox), round(y + oy)), r, colour, -1, cv2.LINE_AA)
        return out


@dataclass
class SolveOutcome:
    """A solved calibration and what the results page shows with it."""

    result: CalibrationResult
    rectifier: Rectifier | None
    pairs: list[tuple[Detection, Detection, StoredPair | None]]
    default_pair: int
    rectify_note: str = ""


def default_pair_index(pairs: Sequence[tuple[Detection, Detection, StoredPair | None]]) -> int:
    """The kept pair with images and the most corners seen by both cameras (-1 when none has images)."""
    best, best_n = -1, -1
    for k, (a, b, sp) in enumerate(pairs):
        if sp is None:
            continue
        n = len(np.intersect1d(a.ids, b.ids))
        if n > best_n:
            best, best_n = k, n
    return best


class SolveWorker(QtCore.QThread):
    """Solves the run's session off the GUI thread: ``progress(fraction, message)``, then ``solved(SolveOutcome)``,
    ``failed(message)`` (a CrossViewError's text, or a short report of an unexpected error) or ``cancelled()``."""

    progress = QtCore.Signal(float, str)
    solved = QtCore.Signal(object)
    failed = QtCore.Signal(str)
    cancelled = QtCore.Signal()

    def __init__(self, run: CalibrationRun, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.run_ = run
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    def stop(self) -> None:
        self.cancel()

    def run(self) -> None:
        try:
            result = self.run_.session.solve(
                progress=lambda f, m: self.progress.emit(float(f), str(m)), cancel=self._cancel
            )
            self.progress.emit(1.0, "preparing the rectified preview")
            pairs = self.run_.kept_pairs()
            rect, note = None, ""
            try:
                rect = Rectifier(result.group)
                k = default_pair_index(pairs)
                if k >= 0:
                    a, b, _ = pairs[k]
                    rect.projections(a, b)
            except cv2.error as exc:
                note = f"the rectified preview could not be computed ({exc.err})."
            if self._cancel.is_set():
                raise CalibrationCancelledError("calibration cancelled; nothing was written.")
            self.solved.emit(SolveOutcome(result, rect, pairs, default_pair_index(pairs), note))
        except CalibrationCancelledError:
            self.cancelled.emit()
        except CrossViewError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # report, never crash the GUI
            log.exception("calibration solve failed")
            self.failed.emit(
                f"The calibration failed with an unexpected error ({type(exc).__name__}: {exc}). Capture again with "
                "sharper views of the whole board; if it persists, report it with the log."
            )
