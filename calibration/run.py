"""One calibration run of the wizard: its inputs, the session, and what is kept on the way. No Qt.

- :class:`InputSpec` says where frames come from: two cameras (``core.capture`` sources), two video files
  recorded together, or two folders of photos (``calibration.sources``). :func:`open_recordings` opens and
  checks recordings (two inputs, same resolution, pairing plan) and raises a
  :class:`~core.errors.CrossViewError` that says what to do.
- :class:`CalibrationRun` owns one :class:`calibration.engine.CalibrationSession` with options that suit the
  input, a cache of detections per recorded frame, the images of the kept stereo pairs (:class:`StoredPair`),
  per-camera resets, and the frame synchronisation check of recorded videos (:meth:`CalibrationRun.resync`).
- :func:`solve_run` solves the session and prepares the rectified preview: a :class:`SolveOutcome`.

Units: images are ``(H, W, 3)`` BGR uint8, pixel coordinates full-resolution pixels, lengths metres.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from calibration.boards import Board
from calibration.detect import Detection
from calibration.engine import CalibrationResult, CalibrationSession, report_at
from calibration.engine import check_cancel as check_solve_cancel
from calibration.frame_offset import FrameOffset, best_frame_offset, frames_needed, shifted_pairs
from calibration.intrinsics import IntrinsicsResult, load_intrinsics
from calibration.rectify import Rectifier
from calibration.sources import FrameSource, PairPlan, open_source, pair_sources
from core.camera import Camera
from core.capture import CameraSource
from core.errors import InputError
from core.jobs import CancelLike, Progress, check_cancel

#: The names the wizard gives the two cameras.
CAMERA_NAMES = ("cam_0", "cam_1")


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
        self.frame_offset: float = 0.0  # camera 2's adopted shift, frames (quarter frames)
        self.played: set[str] = set()
        self.session = self._new_session(recordings.sizes if recordings is not None else None)

    def key(self) -> tuple:
        return (self.spec.key(), self.board)

    def _new_session(self, sizes) -> CalibrationSession:
        return CalibrationSession(self.board, sizes, names=CAMERA_NAMES, **self.options)

    # ---------------------------------------------------------------- edits
    def _fresh_session(self) -> CalibrationSession:
        """A new session for the same image sizes, with the loaded intrinsics set."""
        old = self.session
        new = self._new_session(old.image_sizes if None not in old.image_sizes else None)
        for c in (0, 1):
            if self.loaded[c] is not None:
                new.set_intrinsics(c, self.loaded[c])
        return new

    def reset_camera(self, cam: int) -> None:
        """Forget camera ``cam``'s captured views (the other camera's views, the pairs and loaded intrinsics stay)."""
        with self.lock:
            old = self.session
            new = self._fresh_session()
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
            new = self._fresh_session()
            for c in (0, 1):
                for v in old.views(c):
                    new.add_detection(c, v)
            self.session = new
            self.pairs_store.clear()
            self.frame_offset = 0.0
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

    # ---------------------------------------------------------------- detection (worker threads)
    def detect(self, cam: int, image: np.ndarray, frame: int | None = None) -> Detection:
        """The board in camera ``cam``'s ``image`` (quick diagnosis); recorded frames are cached by ``frame``."""
        key = (cam, int(frame)) if self.recordings is not None and frame is not None else None
        if key is not None:
            with self.lock:
                hit = self.det_cache.get(key)
            if hit is not None:
                return hit
        det = self.session.detect(cam, image, "quick")
        if key is not None:
            with self.lock:
                self.det_cache[key] = det
        return det

    def detect_frames(self, cam: int, frames: Sequence[int], cancel: CancelLike = None) -> dict[int, Detection]:
        """Camera ``cam``'s detections of recorded ``frames`` (detecting those not cached yet), by frame index.

        ``cancel`` is checked between frames (raises :class:`core.jobs.Cancelled`)."""
        rec = self.recordings
        if rec is None:
            raise InputError("frames can be read again only from recordings.")
        with self.lock:
            todo = [f for f in frames if (cam, f) not in self.det_cache]
        for i, img in rec.sources[cam].iter_frames(todo):
            check_cancel(cancel)
            det = self.session.detect(cam, img, "quick")
            with self.lock:
                self.det_cache[(cam, int(i))] = det
        with self.lock:
            return {f: self.det_cache[(cam, f)] for f in frames if (cam, f) in self.det_cache}

    def refresh_running(self) -> None:
        """Update the running intrinsic estimate of each camera that captures (3 views or more)."""
        for c in (0, 1):
            if self.loaded[c] is None and len(self.session.views(c)) >= 3:
                self.session.running_rms(c)

    def resync(self, cancel: CancelLike = None) -> FrameOffset | None:
        """Recorded videos: pair every frame again with camera 2 shifted (by up to two frames, in quarter frames;
        its corners interpolated) when that makes the kept pairs clearly more consistent (webcam timestamps are often
        a frame or a fraction of one off).

        Uses :func:`calibration.frame_offset.best_frame_offset` with the running (or loaded) intrinsics; the
        session's pairs and the stored images are replaced and :attr:`frame_offset` is set. Returns the search
        when a shift was adopted, else None.
        """
        rec = self.recordings
        c0, c1 = self.camera_model(0), self.camera_model(1)
        if rec is None or c0 is None or c1 is None:
            return None
        kept = [sp.frames for _, _, sp in self.kept_pairs() if sp is not None]
        kept = [(a, b) for a, b in kept if a is not None and b is not None]
        with self.lock:
            dets0 = {a: self.det_cache[(0, a)] for a, _ in kept if (0, a) in self.det_cache}
        n1 = rec.sources[1].n_frames
        search = best_frame_offset(kept, dets0, lambda f: self.detect_frames(1, f, cancel), c0, c1, n1)
        if not search.offset:
            return None
        plan = list(zip(rec.plan.idx0.tolist(), rec.plan.idx1.tolist()))
        d0 = self.detect_frames(0, sorted({a for a, _ in plan}), cancel)
        need = sorted({f for _, b in plan for f in frames_needed(b, search.offset) if 0 <= f < n1})
        d1 = self.detect_frames(1, need, cancel)
        shifted = shifted_pairs(plan, d0, d1, search.offset)
        index = {(id(a_det), id(b_det)): (a, b) for a, b, a_det, b_det in shifted}
        with self.lock:
            self.session.replace_pairs([(a_det, b_det) for _, _, a_det, b_det in shifted])
            self.frame_offset = search.offset
            self.pairs_store.clear()
        self._store_images(index)
        return search

    def _store_images(self, index: dict[tuple[int, int], tuple[int, int]]) -> None:
        """Read and store the images of the kept pairs (after re-pairing); ``index``: detection ids -> frames."""
        rec = self.recordings
        assert rec is not None
        want = []
        for a_det, b_det in self.session.pairs():
            frames = index.get((id(a_det), id(b_det)))
            if frames is not None:
                want.append(frames)
        imgs0 = dict(rec.sources[0].iter_frames([a for a, _ in want]))
        imgs1 = dict(rec.sources[1].iter_frames([b for _, b in want]))
        dets = {frames: pair for pair in self.session.pairs() if (frames := index.get((id(pair[0]), id(pair[1]))))}
        for a, b in want:
            if a in imgs0 and b in imgs1:
                self.store_pair(*dets[(a, b)], imgs0[a], imgs1[b], (a, b))

    def close(self) -> None:
        """Drop cached data (the camera sources belong to the app and are stopped there)."""
        with self.lock:
            self.det_cache.clear()
            self.pairs_store.clear()


# ----------------------------------------------------------------------------------------------- solve
@dataclass(frozen=True)
class SolveOutcome:
    """A solved calibration and what the results page shows with it.

    ``pairs``: the kept pairs ``(detection 1, detection 2, stored images or None)``; ``default_pair``: the one
    shown first (-1: none has images); ``rectifier``: None when the preview could not be computed (``rectify_note``
    says why).
    """

    result: CalibrationResult
    rectifier: Rectifier | None
    pairs: tuple[tuple[Detection, Detection, StoredPair | None], ...]
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


def solve_run(run: CalibrationRun, progress: Progress | None = None, cancel: CancelLike = None) -> SolveOutcome:
    """Solve the run's session (``progress(done, total, message)``, cancel checked between steps: raises
    :class:`~calibration.engine.CalibrationCancelledError`), then prepare the rectified preview."""
    result = run.session.solve(progress=progress, cancel=cancel)
    report_at(progress, 1.0, "preparing the rectified preview")
    pairs = tuple(run.kept_pairs())
    rect, note = None, ""
    try:
        rect = Rectifier(result.group)
        k = default_pair_index(pairs)
        if k >= 0:
            a, b, _ = pairs[k]
            rect.projections(a, b)
    except cv2.error as exc:
        note = f"the rectified preview could not be computed ({exc.err})."
    check_solve_cancel(cancel)
    return SolveOutcome(result, rect, pairs, default_pair_index(pairs), note)
