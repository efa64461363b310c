"""The Live tab: two camera previews with their 2D skeletons, the live 3D skeleton, controls and statistics.

A view: every action goes to :class:`app.live.presenter.LivePresenter`, which opens the sources and runs
:class:`core.pipeline.LivePipeline` off the GUI thread. The previews poll each source's newest frame at the
display rate (so one camera keeps showing when the other is gone or pairing stalls); the skeletons come from
the newest :class:`core.pipeline.PoseResult`; statistics arrive at ~2 Hz. The calibration is the app's
(:attr:`app.state.AppState.calibration`). Units: metres (3D), pixels (2D), frames per second and ms.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from app.live.bridge import DISPLAY_HZ
from app.live.panels import CamerasPanel, StatsBar, ThreeDPanel, Toolbar
from app.live.presenter import LivePresenter, LiveState, LiveStats, display_world_up
from app.live.record_view import RecordControls
from app.live.stream_view import StreamControls
from app.state import AppState
from app.theme import set_style_property
from app.widgets.camera_view import person_box
from app.widgets.messages import MessageBoxSlot
from app.widgets.skeleton_view import UP_AXES
from core.calibration_io import CalibrationFile
from core.capture import DeviceInfo, SourceState, list_devices
from core.errors import CrossViewError, InputError
from core.live import LiveSession, SourceChoice, SourceKind, StartSpec, calibration_pair, camera_pairs
from core.pipeline import PoseResult, RefineHook
from core.skeleton import ANKLES, RunningFloor

log = logging.getLogger(__name__)

SOURCE_DEMO, SOURCE_CAMERAS, SOURCE_VIDEOS = (k.value for k in SourceKind)
#: The main skeleton's name in the 3D view, and the coarse (triangulated) one shown under a refined pose.
MAIN_SKELETON = "live 3D"
COARSE_SKELETON = "triangulated"
#: How long the last 3D skeleton stays on screen after 3D is lost, seconds (no flicker on brief dropouts).
NO3D_GRACE_S = 0.4
#: A result older than this is drawn faded over the previews, seconds.
STALE_RESULT_S = 1.0
#: With "Sync overlay", a result's own frames are shown while the result is at most this old, seconds;
#: after that each view falls back to its camera's newest frame (pairing stalled, a camera is gone).
SYNC_MAX_AGE_S = 0.5
#: Without any result for this long while running, the 3D view says why, seconds.
NO_RESULT_S = 1.5

_START_TEXT = {
    LiveState.IDLE: "Start",
    LiveState.STARTING: "Cancel",
    LiveState.RUNNING: "Stop",
    LiveState.STOPPING: "Stopping…",
}


class LiveTab(QtWidgets.QWidget):
    """Live capture from two cameras (or the shipped demo, or two video files) with live 3D."""

    #: The text of every error shown in a dialog (also handy for tests).
    errorShown = QtCore.Signal(str)

    def __init__(
        self,
        state: AppState,
        parent: QtWidgets.QWidget | None = None,
        *,
        device_lister: Callable[[], list[DeviceInfo]] = list_devices,
        recorder_kwargs: dict | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("liveTab")
        self.app_state = state
        self._settings = state.settings
        self._calib_pairs: list[tuple[str, str]] = []
        self._video_paths: list[str] = list(self._settings.live_videos)
        self._refine_label = ""
        self._result: PoseResult | None = None
        self._result_t = 0.0
        self._last_3d_t = 0.0
        self._shown_pose_key: list[tuple] = [(), ()]
        self._framed = False
        self._auto_floor = False
        self._floor = RunningFloor()
        self._boxes = MessageBoxSlot(self)
        self._restoring = True
        self.last_error: str | None = None

        self.presenter = LivePresenter(state.tasks, device_lister, self)
        self._build(recorder_kwargs)
        self._connect()
        self._display_timer = QtCore.QTimer(self)
        self._display_timer.setInterval(int(1000 / DISPLAY_HZ))
        self._display_timer.timeout.connect(self._tick)

        self._restore_settings()
        self._restoring = False
        if state.calibration is not None:
            self.set_calibration(state.calibration)  # shows the source and calibration too
        else:
            self._on_source_changed()
        self.set_refine_hook(state.model.hook, state.model.label if state.model.hook is not None else "")
        self.three_d.set_message("Press Start to see the live 3D skeleton here.")
        self._on_state(LiveState.IDLE)
        self.refresh_devices()

    # ================================================================================================ construction
    def _build(self, recorder_kwargs: dict | None) -> None:
        root = QtWidgets.QVBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(0)
        self.toolbar = Toolbar()
        root.addWidget(self.toolbar)
        #: Record button (records the running capture into a session; see app/live/record.py)
        self.record_controls = RecordControls(self.presenter, self.app_state, self, recorder_kwargs)
        self.toolbar.extra_controls.addWidget(self.record_controls)
        #: Stream toggle and settings (VMC / JSON to other apps; see app/live/stream.py)
        self.stream_controls = StreamControls(self.presenter, self.app_state, self)
        self.toolbar.extra_controls.addWidget(self.stream_controls)
        self.cameras = CamerasPanel()
        self.three_d = ThreeDPanel()
        splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        splitter.setObjectName("liveSplitter")
        splitter.setHandleWidth(1)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(self.cameras)
        splitter.addWidget(self.three_d)
        splitter.setStretchFactor(0, 5)
        splitter.setStretchFactor(1, 6)
        self.splitter = splitter
        root.addWidget(splitter, 1)
        self.stats_bar = StatsBar()
        root.addWidget(self.stats_bar)
        # the widgets tests and tools reach, by their old names
        tb, cam, td = self.toolbar, self.cameras, self.three_d
        self.source_combo, self.camera_combos, self.start_button = tb.source_combo, tb.camera_combos, tb.start_button
        self.refresh_button, self.settings_button = tb.refresh_button, tb.settings_button
        self.videos_button, self.videos_label = tb.videos_button, tb.videos_label
        self.resolution_combo, self.fps_combo, self.mjpg_check = tb.resolution_combo, tb.fps_combo, tb.mjpg_check
        self.calib_label, self.calib_pair_combo = tb.calib_label, tb.calib_pair_combo
        self.load_calib_button, self.extra_controls = tb.load_calib_button, tb.extra_controls
        self.views, self.views_area, self.views_stack = cam.views, cam.views_area, cam.views_stack
        self.sync_check, self.reset_person_button = cam.sync_check, cam.reset_person_button
        self.detector_combo = cam.detector_combo
        self.warning_banner, self.problem_banner = cam.warning_banner, cam.problem_banner
        self.welcome_title, self.welcome_text, self.demo_button = cam.welcome_title, cam.welcome_text, cam.demo_button
        self.view3d, self.no3d_label = td.view3d, td.no3d_label
        self.smooth_check, self.smooth_slider = td.smooth_check, td.smooth_slider
        self.refine_check, self.coarse_check, self.follow_check = td.refine_check, td.coarse_check, td.follow_check
        self.plot, self.stat_tiles = self.stats_bar.plot, self.stats_bar.tiles

    def _connect(self) -> None:
        p, tb, s = self.presenter, self.toolbar, self.app_state
        p.stateChanged.connect(self._on_state)
        p.started.connect(self._on_started)
        p.startFailed.connect(self._on_start_failed)
        p.stopped.connect(self._on_stopped)
        p.resultReady.connect(self._on_result)
        p.statsReady.connect(self._on_stats)
        p.pipelineFailed.connect(lambda exc: self._show_error(f"Live capture stopped.\n\n{exc}"))
        p.devicesListed.connect(self._devices_listed)
        tb.source_combo.currentIndexChanged.connect(self._on_source_changed)
        for combo in tb.camera_combos:
            combo.currentIndexChanged.connect(self._save_settings)
        tb.refresh_button.clicked.connect(self.refresh_devices)
        for w in (tb.resolution_combo, tb.fps_combo):
            w.currentIndexChanged.connect(self._save_settings)
        tb.mjpg_check.toggled.connect(self._save_settings)
        tb.videos_button.clicked.connect(self.choose_videos)
        tb.calib_pair_combo.currentIndexChanged.connect(self._on_source_changed)
        tb.load_calib_button.clicked.connect(self.load_calibration_dialog)
        tb.start_button.clicked.connect(self._on_start_clicked)
        self.sync_check.toggled.connect(self._save_settings)
        self.detector_combo.currentIndexChanged.connect(self._on_detector_changed)
        self.reset_person_button.clicked.connect(p.release_person)
        self.demo_button.clicked.connect(self.start_demo)
        for v in self.views:
            v.personClicked.connect(self._on_person_clicked)
        self.smooth_check.toggled.connect(self._on_smoothing_changed)
        self.smooth_slider.valueChanged.connect(self._on_smoothing_changed)
        self.refine_check.toggled.connect(self._on_refine_toggled)
        self.coarse_check.toggled.connect(lambda _on: self._save_settings())
        self.follow_check.toggled.connect(lambda on: self.view3d.set_follow(on, MAIN_SKELETON))
        self.three_d.reset_view_button.clicked.connect(self.reset_view)
        s.calibrationChanged.connect(lambda c: self.set_calibration(c) if c is not None else None)
        s.model.changed.connect(self.set_refine_hook)

    # ================================================================================================ public API
    @property
    def state(self) -> LiveState:
        """idle, starting, running or stopping."""
        return self.presenter.state

    def source_kind(self) -> str:
        return str(self.source_combo.currentData())

    def set_source_kind(self, kind: str) -> None:
        idx = self.source_combo.findData(kind)
        if idx < 0:
            raise ValueError(f"unknown source {kind!r}; use {SOURCE_DEMO!r}, {SOURCE_CAMERAS!r} or {SOURCE_VIDEOS!r}")
        self.source_combo.setCurrentIndex(idx)

    def start_demo(self) -> None:
        """Start the shipped demo (two real recorded views through the live pipeline)."""
        self.set_source_kind(SOURCE_DEMO)
        self.start()

    def start(self) -> bool:
        """Start the selected source (demo, cameras or video files) in the background; False if it cannot."""
        if self.presenter.state is not LiveState.IDLE:
            return False
        needs_files = self.source_kind() == SOURCE_VIDEOS and len(self._video_paths) != 2
        if needs_files and self.calibration() is not None and len(self.choose_videos() or []) != 2:
            return False
        try:
            return self.presenter.start_choice(self._choice(), self.calibration())
        except CrossViewError as exc:
            self._show_error(str(exc))
            return False

    def start_with(self, spec: StartSpec) -> bool:
        """Start any :class:`StartSpec` (custom sources, a fake detector in tests...)."""
        return self.presenter.start(spec)

    def stop(self) -> None:
        """Stop capture and every thread it started; returns when they have stopped (used when closing)."""
        self._display_timer.stop()
        self.record_controls.stop()  # finalise a recording before its capture stops
        self.stream_controls.stop()
        self.presenter.stop(wait=True)

    def set_calibration(self, calib: CalibrationFile) -> None:
        """Use this calibration for cameras and video files (the demo has its own). Takes effect at Start."""
        self._calib_pairs = camera_pairs(calib)
        self.calib_pair_combo.blockSignals(True)
        self.calib_pair_combo.clear()
        for a, b in self._calib_pairs:
            self.calib_pair_combo.addItem(f"{a} + {b}")
        self.calib_pair_combo.blockSignals(False)
        self._on_source_changed()
        if self.presenter.state is not LiveState.IDLE and self.source_kind() != SOURCE_DEMO:
            self.app_state.say("New calibration loaded: it takes effect at the next Start.")

    def calibration(self) -> CalibrationFile | None:
        """The app's calibration, which cameras and video files run with."""
        return self.app_state.calibration

    def set_refine_hook(self, hook: RefineHook | None, label: str = "") -> None:
        """The learned refinement (e.g. CV-UGCN) to offer; None disables the Refine toggle."""
        self._refine_label = label
        self.presenter.set_refine(hook, self.refine_check.isChecked() and hook is not None)
        self._update_refine_controls()

    def refine_hook(self) -> RefineHook | None:
        return self.presenter.refine_hook

    def refine_label(self) -> str:
        return self._refine_label

    def refresh_devices(self) -> None:
        """List the cameras again (in a task: probing can be slow on some platforms)."""
        if self.presenter.refresh_devices():
            self.refresh_button.setEnabled(False)

    def devices(self) -> list[DeviceInfo] | None:
        """The cameras found (None while looking)."""
        return self.presenter.devices()

    def stat_text(self, key: str) -> str:
        """The value shown in statistics tile ``key`` (see :data:`app.live.panels.TILES`)."""
        return self.stat_tiles[key].value.text()

    def no3d_text(self) -> str | None:
        """The message over the 3D view, or None when it is hidden."""
        return self.three_d.message()

    def error_box(self) -> QtWidgets.QMessageBox | None:
        """The error dialog on screen, if any."""
        return self._boxes.current

    def reset_view(self) -> None:
        """Look at the subject (or the cameras' common field) from behind the cameras, far enough back for
        the subject and both camera frusta to be in the picture."""
        self.view3d.frame_with_cameras(self.view3d.skeleton_points(MAIN_SKELETON), self.view3d.camera_group())
        if self.follow_check.isChecked():
            self.view3d.set_follow(True, MAIN_SKELETON)

    # ================================================================================================ the choice
    def _choice(self) -> SourceChoice:
        """The user's choice of source from the controls."""
        calib = self.calibration()
        pair = None
        if calib is not None and len(calib.group) > 2:
            idx = self.calib_pair_combo.currentIndex()
            pair = self._calib_pairs[idx] if 0 <= idx < len(self._calib_pairs) else None
        return SourceChoice(
            kind=SourceKind(self.source_kind()),
            devices=tuple(c.currentData() for c in self.camera_combos),  # type: ignore[arg-type]
            resolution=self.resolution_combo.currentData(),
            fps=float(self.fps_combo.currentData()),
            mjpg=self.mjpg_check.isChecked(),
            videos=tuple(self._video_paths),
            pair=pair,
        )

    def set_calibration_pair(self, camera_a: str, camera_b: str) -> None:
        """Choose which two cameras of a calibration with more than two are camera A and camera B."""
        try:
            self.calib_pair_combo.setCurrentIndex(self._calib_pairs.index((camera_a, camera_b)))
        except ValueError:
            calib = self.calibration()
            raise InputError(
                f"the calibration has no camera pair {camera_a} + {camera_b}; its cameras are "
                f"{', '.join(calib.group.names) if calib else 'none'}."
            ) from None

    def choose_videos(self) -> list[str] | None:
        """Ask for two video files recorded together; None when cancelled."""
        start_dir = str(Path(self._video_paths[0]).parent) if self._video_paths else ""
        paths, _ = QtWidgets.QFileDialog.getOpenFileNames(
            self, "Choose two videos recorded together", start_dir, "Videos (*.mp4 *.avi *.mov *.mkv);;All files (*)"
        )
        if not paths:
            return None
        if len(paths) != 2:
            self._show_error(f"Choose exactly two video files (camera 1 and camera 2); {len(paths)} were chosen.")
            return None
        self._video_paths = sorted(paths)
        self._save_settings()
        self._on_source_changed()
        return list(self._video_paths)

    def load_calibration_dialog(self) -> None:
        """Choose a calibration file and make it the app's calibration."""
        folder = self._settings.calibration_dir
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Open calibration", str(folder or ""), "Calibration (*.toml);;All files (*)"
        )
        if path:
            self.load_calibration_file(path)

    def load_calibration_file(self, path: str) -> CalibrationFile | None:
        """Load ``path`` as the app's calibration; a bad file is reported in a dialog."""
        try:
            return self.app_state.load_calibration(path)
        except CrossViewError as exc:
            self._show_error(str(exc))
            return None

    # ================================================================================================ reactions
    def _on_start_clicked(self) -> None:
        if self.presenter.state is LiveState.IDLE:
            self.start()
        else:
            self.presenter.stop()

    def _on_source_changed(self, *_args: object) -> None:
        kind = self.source_kind()
        for w in (*self.camera_combos, self.refresh_button, self.settings_button):
            w.setVisible(kind == SOURCE_CAMERAS)
        self.videos_button.setVisible(kind == SOURCE_VIDEOS)
        self.videos_label.setVisible(kind == SOURCE_VIDEOS)
        names = [Path(p).name for p in self._video_paths]
        self.videos_label.setText(" + ".join(names) if names else "no files chosen")
        self.videos_label.setToolTip("\n".join(self._video_paths))
        calib = self.calibration()
        self.calib_pair_combo.setVisible(kind != SOURCE_DEMO and calib is not None and len(calib.group) > 2)
        self._show_calibration_label(kind, calib)
        if self.presenter.state is LiveState.IDLE:
            self._preview_calibration()
        self._save_settings()

    def _show_calibration_label(self, kind: str, calib: CalibrationFile | None) -> None:
        label = self.calib_label
        set_style_property(label, "missing", kind != SOURCE_DEMO and calib is None)
        if kind == SOURCE_DEMO:
            label.setText("demo rig · calibration.toml · m")
            label.setToolTip("The demo plays with its own calibration (Qualisys, metres, Z up).")
        elif calib is None:
            label.setText("none loaded")
            label.setToolTip("Load the stereo calibration of your two cameras (Load…)")
        else:
            name = calib.path.name if calib.path is not None else "calibration"
            unit = f"{calib.units}{' (assumed)' if calib.units_assumed else ''}"
            cams = "" if len(calib.group) > 2 else f" · {' + '.join(calib.group.names)}"
            label.setText(f"{name}{cams} · {unit}")
            label.setToolTip(f"{calib.path}\ncameras: {', '.join(calib.group.names)}\nunits: {calib.units_note}")

    def _preview_calibration(self) -> None:
        """While idle, show the cameras of the calibration in use in the 3D view."""
        calib = self.calibration()
        if self.source_kind() == SOURCE_DEMO:
            return
        if calib is None or len(calib.group) < 2:
            self.view3d.set_cameras(None)
            return
        try:
            group = calib.group.subset(calibration_pair(calib, self._choice().pair))
        except (CrossViewError, KeyError):
            return
        up, _ = display_world_up(calib, group)
        self.view3d.set_world_up(up)
        self.view3d.set_cameras(group)
        self.reset_view()

    def _devices_listed(self, devices: list[DeviceInfo]) -> None:
        self.refresh_button.setEnabled(True)
        for k, combo in enumerate(self.camera_combos):
            saved = self._settings.live_camera(k)
            combo.blockSignals(True)
            combo.clear()
            for d in devices:
                combo.addItem(f"{d.index} · {d.name}", d.index)
            if not devices:
                combo.addItem("no camera found", None)
            want = saved if saved is not None else (devices[k].index if k < len(devices) else None)
            idx = combo.findData(want)
            if idx >= 0:
                combo.setCurrentIndex(idx)
            combo.blockSignals(False)
        self.cameras.show_devices(len(devices))

    def _on_state(self, state: str) -> None:
        state = LiveState(state)
        idle = state is LiveState.IDLE
        for w in (
            self.source_combo,
            *self.camera_combos,
            self.settings_button,
            self.videos_button,
            self.calib_pair_combo,
            self.demo_button,
            self.detector_combo,
        ):
            w.setEnabled(idle)
        self.reset_person_button.setEnabled(state is LiveState.RUNNING)
        self.start_button.setText(_START_TEXT[state])
        self.start_button.setEnabled(state is not LiveState.STOPPING)
        self.start_button.setObjectName("primaryButton" if idle else "stopButton")
        self.start_button.style().unpolish(self.start_button)
        self.start_button.style().polish(self.start_button)
        if state is LiveState.STARTING:
            self.views_stack.setCurrentIndex(1)
            for v in self.views:
                v.clear()
                v.set_message("Starting: opening the sources and MediaPipe…")
            self.three_d.set_message("Starting…")

    def _on_started(self, session: LiveSession) -> None:
        self._result = None
        self._result_t = time.monotonic()
        self._last_3d_t = 0.0
        self._shown_pose_key = [(), ()]
        self.plot.clear()
        for v, name in zip(self.views, session.camera_names, strict=True):
            v.set_title(name)
            v.set_message("Waiting for the first frame…")
            v.set_clickable(True)
        self.stats_bar.set_camera_names(session.camera_names)
        self._hide_skeletons()
        self.view3d.set_world_up(session.world_up if session.world_up in UP_AXES else "+z")
        declared = session.calibration is not None and session.calibration.world_up == session.world_up
        self._auto_floor = not (declared and session.world_up == "+z")
        self._floor.reset(0.0)
        self.view3d.set_floor_height(0.0)
        self.view3d.set_cameras(session.group)
        self._framed = False
        self.reset_view()
        self.three_d.set_message("Waiting for the first synchronised pair…")
        self._display_timer.start()
        detector = f"; 2D: {session.detector_label}" if session.detector_label else ""
        self.app_state.say(f"Live: {session.label} running ({' + '.join(session.camera_names)}){detector}")

    def _on_start_failed(self, exc: BaseException) -> None:
        self._display_timer.stop()
        for v in self.views:
            v.set_message("Not running")
        self.three_d.set_message("Press Start to see the live 3D skeleton here.")
        if isinstance(exc, CrossViewError):
            self._show_error(str(exc))
        else:
            self._show_error(f"Live capture could not start: {type(exc).__name__}: {exc}")

    def _on_stopped(self) -> None:
        self._display_timer.stop()
        for v in self.views:
            v.set_clickable(False)
            v.set_problem(None)
            v.set_pose(None)
            v.set_message("Stopped")
        self.problem_banner.setVisible(False)
        self.three_d.set_message("Stopped. Press Start to capture again.")

    def _on_person_clicked(self, view: int, x: float, y: float) -> None:
        self.presenter.select_person(view, x, y)
        self.app_state.say(f"Following the person at ({x:.0f}, {y:.0f}) px in {self.views[view].title()}", 3000)

    def _on_detector_changed(self, *_args: object) -> None:
        self.presenter.detector = str(self.detector_combo.currentData() or "")
        self._save_settings()

    def _on_smoothing_changed(self, *_args: object) -> None:
        on = self.smooth_check.isChecked()
        self.smooth_slider.setEnabled(on)
        self.presenter.set_smoothing(on, self.smooth_slider.value() / 100.0)
        self._save_settings()

    def _on_refine_toggled(self, on: bool) -> None:
        hook = self.presenter.refine_hook
        self.coarse_check.setEnabled(on and hook is not None)
        self.presenter.set_refine(hook, on and hook is not None)

    def _update_refine_controls(self) -> None:
        has = self.presenter.refine_hook is not None
        self.refine_check.setEnabled(has)
        if not has:
            self.refine_check.blockSignals(True)
            self.refine_check.setChecked(False)
            self.refine_check.blockSignals(False)
            self.refine_check.setText("Refine")
            self.refine_check.setToolTip(
                "No refinement model is loaded: CV-UGCN learned refinement becomes available once a model "
                "checkpoint is loaded (Training tab)."
            )
        else:
            label = self._refine_label or "learned model"
            self.refine_check.setText(f"Refine ({label})" if len(label) <= 18 else "Refine")
            self.refine_check.setToolTip(f"Refine the triangulated skeleton with {label}")
        self.coarse_check.setEnabled(has and self.refine_check.isChecked())

    # --- results and statistics ----------------------------------------------------------------------------------
    def _hide_skeletons(self) -> None:
        self.view3d.set_skeleton(MAIN_SKELETON, None)
        if COARSE_SKELETON in self.view3d.skeleton_names():
            self.view3d.set_skeleton(COARSE_SKELETON, None, style="coarse")

    def _on_result(self, r: PoseResult) -> None:
        now = time.monotonic()
        self._result = r
        self._result_t = now
        view = self.view3d
        if r.display is not None:
            view.set_skeleton(MAIN_SKELETON, r.display)
            show_coarse = self.coarse_check.isChecked() and self.coarse_check.isEnabled() and r.refined is not None
            if show_coarse:
                view.set_skeleton(COARSE_SKELETON, r.coarse, style="coarse")
            elif COARSE_SKELETON in view.skeleton_names():
                view.set_skeleton(COARSE_SKELETON, None, style="coarse")
            self._last_3d_t = now
            self.three_d.set_message(None)
            if self._auto_floor:
                floor = self._floor.update(view.world_to_display(r.display[list(ANKLES)])[:, 2])
                if floor is not None:
                    view.set_floor_height(floor)
            if not self._framed:
                self._framed = True
                self.reset_view()
        elif now - self._last_3d_t > NO3D_GRACE_S:
            self._hide_skeletons()
            self.three_d.set_message(f"No 3D — {r.reason or r.status.replace('_', ' ')}")

    def _tick(self) -> None:
        """Display-rate poll: each camera's newest frame and state, the 2D overlay and the followed box."""
        session = self.presenter.session
        if session is None:
            return
        now = time.monotonic()
        r = self._result
        age = now - self._result_t if r is not None else math.inf
        boxes = self.presenter.target_boxes()
        sync = self.sync_check.isChecked() and r is not None and age <= SYNC_MAX_AGE_S
        for i in range(2):
            self._show_view(i, r, sync, age, boxes)
        if age > NO_RESULT_S and now - self._last_3d_t > NO_RESULT_S:
            why = session.pipeline.camera_problem() or "waiting for synchronised pairs from both cameras"
            self.view3d.set_skeleton(MAIN_SKELETON, None)
            self.three_d.set_message(f"No 3D — {why}")

    def _show_view(self, i: int, r: PoseResult | None, sync: bool, age: float, boxes: list) -> None:
        view = self.views[i]
        frame = r.frames[i] if sync and r is not None else self.presenter.latest_frame(i)
        if view.set_frame(frame) and i == 0 and frame is not None:
            h, w = frame.image.shape[:2]
            self.views_area.set_aspect(w / h)
        st = self.presenter.source_status(i)
        if st is not None:
            size = ""
            if view.frame() is not None:
                h, w = view.frame().image.shape[:2]
                size = f"{w}×{h} · "
            view.set_info(f"{size}{st.fps:.0f} fps")
            bad = st.state in (SourceState.DISCONNECTED, SourceState.RECONNECTING, SourceState.ENDED) or (
                st.state is SourceState.STOPPED and st.error is not None
            )
            view.set_problem(f"Camera {st.state.value}: {st.reason}" if bad else None)
        kp = r.keypoints2d[i] if r is not None else None
        # the followed person's box in the frame of this result (the tracker's own box belongs to the frame
        # being detected now, which is not the one shown); the tracker's box while nobody is found
        box = person_box(kp) if kp is not None else None
        if box is None and i < len(boxes):
            box = boxes[i]
        faded = age > STALE_RESULT_S
        key = (id(r), box, faded)
        if key != self._shown_pose_key[i]:
            self._shown_pose_key[i] = key
            view.set_pose(kp, box, faded)
            view.set_others(_others(r, i))

    def _on_stats(self, ls: LiveStats) -> None:
        s = ls.stats
        self.stats_bar.show_stats(ls)
        if s.warnings:
            self.warning_banner.setText("⚠  " + "\n⚠  ".join(s.warnings))
        self.warning_banner.setVisible(bool(s.warnings))
        if ls.camera_problem:
            names = self.presenter.camera_names()
            other = [n for n, st in zip(names, s.camera_states, strict=False) if st == "connected"]
            tail = f" — {other[0]} keeps running; reconnecting automatically." if other else " — reconnecting."
            self.problem_banner.setText("⚠  " + ls.camera_problem[0].upper() + ls.camera_problem[1:] + tail)
        self.problem_banner.setVisible(bool(ls.camera_problem))

    # --- messages, closing and settings ---------------------------------------------------------------------------
    def _show_error(self, text: str) -> None:
        """A non-blocking warning dialog (the window stays live behind it)."""
        self.last_error = text
        log.warning("Live tab: %s", text)
        self._boxes.show(QtWidgets.QMessageBox.Icon.Warning, "Live", text, "liveErrorBox")
        self.errorShown.emit(text)

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self.stop()
        super().closeEvent(event)

    def _restore_settings(self) -> None:
        s = self._settings
        idx = self.source_combo.findData(s.live_source or SOURCE_DEMO)
        self.source_combo.setCurrentIndex(max(idx, 0))
        for i in range(self.resolution_combo.count()):
            w, h = self.resolution_combo.itemData(i)
            if f"{w}x{h}" == s.live_resolution:
                self.resolution_combo.setCurrentIndex(i)
        self.fps_combo.setCurrentIndex(max(self.fps_combo.findData(s.live_fps), 0))
        self.mjpg_check.setChecked(s.live_mjpg)
        self.smooth_check.setChecked(s.live_smoothing)
        self.smooth_slider.setValue(s.live_smoothing_strength)
        self.smooth_slider.setEnabled(self.smooth_check.isChecked())
        self.coarse_check.setChecked(s.live_show_coarse)
        self.sync_check.setChecked(s.live_sync_overlay)
        self.detector_combo.setCurrentIndex(max(self.detector_combo.findData(s.detector), 0))
        self.presenter.detector = str(self.detector_combo.currentData() or "")
        self.presenter.set_smoothing(self.smooth_check.isChecked(), self.smooth_slider.value() / 100.0)

    def _save_settings(self, *_args: object) -> None:
        if self._restoring:
            return
        s = self._settings
        s.live_source = self.source_kind()
        w, h = self.resolution_combo.currentData()
        s.live_resolution = f"{w}x{h}"
        s.live_fps = int(self.fps_combo.currentData())
        s.live_mjpg = self.mjpg_check.isChecked()
        s.live_smoothing = self.smooth_check.isChecked()
        s.live_smoothing_strength = self.smooth_slider.value()
        s.live_show_coarse = self.coarse_check.isChecked()
        s.live_sync_overlay = self.sync_check.isChecked()
        s.detector = str(self.detector_combo.currentData() or "multi")
        s.live_videos = list(self._video_paths)
        for k, combo in enumerate(self.camera_combos):
            if combo.currentData() is not None:
                s.set_live_camera(k, int(combo.currentData()))


def _others(r: PoseResult | None, view: int) -> list[np.ndarray]:
    """The ``(17, 3)`` keypoints of everyone in ``view`` but the followed person (drawn faintly)."""
    if r is None or r.people is None:
        return []
    kp, tracks = r.people.keypoints[view], r.people.tracks[view]
    followed = r.people.followed if r.has_3d else -2  # with no 3D nobody is drawn as followed ...
    if r.status == "one_view" and np.isfinite(r.keypoints2d[view, :, :2]).any():  # ... but the one-view pick is
        return [k for k in kp if not np.array_equal(k, r.keypoints2d[view], equal_nan=True)]
    return [k for k, t in zip(kp, tracks, strict=True) if t != followed or followed < 0]
