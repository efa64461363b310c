"""The replay's per-joint plots: the chosen joint's trajectory (x / y / z over time, metres, world frame), its
reprojection error (pixels) and the lengths of its bones (metres), raw and refined (:class:`JointPlots`). Qt only.

A vertical line marks the current pair; clicking a plot asks to jump to the pair at that time.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from app.theme import PALETTE
from app.widgets.build import make_label
from app.widgets.plots import ClickablePlot
from app.widgets.skeleton_view import AXIS_COLOURS
from core import skeleton as sk

#: The joint plotted when a session opens.
DEFAULT_JOINT = "right_wrist"
#: Palette names of the bone-length curves, in turn.
BONE_SERIES = ("bone_1", "bone_2", "bone_3", "bone_4")


def pretty(name: str) -> str:
    """A joint's name as people read it (``right_wrist`` -> ``right wrist``)."""
    return name.replace("_", " ")


class _PlotPanel(QtWidgets.QWidget):
    """A title, a colour legend (outside the data, so it never hides a curve) and a :class:`ClickablePlot`."""

    def __init__(self, y_label: str) -> None:
        super().__init__()
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        head = QtWidgets.QHBoxLayout()
        head.setContentsMargins(6, 0, 6, 0)
        self.title = make_label("", "plotTitle")
        head.addWidget(self.title)
        head.addStretch(1)
        lay.addLayout(head)
        self.legend = make_label("", "plotLegend", wrap=True)
        self.legend.setContentsMargins(6, 0, 6, 0)
        lay.addWidget(self.legend)
        self.plot = ClickablePlot(y_label)
        lay.addWidget(self.plot, 1)

    def set_legend(self, entries: list[tuple[QtGui.QColor, str]]) -> None:
        parts = [
            f'<span style="color:{c.name()}; font-weight:900;">&#9644;</span>&nbsp;{label}' for c, label in entries
        ]
        self.legend.setText("&nbsp;&nbsp;&nbsp;".join(parts))


class JointPlots(QtWidgets.QWidget):
    """Per-joint plots over the whole session: trajectory, reprojection error, bone lengths.

    ``jumpRequested(pair_index)`` when a plot is clicked.
    """

    jumpRequested = QtCore.Signal(int)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._time = np.zeros(0)
        self._all_time = np.zeros(0)
        self._coarse: np.ndarray | None = None
        self._refined: np.ndarray | None = None
        self._err: np.ndarray | None = None
        self._up = "+z"
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(10, 8, 10, 8)
        lay.setSpacing(10)
        side = QtWidgets.QVBoxLayout()
        side.setSpacing(6)
        title = make_label("Joint", "panelTitle")
        side.addWidget(title)
        self.joint_combo = QtWidgets.QComboBox()
        self.joint_combo.setObjectName("jointCombo")
        for j, name in enumerate(sk.JOINT_NAMES):
            self.joint_combo.addItem(pretty(name), j)
        self.joint_combo.setCurrentIndex(sk.JOINT_INDEX[DEFAULT_JOINT])
        self.joint_combo.currentIndexChanged.connect(self._redraw)
        side.addWidget(self.joint_combo)
        self.note = make_label("", "caption", wrap=True)
        self.note.setFixedWidth(150)
        side.addWidget(self.note)
        hint = make_label("Click a plot to jump to that moment.", "caption", wrap=True)
        hint.setFixedWidth(150)
        side.addWidget(hint)
        side.addStretch(1)
        lay.addLayout(side)
        self.panels = [_PlotPanel("position (m)"), _PlotPanel("error (px)"), _PlotPanel("length (m)")]
        self.trajectory, self.reprojection, self.bones = (p.plot for p in self.panels)
        for panel in self.panels:
            panel.plot.timeClicked.connect(self._on_time_clicked)
            lay.addWidget(panel, 1)

    def plots(self) -> list[ClickablePlot]:
        return [self.trajectory, self.reprojection, self.bones]

    def joint(self) -> int:
        return int(self.joint_combo.currentData())

    def set_joint(self, joint: int | str) -> None:
        j = sk.JOINT_INDEX[joint] if isinstance(joint, str) else int(joint)
        self.joint_combo.setCurrentIndex(j)

    def set_data(
        self,
        time_s: np.ndarray,
        coarse: np.ndarray | None,
        refined: np.ndarray | None,
        reprojection_error_px: np.ndarray | None,
        world_up: str = "+z",
        keep: np.ndarray | None = None,
    ) -> None:
        """``time_s (P,)`` s; ``coarse``/``refined`` ``(P, 17, 3)`` m (or None); errors ``(P, 17)`` px.
        ``keep (P,)`` bool: the pairs to plot (pairs without any result are left out so lines join across them;
        pairs processed without a 3D stay as gaps)."""
        self._all_time = np.asarray(time_s, np.float64)
        sel = np.ones(len(self._all_time), bool) if keep is None else np.asarray(keep, bool)
        self._time = self._all_time[sel]
        self._coarse = coarse[sel] if coarse is not None else None
        self._refined = refined[sel] if refined is not None else None
        self._err = reprojection_error_px[sel] if reprojection_error_px is not None else None
        self._up = world_up
        self._redraw()

    def set_cursor(self, t: float) -> None:
        for plot in self.plots():
            plot.cursor.setValue(t)

    def bones_of(self, joint: int) -> list[int]:
        """Indices into :data:`core.skeleton.BONES` of the bones that touch ``joint``."""
        return [int(b) for b in np.flatnonzero((sk.BONES == joint).any(axis=1))]

    def _on_time_clicked(self, t: float) -> None:
        if not len(self._all_time):
            return
        p = int(np.argmin(np.abs(self._all_time - t)))
        self.jumpRequested.emit(p)

    def _redraw(self, *_args: object) -> None:
        j = self.joint()
        t = self._time
        name = pretty(sk.JOINT_NAMES[j])
        for plot in self.plots():
            plot.clear_curves()
        titles = ("Trajectory", "Reprojection error", "Bone length")
        for panel, title in zip(self.panels, titles, strict=True):
            panel.title.setText(f"<b>{title}</b> <span style='color:{PALETTE.muted}'>· {name}</span>")
            panel.set_legend([])
        if self._coarse is None:
            self.note.setText("No 3D yet: process the session to see plots.")
            return
        both = self._refined is not None
        self.note.setText(
            "Thin lines: triangulated (raw).\nThick lines: refined."
            if both
            else f"Triangulated 3D, world frame (up {self._up})."
        )
        up_axis = self._up[-1]
        legend = []
        for k, axis in enumerate("xyz"):
            colour = QtGui.QColor.fromRgbF(*AXIS_COLOURS[k][:3])
            legend.append((colour, f"{axis} (up)" if axis == up_axis else axis))
            if both:
                faded = QtGui.QColor(colour)
                faded.setAlphaF(0.5)
                self.trajectory.add_curve(f"raw_{axis}", t, self._coarse[:, j, k], pg.mkPen(faded, width=1))
                self.trajectory.add_curve(f"ref_{axis}", t, self._refined[:, j, k], pg.mkPen(colour, width=2))
            else:
                self.trajectory.add_curve(f"raw_{axis}", t, self._coarse[:, j, k], pg.mkPen(colour, width=1.6))
        self.panels[0].set_legend(legend)
        if self._err is not None:
            median = np.full(len(t), np.nan)
            ok = np.isfinite(self._err).any(axis=1)
            if ok.any():
                median[ok] = np.nanmedian(self._err[ok], axis=1)
            grey, amber = PALETTE.qcolor("median_series"), PALETTE.qcolor("warn")
            self.reprojection.add_curve("median", t, median, pg.mkPen(grey, width=1))
            self.reprojection.add_curve("joint", t, self._err[:, j], pg.mkPen(amber, width=1.8))
            self.panels[1].set_legend([(amber, name), (grey, "median of all joints")])
        legend = []
        for i, b in enumerate(self.bones_of(j)):
            a, c = sk.BONES[b]
            colour = PALETTE.qcolor(BONE_SERIES[i % len(BONE_SERIES)])
            legend.append((colour, f"{pretty(sk.JOINT_NAMES[a])} – {pretty(sk.JOINT_NAMES[c])}"))
            raw_len = np.linalg.norm(self._coarse[:, c] - self._coarse[:, a], axis=-1)
            if both:
                faded = QtGui.QColor(colour)
                faded.setAlphaF(0.5)
                ref_len = np.linalg.norm(self._refined[:, c] - self._refined[:, a], axis=-1)
                self.bones.add_curve(f"raw_{b}", t, raw_len, pg.mkPen(faded, width=1))
                self.bones.add_curve(f"ref_{b}", t, ref_len, pg.mkPen(colour, width=2))
            else:
                self.bones.add_curve(f"raw_{b}", t, raw_len, pg.mkPen(colour, width=1.6))
        self.panels[2].set_legend(legend)
