"""Shared pytest fixtures for CrossView.

- Real data: ``/work/shared/data`` is found as ``<repo>/../shared/data`` or through the environment
  variable ``CROSSVIEW_SHARED_DATA``. Use the ``shared_data`` fixture or :func:`require_shared`, which
  skip the test with a clear reason when the data is absent.
- Qt: OpenGL contexts are shared between windows and given a depth buffer before the QApplication
  exists, and every test that uses ``qtbot``/``qapp`` gets QSettings redirected to its own temporary
  folder, so tests never read or write the user's real settings.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.paths import SHARED_DATA, need


def require_shared(*parts: str) -> Path:
    """The path of a shared data item; skips the calling test (with the reason) when it is absent."""
    return need(SHARED_DATA.joinpath(*parts))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared real-data folder (skip when absent)."""
    return need(SHARED_DATA)


def pytest_configure(config: pytest.Config) -> None:
    # Before pytest-qt creates the QApplication: shared GL contexts (pyqtgraph caches shader programs
    # per class, across windows) and a default surface with depth buffer and MSAA.
    try:
        from app.gui import configure_opengl
    except ImportError:  # Qt not installed: GUI tests will fail on their own import
        return
    configure_opengl()


@pytest.fixture(autouse=True)
def _isolated_qsettings(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """Redirect QSettings (native and INI, user and system scope) to a temporary folder for Qt tests."""
    if not {"qtbot", "qapp"} & set(request.fixturenames):
        yield None
        return
    from PySide6 import QtCore

    folder = tmp_path_factory.mktemp("qsettings")
    fmts = (QtCore.QSettings.Format.NativeFormat, QtCore.QSettings.Format.IniFormat)
    scopes = (QtCore.QSettings.Scope.UserScope, QtCore.QSettings.Scope.SystemScope)
    for fmt in fmts:
        for scope in scopes:
            QtCore.QSettings.setPath(fmt, scope, str(folder))
    yield folder


@pytest.fixture
def qsettings_dir(_isolated_qsettings, tmp_path: Path) -> Path:
    """A temporary folder for a test's own ``QSettings(path, IniFormat)`` files."""
    path = tmp_path / "settings"
    path.mkdir()
    return path


@pytest.fixture(scope="session")
def static_pose_detector():
    """One MediaPipe Pose instance (still-image mode) shared by every test that needs one."""
    from core.detection import PoseDetector

    det = PoseDetector(static_image_mode=True)
    yield det
    det.close()


@pytest.fixture(scope="session")
def training_sessions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sessions root: 'balancing' (cameras 01+04 with real OpenPose 2D) and 'unprocessed' (03+04, no 2D)."""
    from tests.test_models_helpers import pose2sim_training_sessions

    return pose2sim_training_sessions(tmp_path_factory.mktemp("training") / "sessions")


@pytest.fixture
def training_state(qtbot, qsettings_dir: Path, training_sessions: Path, tmp_path: Path):
    """The app state: settings in a temporary folder, the sessions root above, models in ``tmp_path/models``."""
    from app.settings import Settings
    from app.state import AppState

    settings = Settings.in_folder(qsettings_dir)
    settings.sessions_root = training_sessions
    settings.models_folder = tmp_path / "models"
    state = AppState(settings)
    yield state
    state.tasks.stop_all()  # e.g. the model loading that "Use this model" started
