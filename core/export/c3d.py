"""C3D (float format, Intel byte order): millimetres in the Y-up frame of the TRC export."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np

from core.export.files import check_target, write_file
from core.export.motion import ExportMotion, ExportOptions
from core.skeleton import JOINT_NAMES, MARKER_NAMES, NUM_JOINTS


def c3d_writer(path: Path, motion: ExportMotion, options: ExportOptions) -> Path:
    """Write a C3D file (float format, Intel): millimetres in the same Y-up frame as the TRC export.

    ``POINT:UNITS = "mm"``, ``POINT:LABELS`` = ``MARKER_NAMES``, ``POINT:DESCRIPTIONS`` = ``JOINT_NAMES``,
    ``POINT:RATE`` = fps, ``POINT:X_SCREEN/Y_SCREEN = +X/+Y`` (Y up), first frame 1. Residuals: 0 for a
    valid point (computed, not measured, per the C3D convention), -1 and coordinates 0 for a missing one.
    Frames are assumed evenly spaced at ``fps`` (C3D stores no per-frame times).

    The ``"c3d"`` entry of :data:`core.export.WRITERS` (the reprojection errors and ``options`` are not used).
    """
    import c3d  # local import: only this format needs the package

    m = motion.checked()
    check_target(path)
    P = len(m.points)
    xyz_mm = m.yup() * 1000.0
    valid = np.isfinite(xyz_mm).all(axis=-1)
    raw = np.zeros((P, NUM_JOINTS, 4), dtype="<f4")
    raw[..., :3] = np.where(valid[..., None], xyz_mm, 0.0)
    raw[..., 3] = np.where(valid, 0.0, -1.0)

    class _Writer(c3d.Writer):
        # c3d 0.6 writes frame by frame and leaves stale coordinates on invalid points; write all at once.
        def _write_frames(self, handle):  # type: ignore[override]
            handle.write(raw.tobytes())
            self._pad_block(handle)

    writer = _Writer(point_rate=m.fps, analog_rate=0.0, point_scale=-1.0, point_units="mm")
    writer.set_point_labels(list(MARKER_NAMES))
    width = max(len(n) for n in JOINT_NAMES)
    writer.point_group.add_str(
        "DESCRIPTIONS", "H36M-17 joint of each point", "".join(n.ljust(width) for n in JOINT_NAMES), width, NUM_JOINTS
    )
    writer.set_screen_axis("+X", "+Y")
    writer.set_start_frame(1)
    placeholder = (np.zeros((NUM_JOINTS, 5), np.float32), np.zeros((0, 0), np.float32))
    writer.add_frames([placeholder] * P)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="No analog data found")
        writer.write(buf)
    return write_file(path, buf.getvalue())
