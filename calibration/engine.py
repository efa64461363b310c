"""The stereo calibration session: a live, incremental API for a coaching UI, and the final result.

Typical live use (no Qt here; a UI calls these from a worker thread and shows the snapshots)::

    session = CalibrationSession(board)                       # image sizes are taken from the first frames
    fb = session.process_pair(frame0, frame1)                 # ~10-25 ms at 640x480: detect + select
    fb.det0.corners, fb.pair.reason, fb.state.pairs.coverage  # overlay, message, counters
    est = session.running_rms(0)                              # every few kept views, in a worker
    result = session.solve(progress=cb, cancel=token)         # cb(done, total, message); a CancelToken
    result = result.with_floor(det0, det1)                    # optional: board on the floor -> Z up
    result.save("calib.toml")

A single-camera phase (intrinsics first, camera by camera) uses :meth:`CalibrationSession.process_frame`;
known intrinsics are loaded with :meth:`CalibrationSession.load_intrinsics` instead of being captured.
"""

from __future__ import annotations

import datetime as _dt
import os
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from calibration.boards import Board
from calibration.bundle import adjust_stereo, stereo_with_bundle
from calibration.detect import BoardDetector, Detection, Diagnose
from calibration.intrinsics import (
    IntrinsicsResult,
    QuickEstimate,
    calibrate_intrinsics,
    load_intrinsics,
    quick_calibrate,
)
from calibration.quality import QualityReport, assess
from calibration.selection import PairSelector, SelectionState, ViewDecision, ViewSelector, motion_px
from calibration.stereo import StereoResult, calibrate_stereo, floor_frame
from core.calibration_io import save_calibration
from core.camera import CameraGroup
from core.errors import CalibrationError
from core.jobs import Cancelled, CancelLike, Progress, is_cancelled

#: Progress of a solve is reported in thousandths: ``progress(done, STEPS, message)`` (:class:`core.jobs.Progress`).
STEPS = 1000


class CalibrationCancelledError(CalibrationError, Cancelled):
    """The user cancelled the calibration (a :class:`core.jobs.Cancelled`, and a ``CalibrationError``)."""

    def __init__(self, message: str = "calibration cancelled; nothing was written.") -> None:
        super().__init__(message)


def check_cancel(cancel: CancelLike) -> None:
    """Raise :class:`CalibrationCancelledError` when ``cancel`` (a token/event, a callable or None) is set."""
    if is_cancelled(cancel):
        raise CalibrationCancelledError()


def report_at(progress: Progress | None, fraction: float, message: str) -> None:
    """Report ``fraction`` (0-1) of a calibration as ``progress(round(STEPS * fraction), STEPS, message)``."""
    if progress is not None:
        progress(int(round(STEPS * fraction)), STEPS, message)


@dataclass(frozen=True)
class SessionState:
    """Snapshot of a session for the UI.

    ``cameras``: each camera's intrinsic-view selection state (None until its first frame, or when its
    intrinsics were loaded). ``pairs``: the stereo pair selection state (None until frames of both cameras
    arrived). ``intrinsics_loaded``: per camera. ``running``: the latest running estimate per camera.
    ``ready``: enough data to solve. ``advice``: the one thing to do next.
    """

    cameras: tuple[SelectionState | None, SelectionState | None]
    pairs: SelectionState | None
    intrinsics_loaded: tuple[bool, bool]
    running: tuple[QuickEstimate | None, QuickEstimate | None]
    ready: bool
    advice: str
    pair_heatmaps: tuple[np.ndarray, np.ndarray] | None = None
    """``(gy, gx)`` coverage heat maps of the kept PAIRS in camera 0 and camera 1 (None before any frames)."""

    def to_json(self) -> dict:
        return {
            "cameras": [None if s is None else s.to_json() for s in self.cameras],
            "pairs": None if self.pairs is None else self.pairs.to_json(),
            "intrinsics_loaded": list(self.intrinsics_loaded),
            "running_rms_px": [None if r is None else round(r.rms, 4) for r in self.running],
            "ready": self.ready,
            "advice": self.advice,
        }


@dataclass(frozen=True)
class FrameFeedback:
    """Result of one single-camera frame: the detection, what the selector did, the new state."""

    camera: int
    det: Detection
    decision: ViewDecision | None
    state: SessionState


@dataclass(frozen=True)
class PairFeedback:
    """Result of one synchronised pair: both detections, each camera's and the pair's decision, the state."""

    det0: Detection
    det1: Detection
    view0: ViewDecision | None
    view1: ViewDecision | None
    pair: ViewDecision
    state: SessionState


@dataclass(frozen=True, eq=False)
class CalibrationResult:
    """A finished two-camera calibration.

    ``group``: the cameras in the world frame (camera 0's frame, or the floor frame after
    :meth:`with_floor`). ``world_up``: "-y" (camera frame: image up is -y) or "+z" (floor frame).
    ``origin``: the origin camera's name, or "floor". ``info``: inputs, pairing, counts, timings.
    """

    group: CameraGroup
    intrinsics: tuple[IntrinsicsResult, IntrinsicsResult]
    stereo: StereoResult
    quality: QualityReport
    board: Board
    world_up: str = "-y"
    origin: str = "cam_0"
    info: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def verdict(self) -> str:
        return self.quality.verdict

    @property
    def advice(self) -> str:
        return self.quality.advice

    def metadata(self) -> dict[str, Any]:
        """The ``[metadata]`` table written with the calibration (figures in px, lengths in m)."""
        names = [ir.camera.name for ir in self.intrinsics]
        return {
            "units": "m",
            "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "board": self.board.describe(),
            "board_spec": self.board.spec(),
            "error": round(float(self.stereo.rms), 6),
            "stereo_rms_px": round(float(self.stereo.rms), 6),
            "intrinsics_rms_px": {n: _f(ir.rms) for n, ir in zip(names, self.intrinsics)},
            "intrinsics_source": {n: ir.source for n, ir in zip(names, self.intrinsics)},
            "epipolar_error_px": _f(self.stereo.epipolar_px),
            "epipolar_error_all_px": _f(self.stereo.epipolar_all_px),
            "baseline_m": _f(self.stereo.baseline_m),
            "convergence_deg": _f(self.stereo.convergence_deg),
            "pairs": int(self.stereo.n_pairs),
            "image_sizes": {n: list(ir.camera.size) for n, ir in zip(names, self.intrinsics)},
            "verdict": self.quality.verdict,
            "advice": self.quality.advice,
            "world_up": self.world_up,
            "origin": self.origin,
            "refined_jointly": bool(self.stereo.refined),
            "solver": self.stereo.solver,
            "adjusted": self.stereo.solver == "bundle adjustment",
            "solver_note": self.stereo.refine_note,
            **_sigma_metadata(self.stereo.sigma, names),
        }

    def save(self, path: str | os.PathLike) -> CalibrationResult:
        """Write the calibration TOML (metres) with :func:`core.calibration_io.save_calibration`."""
        out = save_calibration(path, self.group, self.metadata())
        return replace(self, path=out)

    def with_floor(self, det0: Detection, det1: Detection | None = None) -> CalibrationResult:
        """The same calibration in a floor frame: the board lying on the floor in this view (camera 0's
        detection, and camera 1's of the same instant if available) gives the origin (board centre) and Z up."""
        R_wn, t_wn = floor_frame(self.group, det0, det1)
        group = self.group.transformed(R_wn, t_wn, origin=None)
        return replace(self, group=group, world_up="+z", origin="floor")

    def to_json(self) -> dict[str, Any]:
        """Everything a CLI ``--json`` or a report needs (plain JSON types)."""
        return {
            "verdict": self.quality.verdict,
            "advice": self.quality.advice,
            "board": self.board.describe(),
            "out": None if self.path is None else str(self.path),
            "world_up": self.world_up,
            "origin": self.origin,
            "stereo_rms_px": _f(self.stereo.rms),
            "intrinsics_rms_px": [_f(ir.rms) for ir in self.intrinsics],
            "baseline_m": _f(self.stereo.baseline_m),
            "convergence_deg": _f(self.stereo.convergence_deg),
            "epipolar_error_px": _f(self.stereo.epipolar_px),
            "epipolar_error_all_px": _f(self.stereo.epipolar_all_px),
            "pairs": int(self.stereo.n_pairs),
            "solver": self.stereo.solver,
            "solver_note": self.stereo.refine_note,
            "sigma": {k: _f(v) for k, v in self.stereo.sigma.items()},
            "units": {"lengths": "m", "errors": "px", "sigma": "1-sigma; px, m, deg as named"},
            "intrinsics": [ir.to_json() for ir in self.intrinsics],
            "stereo": self.stereo.to_json(),
            "quality": self.quality.to_json(),
            "info": _jsonable(self.info),
        }

    def summary(self) -> str:
        """A few lines for people."""
        s = self.stereo
        lines = [
            f"Calibration {self.quality.verdict.upper()}: stereo RMS {s.rms:.3f} px, "
            f"camera RMS {' / '.join(f'{ir.rms:.3f}' for ir in self.intrinsics)} px, "
            f"epipolar {s.epipolar_px:.3f} px (held-out), {s.n_pairs} pairs.",
            f"Baseline {s.baseline_m:.3f} m, convergence {s.convergence_deg:.1f} deg, "
            f"working distance ~{s.working_distance_m:.2f} m; world: {self.origin} ({self.world_up} up).",
        ]
        sig = s.sigma
        if sig:
            lines.append(
                f"Solver: {s.solver}; uncertainty (1 sigma): f {sig.get('fx_0', np.nan):.1f} / "
                f"{sig.get('fx_1', np.nan):.1f} px, baseline {1000 * sig.get('baseline_m', np.nan):.1f} mm, "
                f"rotation {sig.get('rotation_deg', np.nan):.2f} deg."
            )
        if s.bundle is not None:
            lines.append(s.bundle.note[0].upper() + s.bundle.note[1:] + ".")
        if self.quality.advice:
            lines.append("Advice: " + self.quality.advice)
        if self.path is not None:
            lines.append(f"Saved to {self.path}")
        return "\n".join(lines)


def _sigma_metadata(sigma: dict[str, float], names: list[str]) -> dict[str, Any]:
    """The ``[metadata]`` entries of the saved result's uncertainties (none when they are unknown)."""
    if not sigma:
        return {}
    return {
        "sigma_f_px": {n: _f(sigma.get(f"fx_{k}", float("nan"))) for k, n in enumerate(names)},
        "sigma_principal_point_px": {
            n: _f(float(np.hypot(sigma.get(f"cx_{k}", np.nan), sigma.get(f"cy_{k}", np.nan))))
            for k, n in enumerate(names)
        },
        "sigma_baseline_m": _f(sigma.get("baseline_m", float("nan"))),
        "sigma_rotation_deg": _f(sigma.get("rotation_deg", float("nan"))),
    }


def _moved(ir: IntrinsicsResult, stereo: StereoResult, k: int) -> IntrinsicsResult:
    """Camera ``k``'s intrinsics as the final stereo solve left them (with the adjustment's RMS when it ran)."""
    cam = stereo.group[k].with_pose(np.eye(3), np.zeros(3))
    res = stereo.bundle.result if stereo.bundle is not None and stereo.bundle.kept else None
    if res is None or ir.source != "calibrated":
        return replace(ir, camera=cam)
    return replace(ir, camera=cam, rms=float(res.rms_per_camera_px[k]), std_fx=stereo.sigma.get(f"fx_{k}", ir.std_fx))


def _f(v: float, nd: int = 6) -> float | None:
    v = float(v)
    return round(v, nd) if np.isfinite(v) else None


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj


class CalibrationSession:
    """Collects board views from two cameras and solves the stereo calibration.

    ``board``: the target. ``image_sizes``: ``(w, h)`` per camera, or None to take them from the first
    frames. ``names``: camera names in the result. ``max_views``/``min_views``: per-camera intrinsic views;
    ``max_pairs``/``min_pairs``: stereo pairs. ``require_novelty``: keep a view only if it adds coverage,
    tilt or distance (live video); False keeps every sharp non-duplicate view (deliberate photos).
    ``duplicate_fraction``: a view whose corners moved less than this fraction of the image diagonal from a
    kept view is a near-duplicate. ``max_motion_px``: a stereo pair is kept only if the board moved at most
    this much (mean corner shift, px) since the previous frame in both cameras: webcams are not exposed
    at the same instant, so a moving board gives stereo error (None: no limit; offline footage).
    ``thorough``: slower, more persistent chessboard search (photos). Thread-safe: one thread may feed
    frames while another reads :meth:`state` or runs :meth:`running_rms`.
    """

    def __init__(
        self,
        board: Board,
        image_sizes: tuple[tuple[int, int] | None, tuple[int, int] | None] | None = None,
        *,
        names: tuple[str, str] = ("cam_0", "cam_1"),
        max_views: int = 40,
        min_views: int = 8,
        max_pairs: int = 40,
        min_pairs: int = 6,
        min_corners: int = 6,
        require_novelty: bool = True,
        duplicate_fraction: float = 0.02,
        max_motion_px: float | None = 2.0,
        thorough: bool = False,
    ) -> None:
        if names[0] == names[1]:
            raise CalibrationError(f"the two cameras need different names, got {names[0]!r} twice.")
        self.board = board
        self.names = (str(names[0]), str(names[1]))
        self._opts = dict(
            max_views=max_views,
            min_views=min_views,
            max_pairs=max_pairs,
            min_pairs=min_pairs,
            min_corners=min_corners,
            require_novelty=require_novelty,
            duplicate_fraction=duplicate_fraction,
            max_motion_px=max_motion_px,
        )
        self._last: list[Detection | None] = [None, None]
        self._thorough = thorough
        self._lock = threading.RLock()
        self.detectors = (
            BoardDetector(board, thorough=thorough, min_corners=min_corners),
            BoardDetector(board, thorough=thorough, min_corners=min_corners),
        )
        self._sizes: list[tuple[int, int] | None] = list(image_sizes) if image_sizes else [None, None]
        self._views: list[ViewSelector | None] = [None, None]
        self._pairs: PairSelector | None = None
        self._loaded: list[IntrinsicsResult | None] = [None, None]
        self._running: list[QuickEstimate | None] = [None, None]
        for cam in (0, 1):
            if self._sizes[cam] is not None:
                self._ensure(cam, self._sizes[cam])  # type: ignore[arg-type]

    # ------------------------------------------------------------------ setup
    def _ensure(self, cam: int, size: tuple[int, int]) -> None:
        size = (int(size[0]), int(size[1]))
        if self._sizes[cam] is None:
            self._sizes[cam] = size
        if self._sizes[cam] != size:
            raise CalibrationError(
                f"camera {cam} ({self.names[cam]}) changed resolution from {self._sizes[cam][0]}x{self._sizes[cam][1]} "  # type: ignore[index]
                f"to {size[0]}x{size[1]} during capture. Keep one resolution, or reset the session."
            )
        loaded = self._loaded[cam]
        if loaded is not None and loaded.camera.size != size:
            raise CalibrationError(
                f"the loaded intrinsics of {self.names[cam]} are for {loaded.camera.size[0]}x{loaded.camera.size[1]} "
                f"but the camera delivers {size[0]}x{size[1]}. Set the camera to that resolution or calibrate it."
            )
        o = self._opts
        if self._views[cam] is None:
            self._views[cam] = ViewSelector(
                size,
                self.board,
                max_views=o["max_views"],
                min_views=o["min_views"],
                min_corners=o["min_corners"],
                require_novelty=o["require_novelty"],
                duplicate_fraction=o["duplicate_fraction"],
            )
            if loaded is not None:
                self._views[cam].set_camera_matrix(loaded.camera.K, loaded.camera.dist)  # type: ignore[union-attr]
        if self._pairs is None and self._sizes[0] is not None and self._sizes[1] is not None:
            self._pairs = PairSelector(
                (self._sizes[0], self._sizes[1]),
                self.board,
                max_pairs=o["max_pairs"],
                min_pairs=o["min_pairs"],
                min_corners=o["min_corners"],
                require_novelty=o["require_novelty"],
                duplicate_fraction=o["duplicate_fraction"],
                max_motion_px=o["max_motion_px"],
            )
            for c in (0, 1):
                src = self._loaded[c] or self._running[c]
                if src is not None:
                    K = src.camera.K if isinstance(src, IntrinsicsResult) else src.K
                    d = src.camera.dist if isinstance(src, IntrinsicsResult) else src.dist
                    self._pairs.set_camera_matrix(c, K, d)

    @property
    def image_sizes(self) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
        return (self._sizes[0], self._sizes[1])

    def set_intrinsics(self, cam: int, intrinsics: IntrinsicsResult | None) -> None:
        """Use known intrinsics for camera ``cam`` (None: calibrate it from the captured views again)."""
        with self._lock:
            if intrinsics is not None:
                intrinsics = replace(intrinsics, camera=replace(intrinsics.camera, name=self.names[cam]))
                size = self._sizes[cam]
                if size is not None and intrinsics.camera.size != size:
                    raise CalibrationError(
                        f"these intrinsics are for {intrinsics.camera.size[0]}x{intrinsics.camera.size[1]} but "
                        f"{self.names[cam]} delivers {size[0]}x{size[1]}. Use intrinsics made at this resolution."
                    )
                if self._views[cam] is not None:
                    self._views[cam].set_camera_matrix(intrinsics.camera.K, intrinsics.camera.dist)  # type: ignore[union-attr]
                if self._pairs is not None:
                    self._pairs.set_camera_matrix(cam, intrinsics.camera.K, intrinsics.camera.dist)
            self._loaded[cam] = intrinsics

    def load_intrinsics(self, cam: int, path: str | os.PathLike, camera: str | int = 0) -> IntrinsicsResult:
        """Load camera ``cam``'s intrinsics from a calibration TOML instead of capturing them."""
        ir = load_intrinsics(path, camera, image_size=self._sizes[cam])
        self.set_intrinsics(cam, ir)
        return self._loaded[cam]  # type: ignore[return-value]

    def reset(self) -> None:
        """Forget every captured view and pair (loaded intrinsics stay)."""
        with self._lock:
            self._views = [None, None]
            self._pairs = None
            self._running = [None, None]
            for cam in (0, 1):
                if self._sizes[cam] is not None:
                    self._ensure(cam, self._sizes[cam])  # type: ignore[arg-type]

    # ------------------------------------------------------------------ feeding
    def detect(self, cam: int, image: np.ndarray, diagnose: Diagnose = "quick") -> Detection:
        """Detect the board in camera ``cam``'s image with that camera's detector (no selection)."""
        return self.detectors[cam].detect(image, diagnose=diagnose)

    def add_detection(self, cam: int, det: Detection) -> FrameFeedback:
        """Offer one camera's detection to its intrinsic-view selector."""
        with self._lock:
            self._ensure(cam, det.image_size)
            dec = None if self._loaded[cam] is not None else self._views[cam].consider(det)  # type: ignore[union-attr]
            return FrameFeedback(cam, det, dec, self.state())

    def add_pair(self, det0: Detection, det1: Detection, consecutive: bool = True) -> PairFeedback:
        """Offer a synchronised pair of detections to both cameras' selectors and the pair selector.

        ``consecutive``: the previous pair offered was the previous frame (live), so the board's motion
        between them is measured and a moving board's pair is rejected (see ``max_motion_px``).
        """
        with self._lock:
            self._ensure(0, det0.image_size)
            self._ensure(1, det1.image_size)
            shifts = [motion_px(self._last[0], det0), motion_px(self._last[1], det1)] if consecutive else []
            shifts = [m for m in shifts if np.isfinite(m)]
            moved = max(shifts) if shifts else None
            self._last = [det0, det1]
            v0 = None if self._loaded[0] is not None else self._views[0].consider(det0)  # type: ignore[union-attr]
            v1 = None if self._loaded[1] is not None else self._views[1].consider(det1)  # type: ignore[union-attr]
            pd = self._pairs.consider(det0, det1, motion_px=moved)  # type: ignore[union-attr]
            return PairFeedback(det0, det1, v0, v1, pd, self.state())

    def process_frame(self, cam: int, image: np.ndarray, diagnose: Diagnose = "quick") -> FrameFeedback:
        """Detect and select in one camera's frame (the intrinsics phase)."""
        return self.add_detection(cam, self.detect(cam, image, diagnose))

    def process_pair(self, image0: np.ndarray, image1: np.ndarray, diagnose: Diagnose = "quick") -> PairFeedback:
        """Detect in both synchronised frames and select (the stereo phase; also feeds the intrinsics)."""
        return self.add_pair(self.detect(0, image0, diagnose), self.detect(1, image1, diagnose))

    # ------------------------------------------------------------------ live figures
    def views(self, cam: int) -> list[Detection]:
        """Copy of camera ``cam``'s kept intrinsic views."""
        with self._lock:
            sel = self._views[cam]
            return [] if sel is None else list(sel.views)

    def pairs(self) -> list[tuple[Detection, Detection]]:
        """Copy of the kept stereo pairs."""
        with self._lock:
            return [] if self._pairs is None else list(self._pairs.pairs)

    def running_rms(self, cam: int, max_views: int = 12) -> QuickEstimate | None:
        """Cheap intrinsic fit of camera ``cam`` on its kept views (tens of ms; run it in a worker every few
        kept views). Also improves the pose estimates the selectors use. None if too few views."""
        with self._lock:
            size = self._sizes[cam]
            views = self.views(cam)
        if size is None:
            return None
        est = quick_calibrate(views, size, max_views=max_views)
        if est is not None:
            with self._lock:
                self._running[cam] = est
                if self._loaded[cam] is None:
                    if self._views[cam] is not None:
                        self._views[cam].set_camera_matrix(est.K, est.dist)  # type: ignore[union-attr]
                    if self._pairs is not None:
                        self._pairs.set_camera_matrix(cam, est.K, est.dist)
        return est

    def state(self) -> SessionState:
        """An immutable snapshot for the UI."""
        with self._lock:
            cams = tuple(
                None if (self._views[c] is None or self._loaded[c] is not None) else self._views[c].state()  # type: ignore[union-attr]
                for c in (0, 1)
            )
            pairs = None if self._pairs is None else self._pairs.state()
            loaded = (self._loaded[0] is not None, self._loaded[1] is not None)
            ready_cams = all(loaded[c] or (cams[c] is not None and cams[c].ready) for c in (0, 1))  # type: ignore[union-attr]
            ready = ready_cams and pairs is not None and pairs.ready
            advice = self._advice(cams, pairs, loaded, ready)
            return SessionState(
                cameras=(cams[0], cams[1]),
                pairs=pairs,
                intrinsics_loaded=loaded,
                running=(self._running[0], self._running[1]),
                ready=ready,
                advice=advice,
                pair_heatmaps=None if self._pairs is None else self._pairs.heatmaps(),
            )

    def _advice(self, cams: tuple, pairs: SelectionState | None, loaded: tuple[bool, bool], ready: bool) -> str:
        if self._sizes[0] is None or self._sizes[1] is None:
            missing = [self.names[c] for c in (0, 1) if self._sizes[c] is None]
            return f"Waiting for frames from {', '.join(missing)}."
        if pairs is not None and pairs.last is not None and pairs.last.code == "moving":
            return pairs.last.reason
        for c in (0, 1):
            st = cams[c]
            if not loaded[c] and st is not None and not st.ready:
                return f"{self.names[c]}: {st.advice}"
        if pairs is not None and not pairs.ready:
            if pairs.views_kept == 0:
                return "Hold the board where BOTH cameras see all of it."
            return (
                f"Stereo: {pairs.views_kept}/{pairs.min_views} pairs. Hold the board where both cameras see it, "
                "at new places and angles."
            )
        if ready:
            for c in (0, 1):
                st = cams[c]
                if st is not None and st.coverage < 0.5:
                    return f"{self.names[c]}: {st.advice} (or calibrate now)"
            return "Ready: press Calibrate (more varied views still help)."
        return ""

    def thin(self, max_views: int | None = None, max_pairs: int | None = None) -> None:
        """Reduce the kept views/pairs to the most diverse ``max_views``/``max_pairs`` (defaults: the caps).

        For offline use with ``require_novelty=False`` and large caps: keep everything usable, then thin."""
        with self._lock:
            for sel in self._views:
                if sel is not None:
                    sel.thin(max_views or self._opts["max_views"])
            if self._pairs is not None:
                self._pairs.thin(max_pairs or self._opts["max_pairs"])

    def replace_pairs(self, pairs: list[tuple[Detection, Detection]]) -> None:
        """Forget the kept stereo pairs and offer these instead (e.g. after re-synchronising the frames)."""
        with self._lock:
            self._pairs = None
            self._ensure(0, self._sizes[0])  # type: ignore[arg-type]
            for a, b in pairs:
                self._pairs.consider(a, b)  # type: ignore[union-attr]

    # ------------------------------------------------------------------ solving
    def _require_two(self) -> None:
        if self._sizes[0] is None or self._sizes[1] is None:
            which = [self.names[c] for c in (0, 1) if self._sizes[c] is None]
            raise CalibrationError(
                f"no frames from {', '.join(which)}: a stereo calibration needs two cameras. "
                "Connect and select the second camera (or give the second video/folder)."
            )

    def solve_intrinsics(
        self, progress: Progress | None = None, cancel: CancelLike = None, model: str = "auto"
    ) -> tuple[IntrinsicsResult, IntrinsicsResult]:
        """Both cameras' intrinsics: the loaded ones, or calibrated from the kept views.

        ``progress(done, STEPS, message)`` reaches 40 % of :data:`STEPS` (the rest is the stereo solve).
        """
        with self._lock:
            self._require_two()
            sizes = list(self._sizes)
            views = [self.views(0), self.views(1)]
            loaded = list(self._loaded)
        intr: list[IntrinsicsResult] = []
        for cam in (0, 1):
            check_cancel(cancel)
            report_at(
                progress, 0.05 + 0.35 * cam, f"calibrating {self.names[cam]} intrinsics ({len(views[cam])} views)"
            )
            if loaded[cam] is not None:
                intr.append(loaded[cam])  # type: ignore[arg-type]
            else:
                intr.append(calibrate_intrinsics(views[cam], sizes[cam], name=self.names[cam], model=model))  # type: ignore[arg-type]
        return intr[0], intr[1]

    def solve(
        self,
        progress: Progress | None = None,
        cancel: CancelLike = None,
        refine: bool | str = "auto",
        model: str = "auto",
        intrinsics: tuple[IntrinsicsResult, IntrinsicsResult] | None = None,
        bundle: bool | str = "auto",
    ) -> CalibrationResult:
        """Calibrate both cameras' intrinsics (unless loaded or given), then the stereo extrinsics, then grade.

        ``progress(done, STEPS, message)`` (:class:`core.jobs.Progress`, thousandths) is called between steps;
        ``cancel`` (a :class:`core.jobs.CancelToken`, an event or a callable) is checked between steps and raises
        :class:`CalibrationCancelledError`. ``refine``: joint refinement policy
        (see :func:`calibrate_stereo`). ``intrinsics``: reuse a :meth:`solve_intrinsics` result. ``bundle``:
        "auto" (bundle-adjust and keep it when held-out pairs agree better: :func:`calibration.bundle.adjust_stereo`),
        True (keep it regardless) or False (skip it). Known (loaded) intrinsics stay fixed in the adjustment.
        Raises :class:`CalibrationError` with what to do on failure.
        """
        t0 = time.perf_counter()
        with self._lock:
            self._require_two()
            views = [self.views(0), self.views(1)]
            pairs = self.pairs()
            coverage_pairs = None if self._pairs is None else self._pairs.coverage()
            moving = 0 if self._pairs is None else self._pairs.rejected.get("moving", 0)
        if len(pairs) < 3 and moving:
            raise CalibrationError(
                f"only {len(pairs)} usable stereo pair(s): {moving} frame pair(s) were skipped because the board "
                "was moving (the two webcams do not expose at the same instant). Hold the board still for a "
                "moment at each position, where both cameras see all of it."
            )
        timings: dict[str, float] = {}
        intr = list(intrinsics) if intrinsics is not None else list(self.solve_intrinsics(progress, cancel, model))
        timings["intrinsics_s"] = time.perf_counter() - t0
        check_cancel(cancel)
        report_at(progress, 0.75, f"solving the stereo pose from {len(pairs)} pairs")
        t = time.perf_counter()
        stereo = calibrate_stereo(
            pairs,
            intr[0].camera,
            intr[1].camera,
            refine=refine,
            models=(intr[0].model, intr[1].model),
            min_pairs=min(self._opts["min_pairs"], 3),
        )
        timings["stereo_s"] = time.perf_counter() - t
        check_cancel(cancel)
        if bundle:
            report_at(progress, 0.85, "bundle adjustment of both cameras and every board pose")
            t = time.perf_counter()
            check = adjust_stereo(
                pairs,
                (views[0], views[1]),
                stereo,
                models=(intr[0].model, intr[1].model),
                fix_intrinsics=(intr[0].source != "calibrated", intr[1].source != "calibrated"),
                force=bundle is True,
            )
            stereo = stereo_with_bundle(stereo, pairs, check)
            timings["bundle_s"] = time.perf_counter() - t
            check_cancel(cancel)
        if stereo.refined or stereo.solver == "bundle adjustment":  # the intrinsics moved too: report them so
            intr = [_moved(ir, stereo, k) for k, ir in enumerate(intr)]
        coverage = [ir.coverage if ir.source == "calibrated" else float("nan") for ir in intr]
        if coverage_pairs is not None:
            coverage = [cv if np.isfinite(cv) else cp for cv, cp in zip(coverage, coverage_pairs)]
        quality = assess(intr, stereo, coverage)
        timings["solve_s"] = time.perf_counter() - t0
        report_at(progress, 1.0, f"done: {quality.verdict}")
        return CalibrationResult(
            group=stereo.group,
            intrinsics=(intr[0], intr[1]),
            stereo=stereo,
            quality=quality,
            board=self.board,
            world_up="-y",
            origin=self.names[0],
            info={"timings": timings, "views": [len(views[0]), len(views[1])], "pairs_kept": len(pairs)},
        )
