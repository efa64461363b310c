"""Page 1 of the calibration wizard: two cameras (live previews; resolution, fps, MJPG), two video files recorded
together (optional capture-time CSV), or two folders of photos. Qt only."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from app.calibration.pages.base import WizardPage
from app.calibration.presenter import CalibrationPresenter
from app.calibration.widgets import Banner, FrameView, path_row
from app.widgets.build import make_label
from calibration.live import downscale
from calibration.run import InputSpec, RecordingSet, find_timestamps, open_one
from core.capture import DeviceInfo, SourceState
from core.errors import CrossViewError

log = logging.getLogger(__name__)

RESOLUTIONS = ((640, 480), (800, 600), (1280, 720), (1920, 1080))


class InputsPage(WizardPage):
    """Page 1: two cameras (live previews), two videos, or two photo folders; or, with no board, the way to
    "Calibrate from a person" (``personRequested``)."""

    personRequested = QtCore.Signal()

    def __init__(self, presenter: CalibrationPresenter) -> None:
        super().__init__(
            presenter,
            "1 · Choose the two cameras",
            "Calibrate two cameras live, or from recordings: two videos filmed at the same time, or two folders "
            "of photos taken in pairs.",
        )
        self._devices: list[DeviceInfo] = []
        self.kind_from_settings = False
        self._preview_timer = QtCore.QTimer(self)
        self._preview_timer.setInterval(70)
        self._preview_timer.timeout.connect(self._poll_previews)
        self._validate_timer = QtCore.QTimer(self)
        self._validate_timer.setSingleShot(True)
        self._validate_timer.setInterval(250)
        self._validate_timer.timeout.connect(self.validate)

        lay = QtWidgets.QVBoxLayout(self)
        lay.setSpacing(10)
        self.device_banner = Banner()
        lay.addWidget(self.device_banner)
        lay.addWidget(self.banner)
        modes = QtWidgets.QHBoxLayout()
        self.radio_cameras = QtWidgets.QRadioButton("Cameras on this computer")
        self.radio_videos = QtWidgets.QRadioButton("Two video files")
        self.radio_images = QtWidgets.QRadioButton("Two folders of photos")
        self._group = QtWidgets.QButtonGroup(self)
        for k, r in enumerate((self.radio_cameras, self.radio_videos, self.radio_images)):
            self._group.addButton(r, k)
            modes.addWidget(r)
            modes.addSpacing(18)
        modes.addStretch(1)
        self.person_button = QtWidgets.QPushButton("No board? Calibrate from a person…")
        self.person_button.setToolTip(
            "Two videos of one person walking around the shared view give the cameras' pose: no board to print"
        )
        self.person_button.clicked.connect(self.personRequested)
        modes.addWidget(self.person_button)
        lay.addLayout(modes)
        self.stack = QtWidgets.QStackedWidget()
        self.stack.addWidget(self._build_cameras())
        self.stack.addWidget(self._build_recordings("videos"))
        self.stack.addWidget(self._build_recordings("images"))
        lay.addWidget(self.stack, 1)
        self._group.idToggled.connect(self._mode_changed)
        presenter.devicesFailed.connect(self._on_devices_failed)

    # ---------------------------------------------------------------- building
    def _build_cameras(self) -> QtWidgets.QWidget:
        w = QtWidgets.QWidget()
        grid = QtWidgets.QGridLayout(w)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(14)
        self.device_combos = [QtWidgets.QComboBox(), QtWidgets.QComboBox()]
        self.device_views = [FrameView("Camera 1"), FrameView("Camera 2")]
        for k in range(2):
            row = QtWidgets.QHBoxLayout()
            row.addWidget(QtWidgets.QLabel(f"Camera {k + 1}:"))
            row.addWidget(self.device_combos[k], 1)
            grid.addLayout(row, 0, k)
            grid.addWidget(self.device_views[k], 1, k)
            self.device_combos[k].currentIndexChanged.connect(self._devices_changed)
        grid.setRowStretch(1, 1)
        settings = QtWidgets.QHBoxLayout()
        self.resolution_combo = QtWidgets.QComboBox()
        for w_, h_ in RESOLUTIONS:
            self.resolution_combo.addItem(f"{w_} × {h_}", (w_, h_))
        self.resolution_combo.setCurrentIndex(2)
        self.fps_spin = QtWidgets.QSpinBox()
        self.fps_spin.setRange(5, 120)
        self.fps_spin.setValue(30)
        self.fps_spin.setSuffix(" fps")
        self.mjpg_box = QtWidgets.QCheckBox("MJPG (needed for 720p/1080p at full rate on most webcams)")
        self.mjpg_box.setChecked(True)
        self.refresh_button = QtWidgets.QPushButton("Look for cameras again")
        for label, widget in (("Resolution:", self.resolution_combo), ("Frame rate:", self.fps_spin)):
            settings.addWidget(QtWidgets.QLabel(label))
            settings.addWidget(widget)
            settings.addSpacing(10)
        settings.addWidget(self.mjpg_box)
        settings.addStretch(1)
        settings.addWidget(self.refresh_button)
        grid.addLayout(settings, 2, 0, 1, 2)
        self.resolution_combo.currentIndexChanged.connect(self._devices_changed)
        self.fps_spin.valueChanged.connect(self._devices_changed)
        self.mjpg_box.toggled.connect(self._devices_changed)
        self.refresh_button.clicked.connect(self.refresh_devices)
        return w

    def _build_recordings(self, kind: str) -> QtWidgets.QWidget:
        w = QtWidgets.QWidget()
        grid = QtWidgets.QGridLayout(w)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(14)
        grid.setVerticalSpacing(8)
        edits, views, infos, browse = [], [], [], []
        what = "video file" if kind == "videos" else "folder of photos (or a pattern such as folder/left*.jpg)"
        for k in range(2):
            edit, button, row = path_row(f"Camera {k + 1}: {what}")
            box = QtWidgets.QVBoxLayout()
            box.addWidget(QtWidgets.QLabel(f"Camera {k + 1}"))
            box.addLayout(row)
            grid.addLayout(box, 0, k)
            view = FrameView(f"Camera {k + 1}")
            view.set_message("Choose this camera's " + ("video." if kind == "videos" else "photos."))
            grid.addWidget(view, 2, k)
            info = make_label("", "muted")
            grid.addWidget(info, 3, k)
            edit.textChanged.connect(self._paths_changed)
            button.clicked.connect(lambda _=False, kk=k, kd=kind: self._browse(kd, kk))
            edits.append(edit)
            browse.append(button)
            views.append(view)
            infos.append(info)
        extra = QtWidgets.QHBoxLayout()
        pace = QtWidgets.QComboBox()
        pace.addItem("As fast as possible", False)
        pace.addItem("At the recorded speed" if kind == "videos" else "Two photos a second", True)
        if kind == "videos":
            self.timestamps_edit, ts_button, ts_row = path_row(
                "Capture times (optional CSV: sync_index, cam_id, frame_time); found next to the videos"
            )
            ts_button.clicked.connect(self._browse_timestamps)
            self.timestamps_edit.textChanged.connect(self._paths_changed)
            extra.addWidget(QtWidgets.QLabel("Timestamps:"))
            extra.addLayout(ts_row, 3)
            extra.addSpacing(16)
        extra.addWidget(QtWidgets.QLabel("Play:"))
        extra.addWidget(pace)
        grid.addLayout(extra, 1, 0, 1, 2)
        pairing = make_label("", "muted", wrap=True)
        grid.addWidget(pairing, 4, 0, 1, 2)
        grid.setRowStretch(2, 1)
        if kind == "videos":
            self.video_edits, self.video_views, self.video_infos, self.video_browse = edits, views, infos, browse
            self.video_pace, self.video_pairing = pace, pairing
        else:
            self.image_edits, self.image_views, self.image_infos, self.image_browse = edits, views, infos, browse
            self.image_pace, self.image_pairing = pace, pairing
        return w

    # ---------------------------------------------------------------- state
    def kind(self) -> str:
        return ("cameras", "videos", "images")[max(0, self._group.checkedId())]

    def set_kind(self, kind: str) -> None:
        {"cameras": self.radio_cameras, "videos": self.radio_videos, "images": self.radio_images}[kind].setChecked(True)

    def set_paths(self, cam0: str, cam1: str, timestamps: str | None = None) -> None:
        """Fill the current recording kind's paths (as typing them would)."""
        edits = self.video_edits if self.kind() == "videos" else self.image_edits
        edits[0].setText(cam0)
        edits[1].setText(cam1)
        if timestamps is not None and self.kind() == "videos":
            self.timestamps_edit.setText(timestamps)

    def set_fast(self, fast: bool) -> None:
        for combo in (self.video_pace, self.image_pace):
            combo.setCurrentIndex(0 if fast else 1)

    def spec(self) -> InputSpec:
        kind = self.kind()
        if kind == "videos":
            return InputSpec(
                "videos",
                (self.video_edits[0].text().strip(), self.video_edits[1].text().strip()),
                self.timestamps_edit.text().strip(),
                bool(self.video_pace.currentData()),
            )
        if kind == "images":
            return InputSpec(
                "images",
                (self.image_edits[0].text().strip(), self.image_edits[1].text().strip()),
                "",
                bool(self.image_pace.currentData()),
            )
        w, h = self.resolution_combo.currentData()
        devs = tuple(int(c.currentData()) if c.currentData() is not None else -1 for c in self.device_combos)
        return InputSpec(
            "cameras", devices=devs, width=w, height=h, fps=float(self.fps_spin.value()), mjpg=self.mjpg_box.isChecked()
        )

    def recordings(self) -> RecordingSet | None:
        """The opened recordings when they are the ones the page shows (else None)."""
        return self.presenter.recordings_for(self.spec())

    def isComplete(self) -> bool:
        spec = self.spec()
        if spec.recorded:
            return self.recordings() is not None
        return len(self._devices) >= 2 and spec.devices[0] != spec.devices[1] and -1 not in spec.devices

    # ---------------------------------------------------------------- devices
    def refresh_devices(self) -> None:
        """List the cameras (``core.capture.list_devices``, or the wizard's injected lister)."""
        try:
            self._devices = self.presenter.list_devices()
        except Exception as exc:  # listing must never break the page
            log.exception("listing cameras failed")
            self._devices = []
            self.banner.set_message(f"Could not list the cameras: {exc}", "error")
        for k, combo in enumerate(self.device_combos):
            combo.blockSignals(True)
            combo.clear()
            for d in self._devices:
                combo.addItem(f"{d.index}: {d.name}", d.index)
            if len(self._devices) > k:
                combo.setCurrentIndex(k)
            combo.blockSignals(False)
        n = len(self._devices)
        if n >= 2 and not self.kind_from_settings:  # first time with two cameras: calibrate them live
            self.kind_from_settings = True
            self.set_kind("cameras")
        self.radio_cameras.setEnabled(n > 0)
        self.radio_cameras.setToolTip("" if n else "No camera was found on this computer.")
        if n == 0 and self.kind() == "cameras":
            self.radio_videos.setChecked(True)
        self._update_banner()
        self._devices_changed()

    def devices(self) -> list[DeviceInfo]:
        return list(self._devices)

    def _on_devices_failed(self, text: str) -> None:
        self.banner.set_message(text, "error")

    def _devices_changed(self) -> None:
        if self.kind() == "cameras" and self.isVisible():
            self.presenter.ensure_devices(self.spec())
        self.completeChanged.emit()

    def _poll_previews(self) -> None:
        if self.kind() != "cameras":
            return
        sources = self.presenter.device_sources()
        sizes: list[tuple[int, int] | None] = [None, None]
        for k, view in enumerate(self.device_views):
            src = sources[k] if k < len(sources) else None
            if src is None:
                view.set_image(None)
                view.set_message("No camera selected.")
                continue
            st = src.status()
            frame = src.latest()
            if frame is not None and st.state is SourceState.CONNECTED:
                img, s = downscale(frame.image, 640)
                view.set_image(img, s)
                h, w = frame.image.shape[:2]
                sizes[k] = (w, h)
                view.set_caption(f"{w}×{h} · {st.fps:.0f} fps")
                view.set_status("")
            else:
                view.set_image(None)
                view.set_message(f"{st.state.value}: {st.reason}" if st.reason else st.state.value)
        if sizes[0] is not None and sizes[1] is not None and sizes[0] != sizes[1]:
            (w0, h0), (w1, h1) = sizes
            self.banner.set_message(
                f"The cameras deliver different resolutions (camera 1 {w0}x{h0}, camera 2 {w1}x{h1}): choose a "
                "resolution both support, so that the two images can be paired.",
                "warning",
            )
        elif "different resolutions" in self.banner.text():
            self.banner.set_message("")

    # ---------------------------------------------------------------- recordings
    def _mode_changed(self, _id: int, checked: bool) -> None:
        if not checked:
            return
        self.stack.setCurrentIndex(max(0, self._group.checkedId()))
        if self.kind() == "cameras":
            self._preview_timer.start()
            if self.isVisible():
                self.presenter.ensure_devices(self.spec())
        else:
            self._preview_timer.stop()
            self.presenter.stop_devices()
            self._validate_timer.start()
        self._update_banner()
        self.completeChanged.emit()

    def _browse(self, kind: str, cam: int) -> None:
        edits = self.video_edits if kind == "videos" else self.image_edits
        start = edits[cam].text() or str(self.settings.calibration_input_dir or Path.home())
        if kind == "videos":
            path, _ = QtWidgets.QFileDialog.getOpenFileName(
                self,
                f"Camera {cam + 1}: video",
                str(start),
                "Videos (*.mp4 *.avi *.mov *.mkv *.webm *.m4v);;All files (*)",
            )
        else:
            path = QtWidgets.QFileDialog.getExistingDirectory(self, f"Camera {cam + 1}: folder of photos", str(start))
        if not path:
            return
        self.settings.calibration_input_dir = Path(path).parent if kind == "videos" else Path(path)
        edits[cam].setText(path)
        self._autofill(kind, cam, path)

    def _autofill(self, kind: str, cam: int, path: str) -> None:
        """Fill the other camera when the choice makes it obvious (left*/right* photos; cam_0/cam_1 videos)."""
        p = Path(path)
        other = 1 - cam
        if kind == "images" and p.is_dir():
            lefts, rights = sorted(p.glob("left*")), sorted(p.glob("right*"))
            if lefts and rights:
                ext = lefts[0].suffix
                self.image_edits[0].setText(str(p / f"left*{ext}"))
                self.image_edits[1].setText(str(p / f"right*{ext}"))
        if kind == "videos" and p.is_file() and not self.video_edits[other].text().strip():
            stem = p.stem
            for a, b in (("0", "1"), ("1", "0"), ("left", "right"), ("right", "left")):
                if stem.endswith(a):
                    cand = p.with_name(stem[: -len(a)] + b + p.suffix)
                    if cand.is_file():
                        self.video_edits[other].setText(str(cand))
                        break

    def _browse_timestamps(self) -> None:
        start = self.timestamps_edit.text() or self.video_edits[0].text()
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Capture times", str(Path(start).parent if start else Path.home()), "CSV (*.csv);;All files (*)"
        )
        if path:
            self.timestamps_edit.setText(path)

    def _paths_changed(self) -> None:
        self.presenter.forget_recordings_check()
        self.completeChanged.emit()
        self._validate_timer.start()

    def validate(self) -> bool:
        """Open and check the recordings now (normally 250 ms after the last edit); True when usable."""
        self._validate_timer.stop()
        spec = self.spec()
        if not spec.recorded:
            self._update_banner()
            return self.isComplete()
        if spec.kind == "videos" and not self.timestamps_edit.text().strip():
            found = find_timestamps(*spec.paths)
            if found:
                self.timestamps_edit.blockSignals(True)
                self.timestamps_edit.setText(found)
                self.timestamps_edit.blockSignals(False)
                spec = self.spec()
        views = self.video_views if spec.kind == "videos" else self.image_views
        infos = self.video_infos if spec.kind == "videos" else self.image_infos
        pairing = self.video_pairing if spec.kind == "videos" else self.image_pairing
        try:
            rec = self.presenter.open_recordings(spec)
        except CrossViewError as exc:
            self.banner.set_message(str(exc), "error" if any(spec.paths) else "info")
            pairing.setText("")
            self._show_first_frames(spec, views, infos)
            self.completeChanged.emit()
            return False
        self.banner.set_message("")
        pairing.setText(f"Pairing: {rec.plan.method} — {len(rec.plan)} pairs.")
        self._show_first_frames(spec, views, infos, rec)
        self.completeChanged.emit()
        return True

    def _show_first_frames(self, spec: InputSpec, views, infos, rec: RecordingSet | None = None) -> None:
        for k in range(2):
            src = rec.sources[k] if rec is not None else None
            if src is None:
                try:
                    src = open_one(spec.paths[k], f"camera {k + 1}", spec.kind) if spec.paths[k] else None
                except CrossViewError as exc:
                    views[k].set_image(None)
                    views[k].set_message(str(exc))
                    infos[k].setText("")
                    continue
            if src is None:
                views[k].set_image(None)
                infos[k].setText("")
                continue
            first = next(src.iter_frames([0]), None)
            if first is not None:
                img, s = downscale(first[1], 640)
                views[k].set_image(img, s)
            w, h = src.image_size
            what = f"{src.n_frames} frames · {src.fps:.3g} fps" if src.kind == "video" else f"{src.n_frames} photos"
            infos[k].setText(f"{src.path.name} — {w}×{h}, {what}")
            views[k].set_caption(f"{w}×{h}")

    def _update_banner(self) -> None:
        n = len(self._devices)
        if n == 0:
            self.device_banner.set_message(
                "No camera was found on this computer. You can still calibrate from recordings: choose two video "
                "files filmed at the same time, or two folders of photos taken in pairs (left01.jpg / right01.jpg).",
                "warning",
            )
        elif n == 1:
            d = self._devices[0]
            self.device_banner.set_message(
                f"Only one camera was found ({d.index}: {d.name}). A stereo calibration needs two: connect the "
                "second camera and press “Look for cameras again”, or calibrate from recordings.",
                "warning",
            )
        else:
            self.device_banner.set_message("")
        if self.kind() == "cameras":
            self.banner.set_message("")

    # ---------------------------------------------------------------- wizard hooks
    def entered(self) -> None:
        if not self._devices:
            self.refresh_devices()
        if self.kind() == "cameras":
            self.presenter.ensure_devices(self.spec())
            self._preview_timer.start()
        else:
            self.validate()

    def left(self) -> None:
        self._preview_timer.stop()

    def validatePage(self) -> bool:
        spec = self.spec()
        if spec.recorded:
            if not self.validate():
                return False
            self.presenter.choose_inputs(self.spec())
            return True
        if spec.devices[0] == spec.devices[1]:
            self.banner.set_message("Choose two DIFFERENT cameras for camera 1 and camera 2.", "error")
            return False
        self.presenter.choose_inputs(spec)
        return True
