"""The application as a user starts it: ``python main.py --demo`` (real window, real tabs, real demo)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets

from app.live.tab import MAIN_SKELETON
from app.main_window import MainWindow
from cli import build_parser
from core.demo import demo_files

pytestmark = pytest.mark.gui


def test_main_demo_flag_opens_the_window_and_runs_live_3d(qapp, tmp_path):
    demo_files()  # shipped with the repository
    from app.gui import run_gui

    args = build_parser().parse_args(["--demo"])
    args.settings_dir = str(tmp_path)
    seen: dict[str, object] = {}
    deadline = QtCore.QDeadlineTimer(60_000)

    def poll() -> None:
        windows = [w for w in QtWidgets.QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        if windows:
            win = windows[0]
            live = win.tab("Live")
            seen["tabs"] = win.tab_names()
            seen["current"] = win.current_tab_name()
            pts = live.view3d.skeleton_points(MAIN_SKELETON) if MAIN_SKELETON in live.view3d.skeleton_names() else None
            if pts is not None and np.isfinite(pts).all() and live.refine_hook() is not None:
                seen["points"] = pts
                seen["state"] = live.state
                seen["refine_label"] = live.refine_label()
                seen["tab_types"] = {n: type(win.tab(n)).__name__ for n in win.tab_names()}
                win.close()
                return
        if deadline.hasExpired():
            for w in QtWidgets.QApplication.topLevelWidgets():
                w.close()
            return
        QtCore.QTimer.singleShot(100, poll)

    QtCore.QTimer.singleShot(100, poll)
    code = run_gui(args)
    assert code == 0
    assert seen.get("tabs") == ["Live", "Calibration", "Sessions", "Training"]
    assert seen.get("current") == "Live"
    assert "points" in seen, "no live 3D skeleton arrived from the demo"
    assert "CV-UGCN" in seen["refine_label"]  # the shipped model was loaded for live refinement
    assert seen["tab_types"] == {
        "Live": "LiveTab",
        "Calibration": "CalibrationTab",
        "Sessions": "SessionsTab",
        "Training": "TrainingTab",
    }
    height = seen["points"][10, 2] - seen["points"][3, 2]
    assert 1.0 < height < 2.2  # a standing adult, Z up, metres
    # closing the window stopped every capture and processing thread
    left = [t.name for t in threading.enumerate() if t.name.startswith(("pipeline-", "detect-", "capture-"))]
    assert left == []
