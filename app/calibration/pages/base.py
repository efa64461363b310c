"""What every page of the calibration wizard shares: :class:`WizardPage`, the page ids and step names. Qt only."""

from __future__ import annotations

from PySide6 import QtWidgets

from app.calibration.presenter import CalibrationPresenter
from app.calibration.widgets import Banner
from app.settings import Settings
from app.theme import PALETTE

PAGE_INPUTS, PAGE_BOARD, PAGE_CAM0, PAGE_CAM1, PAGE_STEREO, PAGE_RESULTS = range(6)
STEP_NAMES = ("Cameras", "Board", "Camera 1 lens", "Camera 2 lens", "Stereo pairs", "Results")


class WizardPage(QtWidgets.QWizardPage):
    """A wizard page with a banner, a view of ``presenter``; ``entered``/``left`` are called by the wizard
    on every page change."""

    def __init__(self, presenter: CalibrationPresenter, title: str, subtitle: str) -> None:
        super().__init__()
        self.presenter = presenter
        self.plain_title = title
        self.setTitle(f"<span style='font-size: 17px; font-weight: 700;'>{title}</span>")
        self.setSubTitle(f"<span style='color: {PALETTE.muted};'>{subtitle}</span>")
        self.banner = Banner()

    @property
    def settings(self) -> Settings:
        return self.presenter.settings

    def entered(self) -> None:  # noqa: B027 - optional hook
        pass

    def left(self) -> None:  # noqa: B027 - optional hook
        pass

    def cleanupPage(self) -> None:  # keep the fields when going back (QWizard would reset them)
        pass
