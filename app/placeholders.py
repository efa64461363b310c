"""Placeholder tabs shown until the real ones land, and a demo pose for the Live tab. Qt only.

Each placeholder says what its tab will hold. The real tabs replace them with ``MainWindow.set_tab``.
"""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtWidgets

from app.widgets.skeleton_view import UP_AXES, SkeletonView
from core.skeleton import JOINT_INDEX, NUM_JOINTS

_DEMO_JOINTS_M: dict[str, tuple[float, float, float]] = {
    # Z-up, metres, facing -Y (so the person's left is +X); a relaxed stance with the arms away from the body
    "pelvis": (0.0, 0.0, 0.95),
    "right_hip": (-0.10, 0.0, 0.93),
    "right_knee": (-0.12, -0.03, 0.51),
    "right_ankle": (-0.14, 0.02, 0.09),
    "left_hip": (0.10, 0.0, 0.93),
    "left_knee": (0.12, -0.03, 0.51),
    "left_ankle": (0.15, 0.03, 0.09),
    "spine": (0.0, 0.01, 1.19),
    "thorax": (0.0, 0.01, 1.44),
    "nose": (0.0, -0.09, 1.58),
    "head_top": (0.0, -0.01, 1.74),
    "left_shoulder": (0.18, 0.01, 1.42),
    "left_elbow": (0.33, 0.02, 1.16),
    "left_wrist": (0.45, -0.06, 0.94),
    "right_shoulder": (-0.18, 0.01, 1.42),
    "right_elbow": (-0.33, -0.04, 1.17),
    "right_wrist": (-0.36, -0.28, 1.10),
}


def demo_pose(world_up: str = "+z") -> np.ndarray:
    """A plausible standing adult, ``(17, 3)`` metres, H36M order, at the origin, facing -Y in a Z-up frame.

    ``world_up`` gives the same pose expressed in a world with that up axis (see ``SkeletonView.set_world_up``).
    """
    pts = np.zeros((NUM_JOINTS, 3))
    for name, p in _DEMO_JOINTS_M.items():
        pts[JOINT_INDEX[name]] = p
    # display = R @ world  ->  world = R.T @ display
    return pts @ UP_AXES[world_up]


class PlaceholderPage(QtWidgets.QWidget):
    """A tab page that describes what the tab will hold: title, summary, numbered feature cards and a note."""

    MAX_CONTENT_WIDTH = 1100

    def __init__(
        self,
        title: str,
        summary: str,
        cards: list[tuple[str, str]],
        note: str = "",
        chip: str = "Coming next",
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("page")
        self.title = title
        outer = QtWidgets.QHBoxLayout(self)
        outer.setContentsMargins(48, 0, 48, 0)
        column_widget = QtWidgets.QWidget()
        column_widget.setMaximumWidth(self.MAX_CONTENT_WIDTH)
        outer.addStretch(1)
        outer.addWidget(column_widget, 100)
        outer.addStretch(1)

        column = QtWidgets.QVBoxLayout(column_widget)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(10)
        column.addStretch(1)
        head = QtWidgets.QHBoxLayout()
        title_label = QtWidgets.QLabel(title)
        title_label.setObjectName("pageTitle")
        chip_label = QtWidgets.QLabel(chip)
        chip_label.setObjectName("chip")
        head.addWidget(title_label)
        head.addSpacing(12)
        head.addWidget(chip_label, 0, QtCore.Qt.AlignmentFlag.AlignVCenter)
        head.addStretch(1)
        column.addLayout(head)

        summary_label = QtWidgets.QLabel(summary)
        summary_label.setObjectName("pageSummary")
        summary_label.setWordWrap(True)
        column.addWidget(summary_label)
        column.addSpacing(22)

        grid = QtWidgets.QGridLayout()
        grid.setHorizontalSpacing(16)
        grid.setVerticalSpacing(16)
        for i, (heading, text) in enumerate(cards):
            grid.addWidget(self._card(i + 1, heading, text), i // 2, i % 2)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        column.addLayout(grid)
        if note:
            column.addSpacing(14)
            note_label = QtWidgets.QLabel(note)
            note_label.setObjectName("note")
            note_label.setWordWrap(True)
            column.addWidget(note_label)
        column.addStretch(2)

    @staticmethod
    def _card(number: int, heading: str, text: str) -> QtWidgets.QFrame:
        card = QtWidgets.QFrame()
        card.setObjectName("card")
        card.setMinimumHeight(118)
        row = QtWidgets.QHBoxLayout(card)
        row.setContentsMargins(18, 18, 20, 18)
        row.setSpacing(14)
        badge = QtWidgets.QLabel(str(number))
        badge.setObjectName("badge")
        badge.setFixedSize(30, 30)
        badge.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        row.addWidget(badge, 0, QtCore.Qt.AlignmentFlag.AlignTop)
        lay = QtWidgets.QVBoxLayout()
        lay.setSpacing(6)
        h = QtWidgets.QLabel(heading)
        h.setObjectName("cardTitle")
        h.setWordWrap(True)
        t = QtWidgets.QLabel(text)
        t.setObjectName("cardText")
        t.setWordWrap(True)
        t.setAlignment(QtCore.Qt.AlignmentFlag.AlignTop | QtCore.Qt.AlignmentFlag.AlignLeft)
        lay.addWidget(h)
        lay.addWidget(t, 1)
        row.addLayout(lay, 1)
        return card


def calibration_placeholder() -> PlaceholderPage:
    return PlaceholderPage(
        "Stereo calibration",
        "Calibrate your two webcams together, inside the app: each lens first, then where one camera sits "
        "relative to the other. The result is what turns two 2D views into metric 3D.",
        [
            (
                "Guided capture with live coaching",
                "A wizard for chessboard or ChArUco boards. While you move the board it tells you what is "
                "missing (closer, tilted, into the corners) until both cameras have good coverage.",
            ),
            (
                "Intrinsics, then stereo",
                "Focal length and lens distortion of each camera, then the rotation and baseline between "
                "them, with the reprojection error of every view.",
            ),
            (
                "Quality report",
                "RMS error, board coverage, baseline and convergence angle, with advice when a result is "
                "not good enough to use.",
            ),
            (
                "Load and save calibration TOML",
                "Calibrations are anipose/Pose2Sim TOML files in metres (File ▸ Open calibration…). Files "
                "from FreeMoCap and Caliscope can be read too.",
            ),
        ],
        note="You will need a printed chessboard or ChArUco board and both webcams fixed in place, "
        "looking at the space where you will move.",
    )


def sessions_placeholder() -> PlaceholderPage:
    return PlaceholderPage(
        "Sessions",
        "Everything you capture is kept as a session folder: both videos with their timestamps, the 2D "
        "detections and the 3D skeletons. Sessions can be replayed, reprocessed and exported.",
        [
            (
                "Record",
                "Both camera streams with their capture times, plus the live 2D and 3D skeletons, written "
                "safely so that a crash never corrupts what was already recorded.",
            ),
            ("Replay", "Scrub through a session in the 3D view next to the two videos, frame by frame."),
            (
                "Import and process",
                "Bring in a pair of videos from elsewhere and run detection, triangulation and CV-UGCN "
                "refinement offline, faster than real time where the machine allows.",
            ),
            (
                "Export",
                "TRC and C3D for OpenSim and biomechanics tools, CSV and JSON for analysis, BVH for "
                "animation. Every file states its units.",
            ),
        ],
        note="A session folder is self-contained: copy it to another machine and it replays there.",
    )


def training_placeholder() -> PlaceholderPage:
    return PlaceholderPage(
        "Training",
        "Fine-tune the CV-UGCN refinement network on your own recordings, with weak supervision: no 3D "
        "ground truth and no labelling needed.",
        [
            (
                "Weakly-supervised fine-tuning",
                "The network learns from cross-view consistency: 3D agreement between the two camera frames, "
                "2D reprojection onto both views and bone-direction consistency.",
            ),
            (
                "Runs in the background",
                "Training runs off the interface thread with live loss curves. Stop it at any time; the "
                "best checkpoint so far is kept.",
            ),
            (
                "Compare coarse and refined",
                "The triangulated (coarse) and refined skeletons are overlaid in the 3D view, with error "
                "figures on held-out frames.",
            ),
            (
                "Checkpoints",
                "Save, load and roll back model weights; the Live tab uses the checkpoint you choose.",
            ),
        ],
        note="You will need a calibration and a few recorded sessions. Training runs on the CPU; "
        "a CUDA GPU makes it much faster.",
    )


class LivePlaceholder(QtWidgets.QWidget):
    """The Live tab until live capture lands: a :class:`SkeletonView` showing :func:`demo_pose`."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("page")
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)

        bar = QtWidgets.QFrame()
        bar.setObjectName("toolbar")
        row = QtWidgets.QHBoxLayout(bar)
        row.setContentsMargins(14, 8, 14, 8)
        row.setSpacing(10)
        chip = QtWidgets.QLabel("Demo pose")
        chip.setObjectName("chip")
        hint = QtWidgets.QLabel("Live capture from two webcams is coming: this view will show the refined 3D skeleton.")
        hint.setObjectName("hint")
        hint.setToolTip(hint.text())
        # long text must not set the window's minimum width: let it be cut on narrow windows
        hint.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
        self.reset_button = QtWidgets.QPushButton("Reset view")
        self.follow_box = QtWidgets.QCheckBox("Follow pelvis")
        row.addWidget(chip)
        row.addWidget(hint, 1)
        row.addWidget(self.follow_box)
        row.addWidget(self.reset_button)
        lay.addWidget(bar)

        self.view = SkeletonView()
        self.view.set_skeleton("demo", demo_pose())
        lay.addWidget(self.view, 1)

        self.reset_button.clicked.connect(self.view.reset_view)
        self.follow_box.toggled.connect(self.view.set_follow)

    def set_calibration(self, calib) -> None:
        """Show a loaded ``core.calibration_io.CalibrationFile``: its cameras around the demo pose."""
        group = calib.group
        up = calib.world_up or ("-y" if group.origin is not None else "+z")
        self.view.set_world_up(up if up in UP_AXES else "+z")
        self.view.set_skeleton("demo", demo_pose(self.view.world_up()))
        self.view.set_cameras(group)
        self.view.fit_to(np.concatenate([demo_pose(self.view.world_up()), np.stack([c.center for c in group])]))
