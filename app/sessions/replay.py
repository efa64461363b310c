"""Replay of a recorded or imported session: both videos with their 2D skeletons, the 3D skeleton (triangulated
and refined, side by side or overlaid) and per-joint plots, all on ONE timeline. Qt only.

- Frames are decoded by :class:`core.session.replay.PairDecoder` in its own thread with a small cache; the
  GUI asks for the pair under the cursor and shows it when it arrives (the newest request wins; a
  :class:`PairRelay` brings it to the GUI thread), so scrubbing never waits for a decoder. What the view shows
  (:class:`core.session.replay.ReplayData`) is loaded off the GUI thread by the presenter and given to
  :meth:`ReplayView.set_data`.
- Timeline: play / pause (Space), step back / forward (Left / Right), a slider to scrub, speed 0.25×–2×.
  Playback follows the pairs' capture times (``time_s``) times the speed; pairs the decoder cannot reach in
  time are skipped, never queued.
- Plots (:class:`app.sessions.replay_plots.JointPlots`): the chosen joint's trajectory, reprojection error and
  bone lengths, raw and refined; clicking a plot jumps to the pair at that time.

Units: seconds (time), pixels (2D, reprojection error), metres (3D, bone lengths).
"""

from __future__ import annotations

import enum
import logging
import math
import re
import time

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from app.sessions.replay_plots import JointPlots
from app.widgets.build import framed, make_label
from app.widgets.camera_view import CameraView
from app.widgets.icons import painted_icon
from app.widgets.skeleton_view import UP_AXES, SkeletonStyle, SkeletonView
from core.session.replay import DecodedPair, PairDecoder, ReplayData, held_pairs

log = logging.getLogger(__name__)

#: Skeleton names in the 3D views (they are the legend's text).
RAW_NAME = "Triangulated (raw)"
REFINED_NAME = "Refined"
#: Overlay mode: one colour per skeleton so the two read apart at a glance.
RAW_OVERLAY_STYLE = SkeletonStyle(
    right=(0.98, 0.70, 0.25, 0.80), left=(0.98, 0.70, 0.25, 0.80), mid=(0.98, 0.70, 0.25, 0.80), bone_width_px=3.0
)
REFINED_OVERLAY_STYLE = SkeletonStyle(
    right=(0.30, 0.82, 0.98, 1.0), left=(0.30, 0.82, 0.98, 1.0), mid=(0.30, 0.82, 0.98, 1.0)
)
SPEEDS: tuple[float, ...] = (0.25, 0.5, 1.0, 1.5, 2.0)
#: Playback timer period, milliseconds.
PLAY_INTERVAL_MS = 15


class CompareMode(enum.StrEnum):
    """How raw and refined 3D are shown: two views side by side, or one view with two colours."""

    SIDE = "side"
    OVERLAY = "overlay"


COMPARE_SIDE, COMPARE_OVERLAY = CompareMode.SIDE, CompareMode.OVERLAY


def media_icon(kind: str, colour: str = "text", size: int = 18) -> QtGui.QIcon:
    """A media icon in palette colour ``colour``: ``play``, ``pause``, ``back`` (step back), ``forward``."""

    def draw(p: QtGui.QPainter, s: float) -> None:
        def tri(x0: float, x1: float) -> None:  # pointing right when x1 > x0
            pts = [QtCore.QPointF(x0, 0.2 * s), QtCore.QPointF(x1, 0.5 * s), QtCore.QPointF(x0, 0.8 * s)]
            p.drawPolygon(QtGui.QPolygonF(pts))

        if kind == "play":
            tri(0.28 * s, 0.80 * s)
        elif kind == "pause":
            p.drawRoundedRect(QtCore.QRectF(0.26 * s, 0.2 * s, 0.16 * s, 0.6 * s), 1.5, 1.5)
            p.drawRoundedRect(QtCore.QRectF(0.58 * s, 0.2 * s, 0.16 * s, 0.6 * s), 1.5, 1.5)
        elif kind == "back":
            p.drawRect(QtCore.QRectF(0.22 * s, 0.22 * s, 0.12 * s, 0.56 * s))
            tri(0.78 * s, 0.36 * s)
        elif kind == "forward":
            tri(0.22 * s, 0.64 * s)
            p.drawRect(QtCore.QRectF(0.66 * s, 0.22 * s, 0.12 * s, 0.56 * s))

    return painted_icon(size, colour, draw)


def _fmt_time(t: float) -> str:
    if not math.isfinite(t):
        return "–"
    m, s = divmod(max(t, 0.0), 60.0)
    return f"{int(m)}:{s:05.2f}"


class LinkedSkeletonView(SkeletonView):
    """A SkeletonView whose camera (orbit, pan, zoom) follows and leads its linked peers."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._peers: list[LinkedSkeletonView] = []

    def link(self, other: LinkedSkeletonView) -> None:
        if other not in self._peers:
            self._peers.append(other)
            other.link(self)

    def sync_peers(self) -> None:
        for peer in self._peers:
            for key in ("center", "distance", "elevation", "azimuth", "fov"):
                value = self.opts[key]
                peer.opts[key] = QtGui.QVector3D(value) if isinstance(value, QtGui.QVector3D) else value
            peer.update()

    def mouseMoveEvent(self, ev: QtGui.QMouseEvent) -> None:
        super().mouseMoveEvent(ev)
        self.sync_peers()

    def resizeEvent(self, ev: QtGui.QResizeEvent) -> None:
        # the field of view is horizontal: keep what is seen along the shorter side when the shape changes
        # (e.g. side by side <-> overlay doubles the width), so the skeleton keeps its size on screen
        old, new = ev.oldSize(), ev.size()
        if min(old.width(), old.height(), new.width(), new.height()) > 0:
            before = min(old.width(), old.height()) / old.width()
            after = min(new.width(), new.height()) / new.width()
            self.opts["distance"] *= before / after
        super().resizeEvent(ev)

    def wheelEvent(self, ev: QtGui.QWheelEvent) -> None:
        super().wheelEvent(ev)
        self.sync_peers()


class PairRelay(QtCore.QObject):
    """Brings the decoder's pairs (called back from its thread) to the GUI thread as ``pairReady``."""

    #: a :class:`DecodedPair` (queued to the GUI thread)
    pairReady = QtCore.Signal(object)

    def __call__(self, pair: DecodedPair) -> None:
        self.pairReady.emit(pair)


class ReplayView(QtWidgets.QWidget):
    """Replays one session: :meth:`set_data` shows what the presenter loaded (``loaded`` follows);
    :meth:`show_opening` / :meth:`show_load_failed` say that it is loading or cannot be shown."""

    #: the :class:`ReplayData` now shown
    loaded = QtCore.Signal(object)
    #: why the session could not be opened
    loadFailed = QtCore.Signal(str)
    #: the current pair index changed (slider, playback, plot click, step)
    frameChanged = QtCore.Signal(int)
    #: the videos now show this pair's frames
    framesShown = QtCore.Signal(int)
    #: playing (True) or paused (False)
    playingChanged = QtCore.Signal(bool)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("replayView")
        self._data: ReplayData | None = None
        self._decoder: PairDecoder | None = None
        self._relay = PairRelay(self)
        self._relay.pairReady.connect(self._on_pair_ready)
        self._current = 0
        self._shown_pair: int | None = None
        self._playing = False
        self._speed = 1.0
        self._anchor: tuple[float, float] = (0.0, 0.0)  # (wall monotonic s, media time s)
        self._compare = COMPARE_SIDE
        self._layout_fitted = False
        self._source_pair: np.ndarray | None = None  # (P,) pair whose 3D is shown for each pair (-1: none)

        root = QtWidgets.QVBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(0)
        self.vsplit = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        self.vsplit.setHandleWidth(1)
        self.vsplit.setChildrenCollapsible(False)
        top = QtWidgets.QWidget()
        top_lay = QtWidgets.QVBoxLayout(top)
        top_lay.setContentsMargins(0, 0, 0, 0)
        top_lay.setSpacing(0)
        top_lay.addWidget(self._build_media(), 1)
        top_lay.addWidget(self._build_timeline())
        self.vsplit.addWidget(top)
        self.plots = JointPlots()
        self.plots.setObjectName("replayPanel")
        self.plots.jumpRequested.connect(self.seek)
        self.vsplit.addWidget(self.plots)
        self.vsplit.setStretchFactor(0, 3)
        self.vsplit.setStretchFactor(1, 1)
        root.addWidget(self.vsplit, 1)

        self._timer = QtCore.QTimer(self)
        self._timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self._timer.setInterval(PLAY_INTERVAL_MS)
        self._timer.timeout.connect(self._tick)
        for key, fn in (
            (QtCore.Qt.Key.Key_Space, self.toggle_play),
            (QtCore.Qt.Key.Key_Left, lambda: self.step(-1)),
            (QtCore.Qt.Key.Key_Right, lambda: self.step(1)),
        ):
            sc = QtGui.QShortcut(QtGui.QKeySequence(key), self)
            sc.setContext(QtCore.Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(fn)
        self._set_enabled(False)

    # ================================================================================================ building
    def _build_media(self) -> QtWidgets.QWidget:
        self.hsplit = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        self.hsplit.setHandleWidth(1)
        self.hsplit.setChildrenCollapsible(False)
        self.views = [CameraView(0), CameraView(1)]
        for v in self.views:
            v.set_message("No session open")
            wrap = QtWidgets.QWidget()
            wrap.setObjectName("replayPanel")
            lay = QtWidgets.QVBoxLayout(wrap)
            lay.setContentsMargins(6, 6, 3, 6)
            lay.addWidget(v)
            self.hsplit.addWidget(wrap)

        panel = QtWidgets.QWidget()
        panel.setObjectName("replayPanel")
        lay = QtWidgets.QVBoxLayout(panel)
        lay.setContentsMargins(6, 6, 8, 6)
        lay.setSpacing(6)
        head = QtWidgets.QHBoxLayout()
        head.setSpacing(8)
        title = make_label("3D", "panelTitle")
        head.addWidget(title)
        self.up_label = make_label("", "caption")
        self.up_label.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
        head.addWidget(self.up_label, 1)
        caption = make_label("raw vs refined", "caption")
        head.addWidget(caption)
        segments = QtWidgets.QHBoxLayout()
        segments.setSpacing(0)
        self.side_button = QtWidgets.QPushButton("Side by side")
        self.overlay_button = QtWidgets.QPushButton("Overlay")
        group = QtWidgets.QButtonGroup(self)
        group.setExclusive(True)
        for b in (self.side_button, self.overlay_button):
            b.setObjectName("segment")
            b.setCheckable(True)
            group.addButton(b)
            segments.addWidget(b)
        head.addLayout(segments)
        self.side_button.setChecked(True)
        self.side_button.clicked.connect(lambda: self.set_compare_mode(COMPARE_SIDE))
        self.overlay_button.clicked.connect(lambda: self.set_compare_mode(COMPARE_OVERLAY))
        self.reset_view_button = QtWidgets.QPushButton("Reset view")
        self.reset_view_button.clicked.connect(self.reset_3d_view)
        head.addWidget(self.reset_view_button)
        lay.addLayout(head)
        self.live_note = make_label("", "liveNote", wrap=True)
        self.live_note.setVisible(False)
        lay.addWidget(self.live_note)
        views = QtWidgets.QHBoxLayout()
        views.setSpacing(4)
        self.view3d = LinkedSkeletonView()
        self.view3d.setObjectName("replaySkeletonView")
        self.view3d_refined = LinkedSkeletonView()
        self.view3d_refined.setObjectName("replayRefinedView")
        self.view3d.link(self.view3d_refined)
        views.addWidget(self.view3d, 1)
        views.addWidget(self.view3d_refined, 1)
        self.view3d_refined.setVisible(False)
        lay.addLayout(views, 1)
        self.no3d_label = make_label(self.view3d, "no3dBanner", wrap=True)
        self.no3d_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.no3d_label.setVisible(False)
        self.view3d.installEventFilter(self)
        self.hsplit.addWidget(panel)
        self.hsplit.setStretchFactor(0, 2)
        self.hsplit.setStretchFactor(1, 2)
        self.hsplit.setStretchFactor(2, 5)
        return self.hsplit

    def _build_timeline(self) -> QtWidgets.QFrame:
        bar, row = framed("timeline", "h", (12, 6, 12, 6), 8)
        self.back_button = QtWidgets.QToolButton()
        self.back_button.setObjectName("mediaButton")
        self.back_button.setIcon(media_icon("back"))
        self.back_button.setToolTip("Previous pair (Left)")
        self.back_button.clicked.connect(lambda: self.step(-1))
        self.play_button = QtWidgets.QToolButton()
        self.play_button.setObjectName("playButton")
        self.play_button.setIcon(media_icon("play", "white"))
        self.play_button.setToolTip("Play / pause (Space)")
        self.play_button.clicked.connect(self.toggle_play)
        self.forward_button = QtWidgets.QToolButton()
        self.forward_button.setObjectName("mediaButton")
        self.forward_button.setIcon(media_icon("forward"))
        self.forward_button.setToolTip("Next pair (Right)")
        self.forward_button.clicked.connect(lambda: self.step(1))
        for b in (self.back_button, self.play_button, self.forward_button):
            b.setIconSize(QtCore.QSize(18, 18))
            row.addWidget(b)
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.slider.setObjectName("timelineSlider")
        self.slider.setRange(0, 0)
        self.slider.valueChanged.connect(self._on_slider)
        row.addWidget(self.slider, 1)
        self.frame_label = make_label("–", "frameLabel")
        self.frame_label.setMinimumWidth(250)
        row.addWidget(self.frame_label)
        caption = make_label("Speed", "caption")
        row.addWidget(caption)
        self.speed_combo = QtWidgets.QComboBox()
        self.speed_combo.setObjectName("speedCombo")
        for s in SPEEDS:
            self.speed_combo.addItem(f"{s:g}×", s)
        self.speed_combo.setCurrentIndex(SPEEDS.index(1.0))
        self.speed_combo.currentIndexChanged.connect(lambda _i: self.set_speed(float(self.speed_combo.currentData())))
        row.addWidget(self.speed_combo)
        return bar

    def _set_enabled(self, on: bool) -> None:
        for w in (self.back_button, self.play_button, self.forward_button, self.slider, self.speed_combo, self.plots):
            w.setEnabled(on)

    # ================================================================================================ loading
    def show_opening(self) -> None:
        """Forget the session shown; say that another one is being opened."""
        self.close_session()
        for v in self.views:
            v.set_message("Opening…")

    def show_load_failed(self, text: str) -> None:
        """The session asked for cannot be shown (``loadFailed(text)`` follows)."""
        for v in self.views:
            v.set_message("Cannot open this session")
        self.loadFailed.emit(text)

    def set_data(self, data: ReplayData) -> None:
        """Show ``data`` (from :func:`core.session.replay.load_replay_data`) at its first pair."""
        self.close_session()
        self._data = data
        s = data.session
        self._decoder = PairDecoder(
            [s.video_path(n) for n in data.names],
            data.names,
            data.frame_a,
            data.frame_b,
            data.t_a,
            data.t_b,
            on_ready=self._relay,
        )
        P = data.n_pairs
        for v, name in zip(self.views, data.names, strict=True):
            v.clear()
            v.set_title(name)
            v.set_message("Decoding…")
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(P - 1, 0))
        self.slider.setValue(0)
        self.slider.setPageStep(max(1, P // 20))
        self.slider.blockSignals(False)
        self._set_enabled(P > 0)
        poses = data.poses
        has_ref = data.has_refined
        for b in (self.side_button, self.overlay_button):
            b.setEnabled(has_ref)
            b.setToolTip("" if has_ref else "This session has no refined 3D: process it with refinement on.")
        for view in (self.view3d, self.view3d_refined):
            view.clear_skeletons()
            up = data.world_up if data.world_up in UP_AXES else "+z"
            view.set_world_up(up)
            view.set_cameras(data.group)
        self._source_pair = None
        self.up_label.setText(f"world up {data.world_up} ({data.world_up_reason})")
        self.up_label.setToolTip(self.up_label.text())
        self.live_note.setVisible(False)
        if poses is not None:
            self._source_pair = held_pairs(poses.coarse, poses.status, data.time_s)
            skipped = int((poses.status == "skipped").sum())
            if skipped:
                self.live_note.setText(
                    f"Results recorded live: {P - skipped} of {P} pairs were processed while recording (the others "
                    "show the last live result). Process the session for a result on every pair."
                )
                self.live_note.setVisible(True)
        self._place_floor()
        self._apply_compare_mode()
        self.plots.set_data(
            data.time_s,
            poses.coarse if poses is not None else None,
            poses.refined if poses is not None else None,
            poses.reprojection_error_px if poses is not None else None,
            data.world_up,
            keep=(poses.status != "skipped") if poses is not None else None,
        )
        self._current = -1
        self._shown_pair = None
        self._layout_fitted = False
        self._fit_layout()
        self.seek(0)
        self.reset_3d_view()
        self.loaded.emit(data)

    def close_session(self) -> None:
        """Stop playback and the decoder; forget the session."""
        self.pause()
        if self._decoder is not None:
            self._decoder.on_ready = None
            self._decoder.stop()
            self._decoder = None
        self._data = None
        self._shown_pair = None
        self._set_enabled(False)

    def stop(self) -> None:
        """Stop everything this view runs (window closing)."""
        self.close_session()

    # ================================================================================================ state
    def data(self) -> ReplayData | None:
        return self._data

    def decoder(self) -> PairDecoder | None:
        return self._decoder

    def current(self) -> int:
        """The pair under the cursor."""
        return self._current

    def shown_pair(self) -> int | None:
        """The pair whose frames the videos show (may lag :meth:`current` while decoding)."""
        return self._shown_pair

    def is_playing(self) -> bool:
        return self._playing

    def speed(self) -> float:
        return self._speed

    def compare_mode(self) -> CompareMode:
        return self._compare

    def frame_text(self) -> str:
        return self.frame_label.text()

    # ================================================================================================ timeline
    def seek(self, p: int) -> None:
        """Move the timeline to pair ``p`` (clamped): 3D, plots and label now; the videos when decoded."""
        data = self._data
        if data is None or data.n_pairs == 0:
            return
        p = int(np.clip(p, 0, data.n_pairs - 1))
        if p == self._current:
            return
        self._current = p
        if self.slider.value() != p:
            self.slider.blockSignals(True)
            self.slider.setValue(p)
            self.slider.blockSignals(False)
        t = float(data.time_s[p])
        self.frame_label.setText(f"pair {p} of {data.n_pairs}   {_fmt_time(t)} / {_fmt_time(float(data.time_s[-1]))}")
        self._show_3d(p)
        self.plots.set_cursor(t)
        assert self._decoder is not None
        hit = self._decoder.request(p, ahead=self._playing)
        if hit is not None:
            self._show_pair(hit)
        self.frameChanged.emit(p)

    def step(self, delta: int) -> None:
        self.pause()
        self.seek(self._current + int(delta))

    def play(self) -> None:
        data = self._data
        if data is None or data.n_pairs < 2 or self._playing:
            return
        if self._current >= data.n_pairs - 1:
            self.seek(0)
        self._playing = True
        self._anchor = (time.monotonic(), float(data.time_s[self._current]))
        self.play_button.setIcon(media_icon("pause", "white"))
        self._timer.start()
        self.playingChanged.emit(True)

    def pause(self) -> None:
        if not self._playing:
            return
        self._playing = False
        self._timer.stop()
        self.play_button.setIcon(media_icon("play", "white"))
        self.playingChanged.emit(False)

    def toggle_play(self) -> None:
        if self._playing:
            self.pause()
        else:
            self.play()

    def set_speed(self, speed: float) -> None:
        """Playback speed factor (0.25–2)."""
        speed = float(np.clip(speed, SPEEDS[0], SPEEDS[-1]))
        if self._playing and self._data is not None:
            self._anchor = (time.monotonic(), float(self._data.time_s[self._current]))
        self._speed = speed
        idx = self.speed_combo.findData(speed)
        if idx >= 0 and idx != self.speed_combo.currentIndex():
            self.speed_combo.blockSignals(True)
            self.speed_combo.setCurrentIndex(idx)
            self.speed_combo.blockSignals(False)

    def _tick(self) -> None:
        data = self._data
        if data is None:
            self.pause()
            return
        wall0, media0 = self._anchor
        target_t = media0 + (time.monotonic() - wall0) * self._speed
        p = int(np.searchsorted(data.time_s, target_t, side="right")) - 1
        if p >= data.n_pairs - 1:
            self.seek(data.n_pairs - 1)
            self.pause()
            return
        if p > self._current:
            self.seek(p)

    def _on_slider(self, value: int) -> None:
        if self.slider.isSliderDown():
            self.pause()
        self.seek(value)

    # ================================================================================================ showing
    def _on_pair_ready(self, d: DecodedPair) -> None:
        if self._data is None or self._decoder is None or d.token != self._decoder.token:
            return
        # the pair under the cursor, or any fresher picture than the one on screen while decoding catches up
        if d.pair_index == self._current or self._shown_pair != self._current:
            self._show_pair(d)

    def _show_pair(self, d: DecodedPair) -> None:
        data = self._data
        assert data is not None
        p = d.pair_index
        for i, v in enumerate(self.views):
            frame = d.frames[i]
            if frame is None:
                v.set_problem(f"frame {int((data.frame_a, data.frame_b)[i][p])} of this video cannot be decoded")
                continue
            v.set_problem(None)
            v.set_frame(frame)
            w, h = d.sizes[i]
            v.set_info(f"{w}×{h} · frame {frame.index}")
            # a pair skipped live shows the last live 2D faded (as the Live tab did), like its 3D
            q = int(self._source_pair[p]) if self._source_pair is not None else p
            kp = data.keypoints[data.names[i]][q] if data.keypoints is not None and q >= 0 else None
            if kp is not None and (np.nan_to_num(kp[:, 2]) > 0).any():
                scaled = kp.copy()
                scaled[:, :2] *= d.scales[i]
                v.set_pose(scaled, faded=q != p)
            else:
                v.set_pose(None)
        self._shown_pair = p
        self.framesShown.emit(p)

    def _show_3d(self, p: int) -> None:
        data = self._data
        assert data is not None
        poses = data.poses
        if poses is None:
            self._set_no3d("Not processed yet: Process the session to see its 2D and 3D.")
            return
        # a pair the live pipeline skipped (it only processes the newest pair) shows the last live result
        q = int(self._source_pair[p]) if self._source_pair is not None else p
        raw = poses.coarse[q] if q >= 0 else None
        refined = poses.refined[q] if q >= 0 and poses.refined is not None else None
        raw_ok = raw is not None and bool(np.isfinite(raw).all(axis=1).any())
        ref_ok = refined is not None and bool(np.isfinite(refined).all(axis=1).any())
        overlay = self._compare == COMPARE_OVERLAY and data.has_refined
        self.view3d.set_skeleton(RAW_NAME, raw if raw_ok else None, style=RAW_OVERLAY_STYLE if overlay else "default")
        if data.has_refined:
            target = self.view3d if overlay else self.view3d_refined
            style = REFINED_OVERLAY_STYLE if overlay else "default"
            target.set_skeleton(self._refined_name(), refined if ref_ok else None, style=style)
        status = str(poses.status[p]) if p < len(poses.status) else "ok"
        if not raw_ok:
            why = {
                "no_person": "nobody was found",
                "one_view": "only one camera saw the person",
                "skipped": "not processed live (Process the session for every pair)",
                "error": "processing failed on this pair",
                "unmatched": "the people the two cameras saw are not the same person",
            }.get(status, status.replace("_", " "))
            self._set_no3d(f"No 3D in this pair — {why}")
        else:
            self._set_no3d(None)

    def shown_3d_pair(self) -> int:
        """The pair whose 3D is drawn for the current pair (an earlier one where the live pipeline skipped it)."""
        if self._source_pair is None or self._current < 0:
            return self._current
        return int(self._source_pair[self._current])

    def _refined_name(self) -> str:
        model = self._data.poses.model if self._data is not None and self._data.poses is not None else ""
        if re.fullmatch(r"[0-9a-f]{12,}", model):  # a checkpoint's content id: short and say what it is
            model = f"CV-UGCN {model[:8]}"
        return f"{REFINED_NAME} · {model}" if model else REFINED_NAME

    def skeleton(self, which: str = "raw") -> np.ndarray | None:
        """The ``(17, 3)`` m points drawn now for ``"raw"`` or ``"refined"`` (None if hidden)."""
        if which == "raw":
            return self.view3d.skeleton_points(RAW_NAME)
        name = self._refined_name()
        for view in (self.view3d_refined, self.view3d):
            if name in view.skeleton_names():
                return view.skeleton_points(name)
        return None

    def set_compare_mode(self, mode: str) -> None:
        """``"side"`` (two 3D views: raw | refined) or ``"overlay"`` (one view, two colours)."""
        if mode not in (COMPARE_SIDE, COMPARE_OVERLAY):
            raise ValueError(f"compare mode is {COMPARE_SIDE.value!r} or {COMPARE_OVERLAY.value!r}, not {mode!r}")
        self._compare = CompareMode(mode)
        (self.side_button if mode == COMPARE_SIDE else self.overlay_button).setChecked(True)
        self._apply_compare_mode()

    def _apply_compare_mode(self) -> None:
        data = self._data
        has_ref = data is not None and data.has_refined
        side = has_ref and self._compare == COMPARE_SIDE
        name = self._refined_name()
        # skeletons live in one view or the other: remove them where they no longer belong
        if side:
            self.view3d.remove_skeleton(name)
        else:
            self.view3d_refined.remove_skeleton(name)
        self.view3d_refined.setVisible(side)
        if data is not None and 0 <= self._current < data.n_pairs:
            self._show_3d(self._current)
        if side:
            self.view3d.sync_peers()

    def _set_no3d(self, text: str | None) -> None:
        if text is None:
            self.no3d_label.setVisible(False)
            return
        self.no3d_label.setText(text)
        self.no3d_label.setVisible(True)
        self._place_no3d()

    def no3d_text(self) -> str | None:
        return self.no3d_label.text() if self.no3d_label.isVisible() else None

    def _place_no3d(self) -> None:
        v = self.view3d
        w = min(max(240, int(v.width() * 0.7)), v.width() - 20)
        self.no3d_label.setFixedWidth(max(w, 100))
        self.no3d_label.adjustSize()
        self.no3d_label.move((v.width() - self.no3d_label.width()) // 2, v.height() - self.no3d_label.height() - 36)
        self.no3d_label.raise_()

    def eventFilter(self, obj: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if obj is self.view3d and event.type() == QtCore.QEvent.Type.Resize and self.no3d_label.isVisible():
            self._place_no3d()
        return super().eventFilter(obj, event)

    # ================================================================================================ 3D framing
    def _place_floor(self) -> None:
        """Floor at 0 for a declared Z-up world, else just under the lowest ankles of the session."""
        data = self._data
        assert data is not None
        floor = 0.0
        declared = data.world_up_reason == "from the calibration" and data.world_up == "+z"
        if data.poses is not None and not declared:
            under = self.view3d.floor_under(data.poses.coarse)
            floor = under if under is not None else 0.0
        for view in (self.view3d, self.view3d_refined):
            view.set_floor_height(floor)

    def reset_3d_view(self) -> None:
        """Frame the whole motion of the session, seen from behind the cameras."""
        data = self._data
        view = self.view3d
        if data is not None and data.poses is not None:
            view.frame_points(data.poses.coarse, data.group)
        else:
            view.reset_view()
        view.sync_peers()

    def _fit_layout(self) -> None:
        """Give the videos the width their aspect ratio needs at the current height; the 3D gets the rest."""
        data = self._data
        if data is None or self._layout_fitted or self.hsplit.width() < 100:
            return
        self._layout_fitted = True
        h = max(self.hsplit.height() - 12, 100)
        total = self.hsplit.width()
        widths = []
        for w, hh in data.sizes:
            aspect = (w / hh) if w > 0 and hh > 0 else 16 / 9
            widths.append(int(h * aspect) + 10)
        max_videos = int(total * 0.62)
        if sum(widths) > max_videos:
            scale = max_videos / sum(widths)
            widths = [int(w * scale) for w in widths]
        self.hsplit.setSizes([*widths, max(total - sum(widths), 200)])

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._data is not None and not self._layout_fitted:
            QtCore.QTimer.singleShot(0, self._fit_layout)
