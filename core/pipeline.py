"""The processing pipeline: synchronised pair -> 2D (two detectors in parallel) -> 3D -> refinement -> smoothing.

Two drivers share one :class:`PairProcessor`:

- :class:`LivePipeline` takes the newest pair from a :class:`core.sync.LiveSynchronizer` and drops older
  ones, so it never falls behind the cameras and latency stays bounded. Stage A (detection +
  triangulation) and stage B (refinement + smoothing + delivery) run in two threads, so the refiner
  works on pair N while the detectors work on pair N + 1.
- :func:`process_pairs` processes every pair of a recording in order (lossless, for ``process`` and
  benchmarks), decoding ahead in other threads.

No Qt here: results go to plain callbacks; the GUI forwards them to its thread with signals.
Units: pixels, metres, seconds; timings in milliseconds; capture times are ``time.monotonic_ns()``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from core import skeleton
from core.association import DEFAULT_GATE, match_pairs, pair_costs, unmatched_reason
from core.camera import CameraGroup, cameras_for_frames
from core.capture import CameraSource, Frame, SourceState
from core.detection import DEFAULT_DETECTOR, Detection, PersonFollower, PoseDetector
from core.detection import detector_factory as make_detector_factory
from core.errors import InputError
from core.filters import OneEuroFilter
from core.swaps import LeftRightTracker, PairGeometry
from core.sync import FramePair, LiveSynchronizer
from core.tracking import PersonTracker, centrality, person_centres
from core.triangulation import DEFAULT_MIN_CONFIDENCE, Triangulation, confident, from_points, triangulate

log = logging.getLogger(__name__)

#: Joints that must be triangulated for a pose to count as "3D" (hips and shoulders).
CORE_JOINTS = (1, 4, 11, 14)


@dataclass(frozen=True)
class RefineInput:
    """What a refinement hook receives: one pair's 2D ``(2, 17, 3)`` px+conf, coarse 3D ``(17, 3)`` m, cameras,
    and, for hooks that look at recent frames, when the pair was taken (``t_s``, s) and whose pose it is (the
    followed 3D ``track``, -1 when unknown)."""

    keypoints2d: np.ndarray
    coarse: np.ndarray
    cameras: CameraGroup
    t_s: float = float("nan")
    track: int = -1


#: A refinement hook maps a RefineInput to a refined ``(17, 3)`` pose in metres (world frame).
RefineHook = Callable[[RefineInput], np.ndarray]


@runtime_checkable
class TakeRefiner(Protocol):
    """A refinement that needs the whole take (it looks at later frames too; offline Process only):
    ``refine_take(kp2d (F, 2, 17, 3) px+conf, coarse (F, 17, 3) m, cameras, time_s (F,) s) -> (F, 17, 3)`` world m,
    NaN where ``coarse`` is; the frames are the take's pairs in order (frames without 3D are all NaN)."""

    id: str

    def refine_take(
        self, kp2d: np.ndarray, coarse: np.ndarray, cameras: CameraGroup, time_s: np.ndarray | None = None
    ) -> np.ndarray: ...


def refine_fallbacks(hook: object) -> tuple[int, int] | None:
    """(joints a refinement's guard gave back to the coarse pose, joints refined) so far, when the hook counts them
    (``models.refiner.RefinerHook.fallbacks``); None for hooks that do not."""
    counts = getattr(hook, "fallbacks", None)
    if not callable(counts):
        return None
    kept, refined = counts()
    return int(kept), int(refined)


def describe_refine_fallbacks(counts: tuple[int, int] | None) -> str:
    """A sentence for the user: ``"12 of 3,400 refined joints (0.4 %) kept coarse by the guard"``, or ``""``."""
    if not counts or counts[1] <= 0:
        return ""
    kept, refined = counts
    return f"{kept:,} of {refined:,} refined joints ({100 * kept / refined:.1f} %) kept coarse by the guard"


@dataclass
class StageTimes:
    """Per-pair timings in milliseconds (NaN when a stage did not run).

    ``*_ms`` are wall times; ``*_cpu_ms`` the CPU time the stage's thread spent, which is what a stage
    costs the machine (wall times also count waiting for a core when every core is busy). Detection has
    no CPU figure: MediaPipe works in threads of its own.
    """

    grab_to_pair_ms: float = float("nan")
    detect_ms: tuple[float, float] = (float("nan"), float("nan"))
    detect_wall_ms: float = float("nan")
    triangulate_ms: float = float("nan")
    triangulate_cpu_ms: float = float("nan")
    refine_ms: float = float("nan")
    refine_cpu_ms: float = float("nan")
    latency_ms: float = float("nan")


@dataclass(frozen=True)
class People:
    """Everyone the two cameras saw in one pair.

    keypoints: per view ``(N_v, 17, 3)`` ``[x_px, y_px, conf]``; tracks: per view ``(N_v,)`` the 3D track id of each
    person (-1 when not matched across the views); followed: the followed track id (-1 when none).
    """

    keypoints: tuple[np.ndarray, np.ndarray]
    tracks: tuple[np.ndarray, np.ndarray]
    followed: int = -1


def _person_at(boxes: list, x: float, y: float) -> int | None:
    """The index of the person whose box ``(x0, y0, x1, y1)`` px holds ``(x, y)`` (the smallest), else the nearest
    box within a box height, else None."""
    best, best_d = None, np.inf
    for i, b in enumerate(boxes):
        if b is None:
            continue
        x0, y0, x1, y1 = b
        inside = x0 <= x <= x1 and y0 <= y <= y1
        d = (x1 - x0) * (y1 - y0) if inside else 1e12 + np.hypot(x - (x0 + x1) / 2, y - (y0 + y1) / 2)
        if not inside and d - 1e12 > (y1 - y0):
            continue
        if d < best_d:
            best, best_d = i, d
    return best


@dataclass
class PoseResult:
    """The outcome of one processed pair.

    keypoints2d: ``(2, 17, 3)`` ``[x_px, y_px, conf]`` per camera.
    coarse: ``(17, 3)`` m triangulated (NaN where missing) or None when there is no 3D.
    refined: ``(17, 3)`` m after the refinement hook, or None.
    display: ``(17, 3)`` m smoothed for display (from refined if present, else coarse), or None.
    reprojection_error_px: ``(17,)``.
    status: "ok", "no_person", "one_view", "unmatched" (the two views' people do not match) or "error";
    ``reason`` says why there is no 3D.
    """

    pair_index: int
    t_ns: int
    frames: tuple[Frame, Frame]
    keypoints2d: np.ndarray
    coarse: np.ndarray | None
    reprojection_error_px: np.ndarray
    status: str
    reason: str = ""
    refined: np.ndarray | None = None
    display: np.ndarray | None = None
    skew_ms: float = 0.0
    times: StageTimes = field(default_factory=StageTimes)
    relabelled: str = ""
    """Left/right labels repaired in one view before triangulating ("", "legs", "arms", "limbs", "body")."""
    people: People | None = None
    """Everyone each camera saw, with their track ids (the followed person is ``keypoints2d``)."""

    @property
    def has_3d(self) -> bool:
        return self.coarse is not None


@dataclass(frozen=True)
class _Submitted:
    """A pair whose two detections are under way."""

    pair: FramePair
    futures: tuple[Future, Future]
    t_pair_ns: int
    t_submit: float


class _DetectorWorker:
    """One camera's detector, always called from the same thread (MediaPipe keeps tracking state)."""

    def __init__(self, name: str, detector_factory: Callable[[], PoseDetector]) -> None:
        self.name = name
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"detect-{name}")
        self._follower: PersonFollower | None = None
        self._factory = detector_factory
        self._pending_select: tuple[float, float] | None = None
        self._pending_release = False
        # Create the detector on its own thread.
        self._pool.submit(self._init).result()

    def _init(self) -> None:
        self._follower = PersonFollower(self._factory())

    def _detect(self, image: np.ndarray, t_s: float) -> tuple[list[Detection], str, float]:
        """Every person this camera's detector finds, the reason when none, and the time it took (ms)."""
        assert self._follower is not None
        detector = self._follower.detector
        multi = hasattr(detector, "detect_all")
        if self._pending_release:
            if not multi:
                self._follower.release()
            self._pending_release = False
        if self._pending_select is not None:
            x, y = self._pending_select
            if not multi:  # the single-person detector must move its crop; several people need no crop
                self._follower.select(x, y, (image.shape[1], image.shape[0]))
            self._pending_select = None
        t0 = time.perf_counter()
        if multi:
            dets = detector.detect_all(image, t_s)
            reason = "" if dets else "no person detected"
        else:
            det = self._follower.detect(image)
            dets, reason = ([det], "") if det.found else ([], det.reason)
        return dets, reason, (time.perf_counter() - t0) * 1e3

    def submit(self, image: np.ndarray, t_s: float) -> Future:
        return self._pool.submit(self._detect, image, t_s)

    def select(self, x: float, y: float) -> None:
        self._pending_select = (x, y)

    def release_person(self) -> None:
        self._pending_release = True

    @property
    def target_box(self) -> tuple[float, float, float, float] | None:
        return self._follower.target_box if self._follower else None

    def close(self) -> None:
        def _close() -> None:
            if self._follower is not None:
                self._follower.close()
                self._follower.detector.close()

        try:
            self._pool.submit(_close).result(timeout=5)
            idle = True
        except (RuntimeError, TimeoutError):  # already shut down, or a detector call is stuck
            idle = False
        # join the worker thread when it is idle; never wait on a stuck one
        self._pool.shutdown(wait=idle, cancel_futures=True)


class PairProcessor:
    """Detect (both views in parallel), triangulate and refine one synchronised pair at a time.

    ``cameras`` are the two calibrated cameras in the same order as the pair's frames.
    ``refine_hook`` is optional; ``smoothing`` is a One-Euro filter for display (raw values are kept).
    ``fix_swaps`` repairs left/right label swaps of the followed person jointly across the two views and over time
    before triangulating (:class:`core.swaps.LeftRightTracker`, restarted when the followed person changes).
    ``detector_factory`` makes one 2D detector per camera (default: the ``DEFAULT_DETECTOR`` backend).
    """

    def __init__(
        self,
        cameras: CameraGroup,
        refine_hook: RefineHook | None = None,
        min_confidence: float = DEFAULT_MIN_CONFIDENCE,
        smoothing: OneEuroFilter | None = None,
        detector_factory: Callable[[], PoseDetector] | None = None,
        fix_swaps: bool = True,
    ) -> None:
        if len(cameras) != 2:
            raise InputError(f"the pipeline needs exactly two cameras, got {len(cameras)} ({cameras.names}).")
        self.calibrated = cameras
        self.cameras = cameras
        self.refine_hook = refine_hook
        self.refine_enabled = refine_hook is not None
        self.min_confidence = min_confidence
        self.fix_swaps = fix_swaps
        self.smoothing = smoothing if smoothing is not None else OneEuroFilter()
        self.smoothing_enabled = True
        self.warnings: list[str] = []
        self.tracker = PersonTracker()
        self.gate = DEFAULT_GATE
        self._click: tuple[int, float, float, int] | None = None
        self._click_lock = threading.Lock()  # a click arrives from the GUI thread while stage A resolves the last
        self._boxes: list[tuple[float, float, float, float] | None] = [None, None]
        self._sizes: list[tuple[int, int]] | None = None
        self._swaps: tuple[int, CameraGroup, LeftRightTracker] | None = None  # (followed track, cameras, tracker)
        self._take = 0  # the sources' Frame.take: when it changes (a looping video rewound) tracks restart
        #: The followed pair's triangulation under every labelling, from the association (None: not matched).
        self.chosen_geometry: PairGeometry | None = None
        factory = detector_factory or make_detector_factory(DEFAULT_DETECTOR)
        self._workers = [_DetectorWorker(c.name, factory) for c in cameras]

    # -- person selection -------------------------------------------------------------------
    def select_person(self, view: int, x: float, y: float) -> None:
        """Follow the person at pixel (x, y) of view 0 or 1, in both views (their 3D track).

        The click is resolved on the next pairs (up to 30) in which that person is seen by both cameras.
        """
        with self._click_lock:
            self._click = (int(view), float(x), float(y), 30)
        self._workers[view].select(x, y)

    def release_person(self) -> None:
        """Back to the default person (nearest the middle of both images)."""
        with self._click_lock:
            self._click = None
        self.tracker.follow(None)
        for w in self._workers:
            w.release_person()

    def target_boxes(self) -> list[tuple[float, float, float, float] | None]:
        """The followed person's box ``(x0, y0, x1, y1)`` px in each view at the last pair (None where not seen)."""
        boxes = list(self._boxes)
        if boxes == [None, None]:  # the single-person detector's crop, before anyone is matched
            boxes = [w.target_box for w in self._workers]
        return boxes

    # -- stages ----------------------------------------------------------------------------
    def _check_sizes(self, frames: Sequence[Frame]) -> None:
        sizes = [(f.image.shape[1], f.image.shape[0]) for f in frames]
        if sizes != self._sizes:
            self.cameras, self.warnings = cameras_for_frames(self.calibrated, sizes)
            self._sizes = sizes
            for w in self.warnings:
                log.warning(w)

    def submit(self, pair: FramePair) -> _Submitted:
        """Start both detectors on a pair (each camera's detector handles its frames in order)."""
        self._check_sizes(pair.frames)
        futures = tuple(w.submit(f.image, f.t_ns / 1e9) for w, f in zip(self._workers, pair.frames, strict=True))
        return _Submitted(pair, futures, time.monotonic_ns(), time.perf_counter())

    def detect_and_triangulate(self, pair: FramePair) -> PoseResult:
        """Stage A: run both detectors in parallel, then triangulate."""
        return self.complete(self.submit(pair))

    def complete(self, job: _Submitted) -> PoseResult:
        """Wait for a submitted pair's detections; associate the people of the two views, track them in 3D and
        triangulate the followed one."""
        pair, frames, t_pair = job.pair, job.pair.frames, job.t_pair_ns
        results = [fu.result() for fu in job.futures]
        detect_wall = (time.perf_counter() - job.t_submit) * 1e3
        times = StageTimes(
            grab_to_pair_ms=(t_pair - max(f.t_ns for f in frames)) / 1e6,
            detect_ms=(results[0][2], results[1][2]),
            detect_wall_ms=detect_wall,
        )
        t0, c0 = time.perf_counter(), time.thread_time()
        take = max(f.take for f in frames)
        if take != self._take:  # the scene jumped (a looping file rewound): nobody is where they were
            self._take = take
            self.tracker.reset()
            self._swaps = None
        people, chosen, why = self._choose_person([r[0] for r in results], [r[1] for r in results], pair.t_ns / 1e9)
        empty = np.full(skeleton.NUM_JOINTS, np.nan)
        kp = chosen if chosen is not None else np.stack([Detection.empty().keypoints] * 2)  # (2, 17, 3)
        base = dict(pair_index=pair.index, t_ns=pair.t_ns, frames=frames, keypoints2d=kp, skew_ms=pair.skew_ms)
        base.update(people=people)
        if why[0] != "ok":
            times.triangulate_ms = (time.perf_counter() - t0) * 1e3
            status, reason = why
            return PoseResult(
                coarse=None, reprojection_error_px=empty, status=status, reason=reason, times=times, **base
            )
        tri, kp, relabelled = self.triangulate_keypoints(kp, pair.t_ns / 1e9, people.followed, self.chosen_geometry)
        base["keypoints2d"] = kp
        times.triangulate_ms = (time.perf_counter() - t0) * 1e3
        times.triangulate_cpu_ms = (time.thread_time() - c0) * 1e3
        err = tri.reprojection_error_px[0]
        if not tri.valid[0, list(CORE_JOINTS)].all():
            reason = "hips or shoulders are not confidently seen by both cameras"
            return PoseResult(
                coarse=None, reprojection_error_px=err, status="one_view", reason=reason, times=times, **base
            )
        return PoseResult(
            coarse=tri.points[0], reprojection_error_px=err, status="ok", times=times, relabelled=relabelled, **base
        )

    def _choose_person(
        self, dets: list[list[Detection]], reasons: list[str], t_s: float
    ) -> tuple[People, np.ndarray | None, tuple[str, str]]:
        """Associate the two views' people, update the tracks, and pick the followed person's 2D ``(2, 17, 3)``.

        Returns (everyone, the followed person's keypoints (one view only when status is "one_view") or None,
        (status, reason)).
        """
        cands = [np.stack([d.keypoints for d in ds]) if ds else np.empty((0, skeleton.NUM_JOINTS, 3)) for ds in dets]
        boxes = [[d.box for d in ds] for ds in dets]
        found = pair_costs(cands[0], cands[1], self.cameras, self.min_confidence)
        cost = found.cost
        matches = match_pairs(cost, found.points, self.gate)
        self.chosen_geometry = None
        roots = np.array([m.root for m in matches]).reshape(-1, 3)
        points = np.array([m.points for m in matches]).reshape(-1, skeleton.NUM_JOINTS, 3)
        ids = self.tracker.update(roots, t_s, skeleton.bone_lengths(points))
        tracks = [np.full(len(c), -1) for c in cands]
        for m, i in zip(matches, ids, strict=True):
            tracks[0][m.a], tracks[1][m.b] = i, i
        self._resolve_click(boxes, tracks)
        sizes = [c.size for c in self.cameras]
        if matches:
            cent = centrality(cands[0][[m.a for m in matches]], cands[1][[m.b for m in matches]], sizes)
            followed = self.tracker.choose_default(ids, cent)
        else:
            followed = self.tracker.choose_default([], np.empty(0))
        people = People((cands[0], cands[1]), (tracks[0], tracks[1]), followed if followed is not None else -1)
        self._boxes = [None, None]
        for m, i in zip(matches, ids, strict=True):
            if i == followed:
                self._boxes = [boxes[0][m.a], boxes[1][m.b]]
                self.chosen_geometry = found.geometry_of(m.a, m.b)  # reused by the left/right tracker
                return people, np.stack([cands[0][m.a], cands[1][m.b]]), ("ok", "")
        names = self.cameras.names
        seen = [len(c) > 0 for c in cands]
        if not any(seen):
            return people, None, ("no_person", "no person in view of either camera")
        if not all(seen):
            missing = seen.index(False)
            why = f"only {names[1 - missing]} sees the person ({names[missing]}: {reasons[missing]})"
            return people, self._one_view(cands, 1 - missing, followed), ("one_view", why)
        if followed is not None:
            return people, None, ("one_view", f"the followed person (#{followed}) is not seen by both cameras")
        return people, None, ("unmatched", unmatched_reason(cost))

    def _one_view(self, cands: list[np.ndarray], view: int, followed: int | None) -> np.ndarray:
        """``(2, 17, 3)``: in ``view``, the person nearest where the followed track was last seen (else the most
        confident); the other view empty. What is recorded as the 2D of a pair with no 3D."""
        kp = np.stack([Detection.empty().keypoints] * 2)
        pick = 0
        track = self.tracker.tracks.get(followed) if followed is not None else None
        if track is not None and len(cands[view]) > 1:
            at = self.cameras[view].project(track.root[None])[0]
            dist = np.linalg.norm(person_centres(cands[view]) - at, axis=-1)  # (N,) px, NaN: no confident joint
            pick = int(np.argmin(np.nan_to_num(dist, nan=np.inf)))
        kp[view] = cands[view][pick]
        return kp

    def _resolve_click(self, boxes: list[list], tracks: list[np.ndarray]) -> None:
        """Turn a pending click into the followed track once the clicked person is seen by both cameras."""
        with self._click_lock:
            click = self._click
            if click is None:
                return
            view, x, y, left = click
            hit = _person_at(boxes[view], x, y)
            if hit is not None and tracks[view][hit] >= 0:
                self.tracker.follow(int(tracks[view][hit]))
                self._click = None
            else:
                self._click = None if left <= 1 else (view, x, y, left - 1)

    def triangulate_keypoints(
        self, kp: np.ndarray, t_s: float = 0.0, track: int = -1, geometry: PairGeometry | None = None
    ) -> tuple[Triangulation, np.ndarray, str]:
        """Triangulate one pair's keypoints ``(2, 17, 3)`` of person ``track`` seen at ``t_s`` (s); returns
        (result, keypoints as used, relabelling: "" or what was relabelled, see core.swaps).

        With ``fix_swaps`` the left/right labels first go through the followed person's
        :class:`core.swaps.LeftRightTracker`, which keeps them consistent across the views and with the previous
        frames; its 3D (from ``geometry``, the association's triangulation of this pair, when given) is the result.
        """
        if not self.fix_swaps:
            tri = triangulate(kp[:, None, :, :2], kp[:, None, :, 2], self.cameras, min_confidence=self.min_confidence)
            return tri, kp, ""
        if self._swaps is None or self._swaps[0] != track or self._swaps[1] is not self.cameras:
            self._swaps = (track, self.cameras, LeftRightTracker(self.cameras, self.min_confidence))
        kp, relabelled, points = self._swaps[2].step(kp, t_s, geometry)
        used = confident(kp[..., :2], kp[..., 2], self.min_confidence)
        tri = from_points(points[None], kp[:, None, :, :2], used[:, None], self.cameras)
        return tri, kp, relabelled

    def refine_and_smooth(self, result: PoseResult) -> PoseResult:
        """Stage B: the refinement hook (if enabled) and display smoothing."""
        if result.coarse is None:
            return result
        best = result.coarse
        if self.refine_enabled and self.refine_hook is not None:
            t0, c0 = time.perf_counter(), time.thread_time()
            try:
                track = result.people.followed if result.people is not None else -1
                inp = RefineInput(result.keypoints2d, result.coarse, self.cameras, result.t_ns / 1e9, int(track))
                refined = np.asarray(self.refine_hook(inp))
                if refined.shape == (skeleton.NUM_JOINTS, 3):
                    result.refined = refined
                    best = refined
            except Exception as exc:  # a failing model must not stop capture
                log.exception("refinement failed: %s", exc)
                result.reason = f"refinement failed: {exc}"
            result.times.refine_ms = (time.perf_counter() - t0) * 1e3
            result.times.refine_cpu_ms = (time.thread_time() - c0) * 1e3
        if self.smoothing_enabled:
            result.display = self.smoothing(best, result.t_ns / 1e9)
        else:
            result.display = best.copy()
        return result

    def process(self, pair: FramePair) -> PoseResult:
        """Both stages, in this thread."""
        result = self.refine_and_smooth(self.detect_and_triangulate(pair))
        result.times.latency_ms = (time.monotonic_ns() - min(f.t_ns for f in pair.frames)) / 1e6
        return result

    def close(self) -> None:
        for w in self._workers:
            w.close()


class _Window:
    """Thread-safe rolling window of floats with median/p95."""

    def __init__(self, n: int = 300) -> None:
        self._d: deque[float] = deque(maxlen=n)
        self._lock = threading.Lock()

    def add(self, v: float) -> None:
        if np.isfinite(v):
            with self._lock:
                self._d.append(float(v))

    def summary(self) -> dict[str, float]:
        with self._lock:
            a = np.array(self._d)
        if a.size == 0:
            return {"median": float("nan"), "p95": float("nan"), "n": 0}
        return {"median": float(np.median(a)), "p95": float(np.percentile(a, 95)), "n": int(a.size)}


@dataclass
class PipelineStats:
    """A snapshot for the status bar and benchmarks."""

    camera_fps: tuple[float, float]
    camera_states: tuple[str, str]
    camera_reasons: tuple[str, str]
    paired_fps: float
    processed_fps: float
    pairs: int
    processed: int
    superseded: int
    dropped_by_camera: tuple[int, int]
    unpaired: tuple[int, int]
    skew_ms: float
    stages_ms: dict[str, dict[str, float]]
    warnings: list[str]
    #: (joints the refinement's guard kept coarse, joints refined) since the start; None when not counted
    refine_fallbacks: tuple[int, int] | None = None


class LivePipeline:
    """Two camera sources -> synchroniser -> :class:`PairProcessor`, in worker threads.

    Results go to callbacks registered with :meth:`subscribe` (called from the pipeline's thread)
    and are kept as :meth:`latest`. :meth:`stop` stops every thread it started, sources included.
    """

    def __init__(
        self,
        sources: Sequence[CameraSource],
        cameras: CameraGroup,
        refine_hook: RefineHook | None = None,
        min_confidence: float = DEFAULT_MIN_CONFIDENCE,
        detector_factory: Callable[[], PoseDetector] | None = None,
        max_latency_s: float = 0.3,
    ) -> None:
        if len(sources) != 2:
            raise InputError(f"live capture needs two cameras, got {len(sources)}.")
        self.sources = list(sources)
        self.processor = PairProcessor(
            cameras, refine_hook=refine_hook, min_confidence=min_confidence, detector_factory=detector_factory
        )
        self.sync = LiveSynchronizer.for_sources(self.sources[0], self.sources[1], max_latency_s=max_latency_s)
        self._callbacks: list[Callable[[PoseResult], None]] = []
        self._cb_lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._handoff: deque[PoseResult] = deque(maxlen=1)
        self._handoff_ready = threading.Condition()
        self._latest: PoseResult | None = None
        self._processed = 0
        self._stage_superseded = 0
        self._t_start = 0.0
        self._done_times: deque[float] = deque(maxlen=120)
        self._pair_times: deque[float] = deque(maxlen=120)
        self._windows = {k: _Window() for k in ("grab_to_pair", "detect", "triangulate", "refine", "latency")}
        self.sync.subscribe(lambda _p: self._pair_times.append(time.monotonic()))
        self.error: Exception | None = None

    # -- control -------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the sources and the two processing threads."""
        self._stop.clear()
        self._t_start = time.monotonic()
        for s in self.sources:
            if not s.running:
                s.start()
        for target, name in ((self._run_stage_a, "pipeline-detect"), (self._run_stage_b, "pipeline-refine")):
            t = threading.Thread(target=target, name=name, daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self, timeout: float = 3.0) -> bool:
        """Stop threads, sources and detectors. Returns True when every thread ended in time."""
        self._stop.set()
        with self._handoff_ready:
            self._handoff_ready.notify_all()
        ok = True
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
            ok &= not t.is_alive()
        self._threads.clear()
        for s in self.sources:
            ok &= s.stop(timeout=max(0.2, deadline - time.monotonic()))
        self.sync.close()
        self.processor.close()
        return ok

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def subscribe(self, callback: Callable[[PoseResult], None]) -> Callable[[], None]:
        with self._cb_lock:
            self._callbacks.append(callback)

        def unsubscribe() -> None:
            with self._cb_lock, contextlib.suppress(ValueError):
                self._callbacks.remove(callback)

        return unsubscribe

    def latest(self) -> PoseResult | None:
        return self._latest

    def set_refine_enabled(self, enabled: bool) -> None:
        self.processor.refine_enabled = bool(enabled) and self.processor.refine_hook is not None

    def set_refine_hook(self, hook: RefineHook | None) -> None:
        self.processor.refine_hook = hook
        self.processor.refine_enabled = hook is not None

    def set_smoothing(self, enabled: bool, strength: float | None = None) -> None:
        self.processor.smoothing_enabled = bool(enabled)
        if strength is not None:
            self.processor.smoothing.set_strength(strength)

    def select_person(self, view: int, x: float, y: float) -> None:
        self.processor.select_person(view, x, y)

    def release_person(self) -> None:
        self.processor.release_person()

    # -- threads ---------------------------------------------------------------------------------
    def _run_stage_a(self) -> None:
        try:
            while not self._stop.is_set():
                pair = self.sync.get_latest(timeout=0.05)
                if pair is None:
                    continue
                result = self.processor.detect_and_triangulate(pair)
                with self._handoff_ready:
                    if self._handoff:
                        self._stage_superseded += 1
                    self._handoff.append(result)
                    self._handoff_ready.notify()
        except Exception as exc:  # report, never die silently
            log.exception("pipeline stage A failed")
            self.error = exc
            self._stop.set()

    def _run_stage_b(self) -> None:
        try:
            while not self._stop.is_set():
                with self._handoff_ready:
                    while not self._handoff and not self._stop.is_set():
                        self._handoff_ready.wait(0.1)
                    if self._stop.is_set():
                        return
                    result = self._handoff.popleft()
                result = self.processor.refine_and_smooth(result)
                result.times.latency_ms = (time.monotonic_ns() - min(f.t_ns for f in result.frames)) / 1e6
                self._record(result)
                self._latest = result
                with self._cb_lock:
                    callbacks = list(self._callbacks)
                for cb in callbacks:
                    try:
                        cb(result)
                    except Exception:
                        log.exception("pipeline result callback failed")
        except Exception as exc:
            log.exception("pipeline stage B failed")
            self.error = exc
            self._stop.set()

    def _record(self, r: PoseResult) -> None:
        self._processed += 1
        self._done_times.append(time.monotonic())
        t = r.times
        self._windows["grab_to_pair"].add(t.grab_to_pair_ms)
        self._windows["detect"].add(t.detect_wall_ms)
        self._windows["triangulate"].add(t.triangulate_ms)
        self._windows["refine"].add(t.refine_ms)
        self._windows["latency"].add(t.latency_ms)

    # -- statistics ------------------------------------------------------------------------------
    @staticmethod
    def _rate(times: deque[float], horizon_s: float = 2.0) -> float:
        now = time.monotonic()
        recent = [t for t in list(times) if now - t <= horizon_s]
        if len(recent) < 2:
            return 0.0
        span = max(now - recent[0], recent[-1] - recent[0])
        return (len(recent) - 1) / span if span > 0 else 0.0

    def stats(self) -> PipelineStats:
        st = [s.status() for s in self.sources]
        ss = self.sync.stats()
        return PipelineStats(
            camera_fps=(st[0].fps, st[1].fps),
            camera_states=(st[0].state.value, st[1].state.value),
            camera_reasons=(st[0].reason, st[1].reason),
            paired_fps=self._rate(self._pair_times),
            processed_fps=self._rate(self._done_times),
            pairs=ss.pairs,
            processed=self._processed,
            superseded=ss.superseded + self._stage_superseded,
            dropped_by_camera=ss.camera_dropped,
            unpaired=ss.unpaired,
            skew_ms=ss.skew_mean_ms,
            stages_ms={k: w.summary() for k, w in self._windows.items()},
            warnings=list(self.processor.warnings),
            refine_fallbacks=refine_fallbacks(self.processor.refine_hook) if self.processor.refine_enabled else None,
        )

    def camera_problem(self) -> str | None:
        """A sentence for the user when a camera is not delivering, else None."""
        for s in self.sources:
            status = s.status()
            if status.state in (SourceState.DISCONNECTED, SourceState.RECONNECTING, SourceState.ENDED):
                return f"camera '{status.camera}' {status.state.value}: {status.reason}".rstrip(": ")
        return None


def process_pairs(
    pairs: Iterable[FramePair],
    processor: PairProcessor,
    progress: Callable[[int], None] | None = None,
    cancel: threading.Event | None = None,
) -> Iterator[PoseResult]:
    """Process every pair in order (lossless), yielding results; pairs are produced by the caller.

    Nothing waits when it need not: pair N + 1 is handed to the detectors before pair N's detections
    are collected (so a camera's detector never idles while the other finishes), and the refinement
    hook of pair N runs in a worker thread while pair N + 1 is triangulated.
    """
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="refine")
    pending: Future | None = None
    submitted: deque[_Submitted] = deque()
    n = 0

    def finish_one() -> Iterator[PoseResult]:
        nonlocal pending, n
        a = processor.complete(submitted.popleft())
        if pending is not None:
            yield pending.result()
        pending = pool.submit(processor.refine_and_smooth, a)
        n += 1
        if progress is not None:
            progress(n)

    try:
        for pair in pairs:
            if cancel is not None and cancel.is_set():
                break
            submitted.append(processor.submit(pair))
            if len(submitted) > 1:
                yield from finish_one()
        while submitted and not (cancel is not None and cancel.is_set()):
            yield from finish_one()
        if pending is not None:
            yield pending.result()
    finally:
        for job in submitted:  # cancelled: let the detectors finish what they hold, discard it
            for fu in job.futures:
                fu.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
