"""The stereo calibration wizard: :class:`CalibrationWizard`, the shell of the pages. Qt only.

Pages (``app/calibration/pages/``), each a view of the wizard's presenter
(:class:`~app.calibration.presenter.CalibrationPresenter`):

1. :class:`~app.calibration.pages.inputs.InputsPage`: two cameras (live previews; resolution, fps, MJPG), or
   two video files recorded together (optional capture-time CSV), or two folders of photos.
2. :class:`~app.calibration.pages.board.BoardPage`: chessboard or ChArUco (or a board TOML, Caliscope's
   charuco.toml included), a preview and a print sheet at true size.
3. / 4. :class:`~app.calibration.pages.intrinsics.IntrinsicsPage`: one camera's lens: live preview with the
   corners and the coverage heat map, counters, running RMS, the engine's advice and why the board is not
   found; automatic or manual capture; or known intrinsics loaded from a calibration file.
5. :class:`~app.calibration.pages.stereo.StereoPage`: pairs seen by both cameras, with a live epipolar error
   estimate.
6. :class:`~app.calibration.pages.results.ResultsPage`: the solve (progress, Cancel), the verdict and figures,
   per-view error bars, a rectified preview with epipolar lines, the camera frusta in 3D, an optional floor
   frame, Save, and "redo" buttons that go back to a step.

The wizard itself holds the side list of steps and the navigation. Errors are shown in the page (a banner),
never as a traceback. Detection and solving run as tasks (``state.tasks``); closing the wizard stops every
task and camera. Its look is ``app/theme/calibration.qss`` (``QWizard#calibrationWizard``).
"""

from __future__ import annotations

import contextlib

from PySide6 import QtCore, QtGui, QtWidgets

from app.calibration.pages.base import (
    PAGE_BOARD,
    PAGE_CAM0,
    PAGE_CAM1,
    PAGE_INPUTS,
    PAGE_RESULTS,
    PAGE_STEREO,
    STEP_NAMES,
    WizardPage,
)
from app.calibration.pages.board import BoardPage
from app.calibration.pages.inputs import InputsPage
from app.calibration.pages.intrinsics import IntrinsicsPage
from app.calibration.pages.results import ResultsPage
from app.calibration.pages.stereo import StereoPage
from app.calibration.person_dialog import PersonCalibrationDialog
from app.calibration.presenter import CalibrationPresenter, CameraFactory, DeviceLister
from app.state import AppState
from app.tasks import Task
from app.theme import repolish
from app.widgets.build import make_label
from calibration.io import parse_board_spec
from core.errors import CrossViewError

__all__ = [
    "PAGE_BOARD",
    "PAGE_CAM0",
    "PAGE_CAM1",
    "PAGE_INPUTS",
    "PAGE_RESULTS",
    "PAGE_STEREO",
    "CalibrationWizard",
    "StepsPanel",
]


class StepsPanel(QtWidgets.QWidget):
    """The list of steps at the wizard's side, the current one highlighted."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("wizardSide")
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(4, 8, 12, 8)
        lay.setSpacing(2)
        title = make_label("Calibration", "stepsTitle")
        lay.addWidget(title)
        self.labels = []
        for k, name in enumerate(STEP_NAMES):
            lbl = QtWidgets.QLabel(f"{k + 1}   {name}")
            self.labels.append(lbl)
            lay.addWidget(lbl)
        lay.addStretch(1)
        self.setFixedWidth(170)
        self.set_current(0)

    def set_current(self, k: int) -> None:
        for i, lbl in enumerate(self.labels):
            lbl.setObjectName("stepCurrent" if i == k else "stepDone" if i < k else "stepTodo")
            repolish(lbl)


class CalibrationWizard(QtWidgets.QWizard):
    """The stereo calibration wizard. Emits :attr:`calibrationSaved` with the path of each saved TOML (which
    became the app's calibration through ``state.load_calibration``).

    ``state``: the app's state (its settings remember the last inputs, board and folders; its task registry
    runs the capture and the solve). ``device_lister``/``camera_factory``: how cameras are listed and opened
    (tests inject simulated ones).
    """

    calibrationSaved = QtCore.Signal(str)

    def __init__(
        self,
        state: AppState,
        parent: QtWidgets.QWidget | None = None,
        *,
        device_lister: DeviceLister | None = None,
        camera_factory: CameraFactory | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("calibrationWizard")
        self.setWindowTitle("CrossView — stereo calibration")
        self.setWizardStyle(QtWidgets.QWizard.WizardStyle.ClassicStyle)
        self.setTitleFormat(QtCore.Qt.TextFormat.RichText)
        self.setSubTitleFormat(QtCore.Qt.TextFormat.RichText)
        self.setOption(QtWidgets.QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setOption(QtWidgets.QWizard.WizardOption.IndependentPages, True)
        self.setButtonText(QtWidgets.QWizard.WizardButton.FinishButton, "Save and close")
        self.state = state
        self.presenter = CalibrationPresenter(
            state, device_lister=device_lister, camera_factory=camera_factory, parent=self
        )
        self.presenter.calibrationSaved.connect(self.calibrationSaved)
        self._stopped = False
        self._current = -1
        self._jump_target: int | None = None

        p = self.presenter
        self.inputs_page = InputsPage(p)
        self.board_page = BoardPage(p)
        self.cam_pages = (IntrinsicsPage(p, 0), IntrinsicsPage(p, 1))
        self.stereo_page = StereoPage(p)
        self.results_page = ResultsPage(p)
        for pid, page in zip(
            range(6), (self.inputs_page, self.board_page, *self.cam_pages, self.stereo_page, self.results_page)
        ):
            self.setPage(pid, page)
        self.results_page.redoRequested.connect(self.go_to)
        self.person_dialog: PersonCalibrationDialog | None = None
        self.inputs_page.personRequested.connect(self.open_person_dialog)
        self.steps = StepsPanel()
        self.setSideWidget(self.steps)
        self.currentIdChanged.connect(self._page_changed)
        self.resize(1440, 900)
        self._restore()

    def open_person_dialog(self) -> PersonCalibrationDialog:
        """ "Calibrate from a person" (no board), over the wizard; its saved calibration is the wizard's."""
        if self.person_dialog is None:
            self.person_dialog = PersonCalibrationDialog(self.state, self)
            self.person_dialog.presenter.saved.connect(self.calibrationSaved)
        self.person_dialog.show()
        self.person_dialog.raise_()
        return self.person_dialog

    @property
    def run(self):
        """The presenter's calibration run (None before the board page was passed)."""
        return self.presenter.run

    def _restore(self) -> None:
        """The board, the recordings and the kind of input of last time."""
        settings = self.state.settings
        if settings.calibration_board_spec:
            with contextlib.suppress(CrossViewError):
                self.board_page.set_board(parse_board_spec(settings.calibration_board_spec))
        for kind in ("videos", "images"):
            paths = settings.calibration_paths(kind)
            if len(paths) == 2:
                edits = self.inputs_page.video_edits if kind == "videos" else self.inputs_page.image_edits
                for e, p in zip(edits, paths):
                    e.blockSignals(True)
                    e.setText(str(p))
                    e.blockSignals(False)
        kind = settings.calibration_input_kind
        self.inputs_page.kind_from_settings = kind in ("cameras", "videos", "images")
        self.inputs_page.set_kind(kind if self.inputs_page.kind_from_settings else "videos")

    # ---------------------------------------------------------------- navigation
    def _page_changed(self, pid: int) -> None:
        old = self.page(self._current) if self._current >= 0 else None
        self._current = pid
        if isinstance(old, WizardPage):
            old.left()
        self.steps.set_current(max(0, pid))
        page = self.page(pid)
        if isinstance(page, WizardPage) and (self._jump_target is None or pid == self._jump_target):
            page.entered()

    def go_to(self, pid: int) -> None:
        """Go back to page ``pid`` (pages keep what they hold; the pages in between are not started)."""
        self._jump_target = pid
        try:
            guard = 0
            while self.currentId() > pid and guard < 10:
                self.back()
                guard += 1
        finally:
            self._jump_target = None

    # ---------------------------------------------------------------- lifetime
    def threads(self) -> list[Task]:
        """The wizard's tasks whose thread still runs."""
        return self.presenter.threads()

    def stop_all(self) -> None:
        """Stop every task and camera (closing the wizard does this)."""
        if self._stopped:
            return
        self._stopped = True
        self.inputs_page.left()
        self.presenter.stop_all()
        if self.person_dialog is not None:
            self.person_dialog.presenter.stop()

    def stop(self) -> None:
        self.stop_all()

    def done(self, result: int) -> None:
        self.stop_all()
        super().done(result)

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self.stop_all()
        super().closeEvent(event)

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        self._stopped = False
        if self._current < 0 and self.currentId() >= 0:
            self._page_changed(self.currentId())

    # ---------------------------------------------------------------- convenience for scripts and tests
    def next_button(self) -> QtWidgets.QAbstractButton:
        return self.button(QtWidgets.QWizard.WizardButton.NextButton)

    def finish_button(self) -> QtWidgets.QAbstractButton:
        return self.button(QtWidgets.QWizard.WizardButton.FinishButton)
