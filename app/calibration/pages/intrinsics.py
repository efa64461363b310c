"""Pages 3 and 4 of the calibration wizard (one camera's lens), and :class:`CapturePage`, what every capture
page shares (the stereo page too): the controls, the counters, the problem banners. Qt only.

A capture page is a view of the presenter's capture: it starts and stops it, and shows the packets, problems
and diagnoses the presenter relays while its own mode is the one capturing.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6 import QtWidgets

from app.calibration.pages.base import WizardPage
from app.calibration.presenter import CalibrationPresenter
from app.calibration.widgets import Banner, FrameView, StatTile, fmt, panel, user_text
from app.widgets.build import make_label
from calibration.engine import SessionState
from calibration.live import PreviewPacket
from calibration.run import CalibrationRun
from calibration.selection import ViewDecision
from core.errors import CrossViewError


def decision_text(dec: ViewDecision | None, found: bool, reasons: Sequence[str]) -> tuple[str, str]:
    """(text, level) for a preview's status line."""
    if not found:
        why = " ".join(reasons) if reasons else "show the whole board to the camera."
        return f"Board not found: {user_text(why)}", "error"
    if dec is None:
        return "Board found", "info"
    if dec.accepted:
        return user_text(dec.reason), "success"
    return f"Not kept: {user_text(dec.reason)}", "warning"


def corner_colour(kept: bool) -> str:
    """The palette colour of a preview's corners: green on a kept view, the accent otherwise."""
    return "good" if kept else "accent"


class CapturePage(WizardPage):
    """Shared machinery of the capture pages: the capture's controls, counters and problem banners."""

    mode = "cam0"

    def __init__(self, presenter: CalibrationPresenter, title: str, subtitle: str) -> None:
        super().__init__(presenter, title, subtitle)
        self.last_packet: PreviewPacket | None = None
        self.stream_ended = False
        self.diagnosis_banner = Banner()
        self.info_banner = Banner()
        self._complete = False

        self.play_button = QtWidgets.QPushButton("Pause")
        self.play_button.setMinimumWidth(96)
        self.auto_box = QtWidgets.QCheckBox("Automatic capture")
        self.auto_box.setChecked(True)
        self.auto_box.setToolTip("Keep every view that adds information (new area, tilt or distance).")
        self.capture_button = QtWidgets.QPushButton("Capture this view")
        self.capture_button.setEnabled(False)
        self.clear_button = QtWidgets.QPushButton("Clear")
        self.heat_box = QtWidgets.QCheckBox("Coverage heat map")
        self.heat_box.setChecked(True)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setFixedWidth(200)
        self.progress.hide()
        self.play_button.clicked.connect(self.toggle_pause)
        self.auto_box.toggled.connect(self._auto_toggled)
        self.capture_button.clicked.connect(self.capture_now)
        self.clear_button.clicked.connect(self.clear)
        presenter.packetReady.connect(self._on_packet)
        presenter.problem.connect(self._on_problem)
        presenter.diagnosis.connect(self._on_diagnosis)
        presenter.info.connect(self._on_info)
        presenter.streamEnded.connect(self._on_stream_ended)
        presenter.stateChanged.connect(self._on_state_changed)

    def controls(self) -> QtWidgets.QHBoxLayout:
        row = QtWidgets.QHBoxLayout()
        row.setSpacing(8)
        for w in (self.play_button, self.auto_box, self.capture_button, self.clear_button):
            row.addWidget(w)
        row.addSpacing(8)
        row.addWidget(self.heat_box)
        row.addStretch(1)
        row.addWidget(self.progress)
        return row

    def page_layout(self) -> QtWidgets.QVBoxLayout:
        """The page's layout, with the problem, diagnosis and info banners on top."""
        lay = QtWidgets.QVBoxLayout(self)
        lay.setSpacing(8)
        for banner in (self.banner, self.diagnosis_banner, self.info_banner):
            lay.addWidget(banner)
        return lay

    def advice_panel(self, title: str = "", stretch: bool = False) -> QtWidgets.QFrame:
        """A panel with the engine's advice (``advice_label``) and the last decision (``decision_label``)."""
        frame, lay = panel(title)
        self.advice_label = make_label("", "advice", wrap=True)
        lay.addWidget(self.advice_label)
        self.decision_label = make_label("", "muted", wrap=True)
        lay.addWidget(self.decision_label)
        if stretch:
            lay.addStretch(1)
        return frame

    def run(self) -> CalibrationRun | None:
        return self.presenter.run

    def _mine(self) -> bool:
        """The presenter's capture is this page's."""
        return self.presenter.capture_mode == self.mode

    # ---------------------------------------------------------------- capture
    def start_capture(self) -> None:
        """Start (or restart) this page's capture."""
        run = self.run()
        if run is None:
            self.stop_capture()
            return
        self.stream_ended = False
        self.banner.set_message("")
        self.diagnosis_banner.set_message("")
        self.info_banner.set_message("")
        self.progress.setVisible(run.recordings is not None)
        self.presenter.start_capture(self.mode, auto=self.auto_box.isChecked())
        self.update_play_button()

    def stop_capture(self) -> None:
        if self._mine():
            self.presenter.stop_capture()

    def capturing(self) -> bool:
        return self.presenter.capturing(self.mode)

    def toggle_pause(self) -> None:
        if not self.capturing():
            self.start_capture()
            return
        self.presenter.set_paused(not self.presenter.paused())
        self.update_play_button()

    def update_play_button(self) -> None:
        """Pause / Resume while capturing; Play again (recordings) / Start (cameras) otherwise."""
        run = self.run()
        if self.capturing():
            self.play_button.setText("Resume" if self.presenter.paused() else "Pause")
        else:
            self.play_button.setText("Play again" if run is not None and run.recordings is not None else "Start")
        self.play_button.setEnabled(run is not None)

    def _auto_toggled(self, on: bool) -> None:
        self.capture_button.setEnabled(not on)
        if self._mine():
            self.presenter.set_auto(on)

    def capture_now(self) -> None:
        if self.capturing():
            self.presenter.capture_now()

    def clear(self) -> None:  # overridden
        pass

    # ---------------------------------------------------------------- what the capture says
    def _on_state_changed(self, _state: str) -> None:
        self.update_play_button()
        self._refresh_complete()

    def _on_problem(self, text: str) -> None:
        if self._mine():
            self.banner.set_message(text, "error")
            self._refresh_complete()

    def _on_diagnosis(self, text: str) -> None:
        if self._mine():
            self.diagnosis_banner.set_message(text, "warning")

    def _on_info(self, text: str) -> None:
        if self._mine():
            self.info_banner.set_message(text, "info")

    def shortfall(self) -> str:  # overridden: why the page cannot go on, once a recording ended
        return ""

    def _on_stream_ended(self, summary: str) -> None:
        if not self._mine():
            return
        self.stream_ended = True
        short = self.shortfall()
        if short and not self.banner.text():
            self.banner.set_message(short, "error")
        self.info_banner.set_message(
            (summary + " " + self.info_banner.text()).strip() if self.info_banner.text() else summary, "info"
        )
        self._refresh_complete()

    def _on_packet(self, pkt: PreviewPacket) -> None:
        if not self._mine():
            return
        self.last_packet = pkt
        self.show_packet(pkt)
        if pkt.progress is not None:
            k, n = pkt.progress
            self.progress.setRange(0, max(1, n))
            self.progress.setValue(k)
            self.progress.setFormat(f"{k} / {n}")
        self._refresh_complete()

    def show_packet(self, pkt: PreviewPacket) -> None:  # overridden
        pass

    def compute_complete(self) -> bool:  # overridden
        return False

    def _refresh_complete(self) -> None:
        c = self.compute_complete()
        if c != self._complete:
            self._complete = c
            self.completeChanged.emit()

    def isComplete(self) -> bool:
        return self.compute_complete()

    # ---------------------------------------------------------------- wizard hooks
    def entered(self) -> None:
        run = self.run()
        if run is None:
            return
        if run.recordings is not None and self.mode in run.played:
            self.show_state(run.session.state())  # already played: show it, "Play again" replays
            self.update_play_button()
            self.progress.setVisible(True)
            self._refresh_complete()
            return
        self.start_capture()

    def left(self) -> None:
        self.stop_capture()

    def show_state(self, state: SessionState) -> None:  # overridden
        pass


class IntrinsicsPage(CapturePage):
    """Pages 3 and 4: one camera's lens (intrinsics) from views of the board all over its image."""

    def __init__(self, presenter: CalibrationPresenter, cam: int) -> None:
        super().__init__(
            presenter,
            f"{3 + cam} · Camera {cam + 1}: the lens",
            f"Show the board to camera {cam + 1} alone: close and far, tilted every way, and into every corner of "
            "the picture until the heat map is green. Views are kept automatically when they add information.",
        )
        self.cam = cam
        self.mode = f"cam{cam}"
        lay = self.page_layout()
        body = QtWidgets.QHBoxLayout()
        body.setSpacing(12)
        self.view = FrameView(f"Camera {cam + 1}")
        self.view.set_message("Starting…")
        body.addWidget(self.view, 3)
        body.addWidget(self._build_side(), 0)
        lay.addLayout(body, 1)
        lay.addLayout(self.controls())
        self.load_button.clicked.connect(lambda: self.load_intrinsics())
        self.unload_button.clicked.connect(self.unload_intrinsics)
        self.heat_box.toggled.connect(self.view.set_heat_visible)

    def _build_side(self) -> QtWidgets.QWidget:
        """The counters, the advice, and the known-intrinsics box, beside the picture."""
        side = QtWidgets.QVBoxLayout()
        side.setSpacing(8)
        tiles = QtWidgets.QGridLayout()
        tiles.setSpacing(8)
        self.tile_views = StatTile("Views kept")
        self.tile_coverage = StatTile("Image coverage")
        self.tile_tilt = StatTile("Tilt variety")
        self.tile_rms = StatTile("Running RMS")
        for k, t in enumerate((self.tile_views, self.tile_coverage, self.tile_tilt, self.tile_rms)):
            tiles.addWidget(t, k // 2, k % 2)
        side.addLayout(tiles)
        self.frames_label = make_label("", "muted")
        side.addWidget(self.frames_label)
        side.addWidget(self.advice_panel("What to do next", stretch=True), 1)
        known_panel, known_lay = panel("Known intrinsics")
        self.loaded_label = make_label(
            "Already calibrated this camera at this resolution? Load it instead.", "muted", wrap=True
        )
        known_lay.addWidget(self.loaded_label)
        row = QtWidgets.QHBoxLayout()
        self.load_button = QtWidgets.QPushButton("Load known intrinsics…")
        self.unload_button = QtWidgets.QPushButton("Capture instead")
        self.unload_button.hide()
        row.addWidget(self.load_button)
        row.addWidget(self.unload_button)
        row.addStretch(1)
        known_lay.addLayout(row)
        side.addWidget(known_panel)
        side_w = QtWidgets.QWidget()
        side_w.setLayout(side)
        side_w.setMinimumWidth(330)
        side_w.setMaximumWidth(420)
        return side_w

    def compute_complete(self) -> bool:
        run = self.run()
        if run is None:
            return False
        if run.loaded[self.cam] is not None:
            return True
        st = run.session.state().cameras[self.cam]
        return st is not None and st.ready

    def shortfall(self) -> str:
        run = self.run()
        if run is None or self.compute_complete():
            return ""
        st = run.session.state().cameras[self.cam]
        kept = 0 if st is None else st.views_kept
        need = run.options.get("min_views", 8) if st is None else st.min_views
        return (
            f"Only {kept} usable view(s) of the board in camera {self.cam + 1}'s recording; at least {need} are "
            "needed (15-25 recommended). Record again showing the whole board at more places and angles, or load "
            "known intrinsics for this camera."
        )

    def show_packet(self, pkt: PreviewPacket) -> None:
        if pkt.images:
            det = pkt.detections[0]
            self.view.set_image(pkt.images[0], pkt.scales[0])
            self.view.set_corners(det.corners if det.found else None, corner_colour(pkt.kept))
            text, level = decision_text(pkt.decisions[0], det.found, det.reasons)
            if not pkt.offered and det.found:
                text, level = "Board found: press “Capture this view” to offer it", "info"
            self.view.set_status(text, level)
            self.view.set_caption(pkt.label)
            self.decision_label.setText(text)
            if pkt.kept:
                self.view.flash()
        self.show_state(pkt.state)

    def show_state(self, state: SessionState) -> None:
        run = self.run()
        if run is not None and run.loaded[self.cam] is not None:
            self._show_loaded(run)
            return
        self.unload_button.hide()
        self.loaded_label.setText("Already calibrated this camera at this resolution? Load it instead.")
        st = state.cameras[self.cam]
        if st is None:
            self.advice_label.setText(user_text(state.advice) or "Waiting for frames…")
            return
        ok = st.views_kept >= st.min_views
        self.tile_views.set(
            f"{st.views_kept} / {st.max_views}",
            "good" if ok else None,
            f"At least {st.min_views} views are needed; 15-25 varied views give the best lens fit.",
        )
        self.tile_coverage.set(
            f"{st.coverage:.0%}", "good" if st.coverage >= 0.5 else "usable" if st.coverage >= 0.25 else None
        )
        self.tile_tilt.set(f"{st.tilt_diversity:.0%}", "good" if st.tilt_diversity >= 0.5 else None)
        est = state.running[self.cam]
        self.tile_rms.set(
            fmt(None if est is None else est.rms, 3, " px"),
            None if est is None else ("good" if est.rms < 0.5 else "usable" if est.rms < 1 else "poor"),
            "" if est is None else f"fx ≈ {est.K[0, 0]:.0f} px from {est.n_views} views (quick fit)",
        )
        self.frames_label.setText(
            f"Frames seen {st.frames_seen} · board found in {st.frames_found} · need at least {st.min_views} views"
        )
        self.view.set_heatmap(st.heatmap)
        advice = st.advice or state.advice
        if ok and not advice:
            advice = "Enough views: press Next (more varied views still help)."
        self.advice_label.setText(user_text(advice))

    def _show_loaded(self, run: CalibrationRun) -> None:
        """Known intrinsics are used for this camera: say which."""
        ir = run.loaded[self.cam]
        assert ir is not None
        K = ir.camera.K
        self.tile_views.set("loaded")
        self.tile_coverage.set("—")
        self.tile_tilt.set("—")
        self.tile_rms.set(fmt(ir.rms, 3, " px"))
        self.view.set_heatmap(None)
        self.advice_label.setText("Known intrinsics are used for this camera: press Next.")
        self.loaded_label.setText(
            f"Using {run.loaded_from[self.cam]}: {ir.camera.size[0]}×{ir.camera.size[1]}, "
            f"fx {K[0, 0]:.1f}, fy {K[1, 1]:.1f} px, k1 {ir.camera.dist[0]:+.3f}."
        )
        self.unload_button.show()

    def clear(self) -> None:
        run = self.run()
        if run is None:
            return
        was = self.capturing()
        self.stop_capture()
        self.presenter.reset_camera(self.cam)
        self.show_state(run.session.state())
        self.view.set_heatmap(None)
        self.info_banner.set_message("")
        self._refresh_complete()
        if was or run.recordings is None:
            self.start_capture()

    def load_intrinsics(self, path: str | None = None, camera: str | None = None) -> bool:
        """Use this camera's intrinsics from a calibration TOML (file and camera chosen in dialogs when None)."""
        run = self.run()
        if run is None:
            return False
        if path is None:
            start = self.settings.calibration_dir or Path.home()
            path, _ = QtWidgets.QFileDialog.getOpenFileName(
                self, f"Camera {self.cam + 1}: known intrinsics", str(start), "Calibration (*.toml);;All files (*)"
            )
            if not path:
                return False
        try:
            camera = camera if camera is not None else self._choose_camera(path)
            if camera is None:
                return False
            self.presenter.load_intrinsics(self.cam, path, camera)
        except CrossViewError as exc:
            self.banner.set_message(str(exc), "error")
            return False
        self.stop_capture()
        self.banner.set_message("")
        self.diagnosis_banner.set_message("")
        self.show_state(run.session.state())
        self._refresh_complete()
        return True

    def _choose_camera(self, path: str) -> str | None:
        """The camera of calibration ``path`` to use (asked when it holds several); None when the user cancelled."""
        names = self.presenter.calibration_cameras(path)
        default = names[self.cam] if len(names) > self.cam else names[0]
        if len(names) <= 1:
            return default
        camera, ok = QtWidgets.QInputDialog.getItem(
            self,
            "Which camera?",
            f"Camera in {Path(path).name} to use for camera {self.cam + 1}:",
            names,
            names.index(default),
            False,
        )
        return camera if ok else None

    def unload_intrinsics(self) -> None:
        run = self.run()
        if run is None:
            return
        self.presenter.clear_loaded(self.cam)
        self.show_state(run.session.state())
        self._refresh_complete()
        self.start_capture()
