"""The capture loop of a calibration run, as a job for a worker thread: :class:`CaptureJob`. No Qt.

One job plays a feed (camera frames or a recording, paced or as fast as possible) into the run's session:
it detects the board (both cameras of a pair in parallel), offers views to the session automatically or on
request, updates the running intrinsic estimate and the live stereo estimate (:func:`estimate_stereo`) every
few kept views, diagnoses a board that is never seen, and publishes the newest :class:`PreviewPacket`.

The caller controls a running job through a thread-safe :class:`CaptureControl` (pause, automatic capture,
capture now) and hears from it through ``on_notice(CaptureNotice)`` (the app passes ``Task.post``). A
:attr:`Notice.PACKET` notice means a packet waits in :meth:`CaptureControl.take_packet`: there is one slot, so
a slow consumer skips packets and never queues them.

Usage (a thread; the cancel token ends it)::

    control = CaptureControl(auto=True)
    job = CaptureJob(run, "pairs", control, on_notice=print)
    job(progress, cancel)  # returns a CaptureSummary, or raises core.jobs.Cancelled once cancel is set

Units: images are ``(H, W, 3)`` BGR uint8; a packet's corners are full-resolution pixels and its ``scales``
say how the preview images were shrunk; lengths metres, times seconds.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import cv2
import numpy as np

from calibration.detect import BoardDetector, Detection
from calibration.engine import SessionState
from calibration.feeds import DeviceFeed, FeedEnded, FeedItem, RecordingFeed
from calibration.run import CalibrationRun
from calibration.selection import ViewDecision
from calibration.stereo import calibrate_stereo
from core.errors import CalibrationError, CrossViewError
from core.jobs import Cancelled, Progress

log = logging.getLogger(__name__)

#: What a capture job calibrates: one camera's lens ("cam0", "cam1") or the stereo pairs.
MODES = ("cam0", "cam1", "pairs")
#: Longest side (px) of the preview images a job publishes.
PREVIEW_SIDE = 960
#: Kept views between two running intrinsic estimates / live stereo estimates.
ESTIMATE_EVERY = 3
#: The board counts as "not seen" after this many frames or seconds without it; then it is diagnosed.
NOT_SEEN_FRAMES = 20
NOT_SEEN_S = 3.0
#: Least time between two full diagnoses (0.2-0.4 s each) of frames without the board.
DIAGNOSE_EVERY_S = 2.0
#: How long the loop waits for a frame (or for a resume) before it looks at the cancel token again, seconds.
POLL_S = 0.2


# ----------------------------------------------------------------------------------------------- what a job reports
@dataclass(frozen=True)
class StereoEstimate:
    """A live stereo fit on the kept pairs with the running intrinsics (px / m); ``error`` when it failed."""

    epipolar_px: float
    rms: float
    baseline_m: float
    n_pairs: int
    heldout: bool
    error: str = ""


@dataclass
class PreviewPacket:
    """What a capture job shows after one step.

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


class Notice(enum.StrEnum):
    """What a :class:`CaptureNotice` says."""

    #: a preview packet waits in :meth:`CaptureControl.take_packet`
    PACKET = "packet"
    #: a source or input problem ('' when it is solved)
    PROBLEM = "problem"
    #: why the board is not seen ('' when it is seen again)
    DIAGNOSIS = "diagnosis"
    #: something worth knowing (the frames were paired again)
    INFO = "info"
    #: the recording played to its end; the text sums up what was kept
    ENDED = "ended"


@dataclass(frozen=True)
class CaptureNotice:
    """One message of a capture job to its caller."""

    kind: Notice
    text: str = ""


@dataclass(frozen=True)
class CaptureSummary:
    """What a capture job did: frames processed, and whether the recording played to its end."""

    frames_processed: int
    ended: bool


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


# ----------------------------------------------------------------------------------------------- control
class CaptureControl:
    """The thread-safe controls of a running capture (any thread): pause, automatic capture, capture now, and
    the one-packet slot the job publishes into and the consumer takes from."""

    def __init__(self, auto: bool = True) -> None:
        self._resume = threading.Event()
        self._resume.set()
        self._lock = threading.Lock()
        self._auto = bool(auto)
        self._capture_now = False
        self._slot: PreviewPacket | None = None

    def set_paused(self, paused: bool) -> None:
        if paused:
            self._resume.clear()
        else:
            self._resume.set()

    def paused(self) -> bool:
        return not self._resume.is_set()

    def wait_resumed(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a resume; True when running again."""
        return self._resume.wait(timeout)

    def set_auto(self, auto: bool) -> None:
        with self._lock:
            self._auto = bool(auto)

    def auto(self) -> bool:
        with self._lock:
            return self._auto

    def request_capture(self) -> None:
        """Offer the next frame to the engine (manual capture)."""
        with self._lock:
            self._capture_now = True

    def take_offer(self) -> bool:
        """Whether the job offers its current frame to the engine (automatic, or one capture requested)."""
        with self._lock:
            if self._auto:
                return True
            if self._capture_now:
                self._capture_now = False
                return True
            return False

    def publish(self, pkt: PreviewPacket) -> bool:
        """Put ``pkt`` in the slot (replacing one not taken yet); True when the slot was empty (tell the consumer)."""
        with self._lock:
            pending = self._slot is not None
            self._slot = pkt
        return not pending

    def pending_packet(self) -> PreviewPacket | None:
        """The packet in the slot, left there."""
        with self._lock:
            return self._slot

    def take_packet(self) -> PreviewPacket | None:
        """The newest packet, emptying the slot (None when there is none)."""
        with self._lock:
            pkt, self._slot = self._slot, None
            return pkt


# ----------------------------------------------------------------------------------------------- the job
class _Offered(NamedTuple):
    decisions: list[ViewDecision | None]
    pair_decision: ViewDecision | None
    kept: bool
    state: SessionState


@dataclass
class _BoardWatch:
    """Per view: when the board was last seen, for how many frames it was not, and sample frames without it."""

    views: int
    found_any: list[bool] = field(init=False)
    last_found: list[float] = field(init=False)
    not_found_n: list[int] = field(init=False)
    last_diag: list[float] = field(init=False)
    samples: list[deque] = field(init=False)

    def __post_init__(self) -> None:
        self.found_any = [False] * self.views
        self.last_found = [time.monotonic()] * self.views
        self.not_found_n = [0] * self.views
        self.last_diag = [0.0] * self.views
        self.samples = [deque(maxlen=3) for _ in range(self.views)]


class CaptureJob:
    """Plays a feed into ``run``'s session: the job ``job(progress, cancel)`` of one capture page.

    ``mode``: "cam0", "cam1" (one camera's intrinsics) or "pairs" (stereo); ``control``: pause / auto /
    capture now, and the packet slot; ``on_notice``: called from the job's thread with each
    :class:`CaptureNotice`. The job ends when the recording ends (a :attr:`Notice.ENDED` notice first), after a
    problem it cannot go past (a :attr:`Notice.PROBLEM` notice), or by raising :class:`core.jobs.Cancelled`
    once ``cancel`` (an event) is set. It never raises anything else: unexpected errors become problems.
    """

    def __init__(
        self,
        run: CalibrationRun,
        mode: str,
        control: CaptureControl,
        on_notice: Callable[[CaptureNotice], None],
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be cam0, cam1 or pairs, got {mode!r}")
        self.run = run
        self.mode = mode
        self.cam = None if mode == "pairs" else int(mode[-1])
        self.control = control
        self._notify = on_notice
        self.frames_processed = 0
        self.ended = False
        self._estimate: StereoEstimate | None = None
        self._kept_since_estimate = 0
        self._last_problem = ""
        self._views = 1 if self.cam is not None else 2
        self._watch = _BoardWatch(self._views)
        self._pool: ThreadPoolExecutor | None = None
        self._diag_detector: BoardDetector | None = None

    # ---------------------------------------------------------------- entry
    def __call__(self, progress: Progress, cancel: threading.Event) -> CaptureSummary:
        try:
            feed = self._open_feed(cancel)
        except CrossViewError as exc:
            self._say(Notice.PROBLEM, str(exc))
            return self._summary()
        except Exception as exc:  # a capture must never take the app down
            log.exception("opening the capture feed failed")
            self._say(Notice.PROBLEM, f"Could not start the capture: {exc}")
            return self._summary()
        self._diag_detector = BoardDetector(self.run.board, thorough=self.run.options.get("thorough", False))
        self._watch = _BoardWatch(self._views)
        if self._views == 2:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="calib-detect")
        try:
            stopped = self._loop(feed, cancel)
        except Cancelled:
            raise
        except Exception as exc:  # never a traceback in the GUI: report and stop this capture
            log.exception("capture worker failed")
            self._say(Notice.PROBLEM, f"The capture stopped after an unexpected error: {type(exc).__name__}: {exc}")
            stopped = False
        finally:
            feed.close()
            if self._pool is not None:
                self._pool.shutdown(wait=True)
        if stopped:
            raise Cancelled("the capture was stopped.")
        return self._summary()

    def _summary(self) -> CaptureSummary:
        return CaptureSummary(self.frames_processed, self.ended)

    def _open_feed(self, cancel: threading.Event) -> RecordingFeed | DeviceFeed:
        run = self.run
        if run.recordings is not None:
            return RecordingFeed(run.recordings, self.cam, run.spec.pace, cancel, int(round(run.frame_offset)))
        return DeviceFeed(run.devices, self.cam)

    def _say(self, kind: Notice, text: str = "") -> None:
        self._notify(CaptureNotice(kind, text))

    def _publish(self, pkt: PreviewPacket) -> None:
        if self.control.publish(pkt):
            self._say(Notice.PACKET)

    def _camera_number(self, view: int) -> int:
        """The camera (1 or 2) that view ``view`` of this job shows."""
        return (self.cam if self.cam is not None else view) + 1

    # ---------------------------------------------------------------- loop
    def _loop(self, feed: RecordingFeed | DeviceFeed, cancel: threading.Event) -> bool:
        """Play the feed; True when it stopped because of ``cancel``, False at the end of the recording or
        after a problem."""
        while not cancel.is_set():
            if self.control.paused():
                if self.control.wait_resumed(POLL_S):
                    feed.reanchor()
                continue
            self._report_problem(feed.problem())
            try:
                item = feed.get(POLL_S)
            except FeedEnded:
                self._end_of_stream(cancel)
                return False
            except CrossViewError as exc:
                self._say(Notice.PROBLEM, str(exc))
                return False
            if item is None or self._mixed_resolutions(item):
                continue
            if not self._step(item):
                return False
        return True

    def _report_problem(self, problem: str) -> None:
        if problem != self._last_problem:
            self._last_problem = problem
            self._say(Notice.PROBLEM, problem)

    def _mixed_resolutions(self, item: FeedItem) -> bool:
        """Two images of different sizes: say so (once) and skip the pair."""
        if len(item.images) != 2 or item.images[0].shape == item.images[1].shape:
            return False
        h0, w0 = item.images[0].shape[:2]
        h1, w1 = item.images[1].shape[:2]
        self._report_problem(
            f"The two cameras deliver different resolutions ({w0}x{h0} and {w1}x{h1}). Go back to the "
            "first page and give both the same resolution."
        )
        return True

    def _step(self, item: FeedItem) -> bool:
        """Detect, offer, watch for the board, publish; False after a problem that ends the capture."""
        dets = self._detect(item)
        self.frames_processed += 1
        offer = self.control.take_offer()
        try:
            offered = self._offer_view(dets, offer) if self.cam is not None else self._offer_pair(item, dets, offer)
        except CrossViewError as exc:
            self._say(Notice.PROBLEM, str(exc))
            return False
        self._watch_board(item, dets)
        previews = [downscale(img) for img in item.images]
        self._publish(
            PreviewPacket(
                images=[p[0] for p in previews],
                scales=[p[1] for p in previews],
                detections=dets,
                decisions=offered.decisions,
                state=offered.state,
                label=item.label,
                progress=item.progress,
                pair_decision=offered.pair_decision,
                kept=offered.kept,
                offered=offer,
                estimate=self._estimate,
            )
        )
        return True

    def _detect(self, item: FeedItem) -> list[Detection]:
        run = self.run
        cams = [self.cam] if self.cam is not None else [0, 1]

        def one(v: int) -> Detection:
            return run.detect(cams[v], item.images[v], item.frames[v])

        if len(cams) == 1:
            return [one(0)]
        assert self._pool is not None
        fut = self._pool.submit(one, 1)  # camera 2's detector in the helper thread, camera 1's here
        d0 = one(0)
        return [d0, fut.result()]

    def _offer_view(self, dets: list[Detection], offer: bool) -> _Offered:
        """One camera's lens: offer the view (when asked), then the running RMS every few kept views."""
        session, cam = self.run.session, self.cam
        assert cam is not None
        decisions: list[ViewDecision | None] = [None]
        kept = False
        if offer:
            fb = session.add_detection(cam, dets[0])
            decisions[0] = fb.decision
            kept = bool(fb.decision is not None and fb.decision.accepted)
            state = fb.state
        else:
            state = session.state()
        if kept:
            self._kept_since_estimate += 1
            if self._kept_since_estimate >= ESTIMATE_EVERY:
                self._kept_since_estimate = 0
                session.running_rms(cam)
                state = session.state()
        return _Offered(decisions, None, kept, state)

    def _offer_pair(self, item: FeedItem, dets: list[Detection], offer: bool) -> _Offered:
        """Stereo: offer the pair (when asked) and store its images when kept, then the live estimates."""
        run = self.run
        decisions: list[ViewDecision | None] = [None, None]
        pair_decision = None
        kept = False
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
            self._kept_since_estimate += 1
            if self._kept_since_estimate >= ESTIMATE_EVERY or self._estimate is None:
                self._kept_since_estimate = 0
                run.refresh_running()
                self._estimate = estimate_stereo(run)
                state = run.session.state()
        return _Offered(decisions, pair_decision, kept, state)

    def _watch_board(self, item: FeedItem, dets: list[Detection]) -> None:
        """The board not seen for a while: say why (a full diagnosis now and then); '' once it is seen."""
        w = self._watch
        now = time.monotonic()
        for v, det in enumerate(dets):
            if det.found:
                if not w.found_any[v] or w.not_found_n[v] >= NOT_SEEN_FRAMES:
                    self._say(Notice.DIAGNOSIS, "")
                w.found_any[v] = True
                w.last_found[v] = now
                w.not_found_n[v] = 0
                continue
            w.not_found_n[v] += 1
            n = w.not_found_n[v]
            if n == 1 or n % 10 == 0:
                w.samples[v].append(item.images[v])
            long_enough = n >= NOT_SEEN_FRAMES or now - w.last_found[v] >= NOT_SEEN_S
            if long_enough and now - w.last_diag[v] >= DIAGNOSE_EVERY_S:
                w.last_diag[v] = now
                assert self._diag_detector is not None
                full = self._diag_detector.detect(item.images[v], diagnose="full")
                why = best_reason([full, det]) or "show the whole board to the camera, flat and well lit."
                who = f"camera {self._camera_number(v)}"
                self._say(Notice.DIAGNOSIS, f"The board has not been seen by {who} for {n} frames: {why}")

    # ---------------------------------------------------------------- end of a recording
    def _end_of_stream(self, cancel: threading.Event) -> None:
        run = self.run
        self.ended = True
        run.played.add(self.mode)
        self._explain_never_seen()
        if self.cam is not None:
            if run.loaded[self.cam] is None and len(run.session.views(self.cam)) >= 3:
                run.session.running_rms(self.cam)
        else:
            run.refresh_running()
            if run.spec.kind == "videos" and run.frame_offset == 0:
                self._resync(cancel)
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
        self._say(Notice.ENDED, summary)

    def _explain_never_seen(self) -> None:
        """A camera that never saw the board in the whole recording: why, from a full diagnosis of samples."""
        assert self._diag_detector is not None
        for v, seen in enumerate(self._watch.found_any):
            if seen:
                continue
            diag = [self._diag_detector.detect(img, diagnose="full") for img in self._watch.samples[v]]
            why = best_reason(diag) or (
                "Check that the board is in view and that the board definition matches the print."
            )
            self._say(
                Notice.PROBLEM,
                f"The board ({self.run.board.describe()}) was never found in camera {self._camera_number(v)}'s "
                f"recording. {why} Go back to the board page to fix the definition, or record again with the "
                "whole board in view.",
            )

    def _resync(self, cancel: threading.Event) -> None:
        """The synchronisation check of recorded videos (:meth:`CalibrationRun.resync`), said when it re-paired."""
        search = self.run.resync(cancel)
        if search is None:
            return
        best = search.offset
        self._say(
            Notice.INFO,
            f"Camera 2's frames were {abs(best):g} frame(s) {'late' if best > 0 else 'early'} against camera 1 "
            f"(the recordings' timestamps are off): the frames were paired again with a {best:+g} frame shift, "
            f"which makes the pairs agree better (held-out error {search.rms(0):.2f} → {search.rms(best):.2f} px).",
        )

    def _publish_final(self, state: SessionState) -> None:
        last = self.control.pending_packet()
        if last is not None:
            self._publish(replace(last, state=state, estimate=self._estimate, kept=False))
        else:
            self._publish(
                PreviewPacket([], [], [], [], state, "end of the recording", estimate=self._estimate, kept=False)
            )
