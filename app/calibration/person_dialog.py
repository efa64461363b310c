"""The "Calibrate from a person" dialog: two videos of someone walking around, the lenses, the scale; live
coverage coaching while the videos are read; the verdict, and Save. A view only: :class:`PersonPresenter` runs it.
Qt only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtWidgets

from app.calibration.person_presenter import PersonPresenter, PersonState
from app.calibration.widgets import Banner, FrameView, path_row
from app.state import AppState
from app.theme import set_style_property
from app.widgets.build import make_label
from calibration.person import PersonCalibration
from calibration.person_videos import CoverageUpdate, PersonInputs
from core import skeleton

VIDEO_FILTER = "Videos (*.mp4 *.avi *.mov *.mkv *.webm);;All files (*)"


class PersonCalibrationDialog(QtWidgets.QDialog):
    """Inputs on the left, both views with where the person has been on the right, the result below."""

    def __init__(self, state: AppState, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("personDialog")
        self.setWindowTitle("Calibrate from a person")
        self.resize(1180, 700)
        self.presenter = PersonPresenter(state, self)
        self.state = state
        lay = QtWidgets.QVBoxLayout(self)
        intro = QtWidgets.QLabel(
            "No board needed: record both cameras at the same time while one person walks around everything both "
            "cameras see for 20-60 s (to the left and right edges, nearer and farther). CrossView finds the "
            "person in both videos and works out where the cameras are."
        )
        intro.setWordWrap(True)
        intro.setObjectName("muted")
        lay.addWidget(intro)
        body = QtWidgets.QHBoxLayout()
        body.addLayout(self._build_form(), 0)
        self.views = (FrameView("Camera 1"), FrameView("Camera 2"))
        for v in self.views:
            v.set_message("Where the person has been shows here while the videos are read.")
            body.addWidget(v, 1)
        lay.addLayout(body, 1)
        self.hint_label = make_label("", "advice")
        self.hint_label.setWordWrap(True)
        lay.addWidget(self.hint_label)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(True)
        self.progress.hide()
        lay.addWidget(self.progress)
        self.banner = Banner()
        lay.addWidget(self.banner)
        lay.addLayout(self._build_result())
        lay.addLayout(self._build_buttons())
        p = self.presenter
        p.progressed.connect(self._on_progress)
        p.coverageChanged.connect(self.show_coverage)
        p.finished.connect(self.show_result)
        p.failed.connect(lambda m: self.banner.set_message(m, "error"))
        p.stateChanged.connect(lambda _s: self._sync_buttons())
        p.saved.connect(
            lambda path: self.banner.set_message(f"Saved {path}: it is now the app's calibration.", "success")
        )
        self._sync_buttons()

    # ---------------------------------------------------------------- building
    def _build_form(self) -> QtWidgets.QFormLayout:
        s = self.state.settings
        form = QtWidgets.QFormLayout()
        form.setLabelAlignment(QtCore.Qt.AlignmentFlag.AlignRight)
        videos = list(s.person_videos) + ["", ""]
        self.video_edits = []
        for k in (0, 1):
            edit, browse, row = path_row(f"camera {k + 1}'s video")
            edit.setText(videos[k])
            browse.clicked.connect(lambda _c=False, e=edit, n=k: self._browse_video(e, n))
            self.video_edits.append(edit)
            form.addRow(f"Camera {k + 1} video:", row)
        self.lens_file = QtWidgets.QRadioButton("Known lenses (a calibration file)")
        self.lens_fov = QtWidgets.QRadioButton("Field of view")
        self.intrinsics_edit, browse, row = path_row("calibration TOML holding both cameras")
        self.intrinsics_edit.setText(s.person_intrinsics)
        browse.clicked.connect(self._browse_intrinsics)
        self.fov_spin = QtWidgets.QDoubleSpinBox()
        self.fov_spin.setRange(20.0, 150.0)
        self.fov_spin.setSuffix(" ° horizontal")
        self.fov_spin.setValue(s.person_fov_deg)
        self.fov_spin.setToolTip("A webcam's horizontal field of view is usually 60-80°; it is refined from the walk.")
        (self.lens_file if s.person_intrinsics else self.lens_fov).setChecked(True)
        form.addRow("Lenses:", self.lens_file)
        form.addRow("", row)
        form.addRow("", self.lens_fov)
        form.addRow("", self.fov_spin)
        self.scale_height = QtWidgets.QRadioButton("The person's height")
        self.scale_distance = QtWidgets.QRadioButton("The distance between the cameras")
        self.scale_height.setChecked(True)
        self.height_spin = QtWidgets.QDoubleSpinBox()
        self.height_spin.setRange(0.8, 2.5)
        self.height_spin.setDecimals(2)
        self.height_spin.setSingleStep(0.01)
        self.height_spin.setSuffix(" m")
        self.height_spin.setValue(s.person_height_m)
        self.distance_spin = QtWidgets.QDoubleSpinBox()
        self.distance_spin.setRange(0.1, 50.0)
        self.distance_spin.setDecimals(3)
        self.distance_spin.setSuffix(" m")
        self.distance_spin.setValue(1.5)
        form.addRow("Scale:", self.scale_height)
        form.addRow("", self.height_spin)
        form.addRow("", self.scale_distance)
        form.addRow("", self.distance_spin)
        for w in (self.lens_file, self.lens_fov, self.scale_height, self.scale_distance):
            w.toggled.connect(self._sync_buttons)
        return form

    def _build_result(self) -> QtWidgets.QHBoxLayout:
        row = QtWidgets.QHBoxLayout()
        self.verdict_label = make_label("", "verdict")
        self.verdict_label.hide()
        self.summary_label = QtWidgets.QLabel("")
        self.summary_label.setWordWrap(True)
        row.addWidget(self.verdict_label, 0, QtCore.Qt.AlignmentFlag.AlignTop)
        row.addWidget(self.summary_label, 1)
        return row

    def _build_buttons(self) -> QtWidgets.QHBoxLayout:
        row = QtWidgets.QHBoxLayout()
        row.addStretch(1)
        self.run_button = QtWidgets.QPushButton("Calibrate")
        self.run_button.setObjectName("primary")
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.save_button = QtWidgets.QPushButton("Save…")
        self.close_button = QtWidgets.QPushButton("Close")
        for b in (self.run_button, self.cancel_button, self.save_button, self.close_button):
            row.addWidget(b)
        self.run_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.presenter.cancel)
        self.save_button.clicked.connect(lambda: self.save())
        self.close_button.clicked.connect(self.close)
        return row

    # ---------------------------------------------------------------- actions
    def inputs(self) -> PersonInputs:
        """What the form says."""
        return PersonInputs(
            cam0=self.video_edits[0].text().strip(),
            cam1=self.video_edits[1].text().strip(),
            height_m=self.height_spin.value() if self.scale_height.isChecked() else None,
            distance_m=self.distance_spin.value() if self.scale_distance.isChecked() else None,
            intrinsics=self.intrinsics_edit.text().strip() or None if self.lens_file.isChecked() else None,
            fov_deg=self.fov_spin.value() if self.lens_fov.isChecked() else None,
        )

    def start(self) -> bool:
        self.banner.set_message("", "error")
        self.verdict_label.hide()
        self.summary_label.setText("")
        return self.presenter.start(self.inputs())

    def save(self, path: str | None = None) -> str | None:
        if path is None:
            start = str((self.state.settings.calibration_dir or Path.home()) / "calibration_person.toml")
            path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save the calibration", start, "TOML (*.toml)")
            if not path:
                return None
        return self.presenter.save(path)

    def _browse_video(self, edit: QtWidgets.QLineEdit, k: int) -> None:
        start = edit.text() or str(Path.home())
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, f"Camera {k + 1}'s video", start, VIDEO_FILTER)
        if path:
            edit.setText(path)

    def _browse_intrinsics(self) -> None:
        start = self.intrinsics_edit.text() or str(self.state.settings.calibration_dir or Path.home())
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Lens calibration", start, "TOML (*.toml)")
        if path:
            self.intrinsics_edit.setText(path)
            self.lens_file.setChecked(True)

    # ---------------------------------------------------------------- showing
    def _sync_buttons(self) -> None:
        running = self.presenter.state is PersonState.RUNNING
        self.run_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.save_button.setEnabled(self.presenter.state is PersonState.DONE)
        self.progress.setVisible(running or self.progress.value() > 0)
        self.intrinsics_edit.setEnabled(self.lens_file.isChecked())
        self.fov_spin.setEnabled(self.lens_fov.isChecked())
        self.height_spin.setEnabled(self.scale_height.isChecked())
        self.distance_spin.setEnabled(self.scale_distance.isChecked())

    def _on_progress(self, done: int, total: int, message: str) -> None:
        self.progress.setMaximum(max(total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(f"{message}  %p%")
        self.progress.show()

    def show_coverage(self, update: CoverageUpdate) -> None:
        """Both views: the latest frame, the person's joints, and where they have been."""
        for k, view in enumerate(self.views):
            img = update.images[k]
            if img is not None:
                view.set_image(img, update.scales[k])
            kp = None if update.keypoints is None else update.keypoints[k]
            if kp is not None:
                kp = np.where((kp[:, 2] > 0.5)[:, None], kp[:, :2], np.nan)
            view.set_corners(kp, "accent", bones=skeleton.BONES)
            view.set_heatmap(update.grids[k])
            view.set_status(f"{update.coverage[k]:.0%} of the view covered", "info")
        self.hint_label.setText(
            f"{update.frames}/{update.total} frames read, {update.frames_both} with the person in both views. "
            f"{update.hint}"
        )

    def show_result(self, result: PersonCalibration) -> None:
        self.verdict_label.setText(result.verdict.upper())
        set_style_property(self.verdict_label, "level", result.verdict)
        self.verdict_label.show()
        self.summary_label.setText(result.summary())
        self._sync_buttons()

    def closeEvent(self, event) -> None:  # noqa: ANN001 - Qt's signature
        self.presenter.stop()
        super().closeEvent(event)
