"""Screenshots of the CrossView window for the docs.

Run under an X server with OpenGL (Xvfb + Mesa is fine)::

    xvfb-run -a -s "-screen 0 1600x1000x24" python -m tools.screenshot_shell [--out docs/screenshots]

Writes ``main_window_<tab>.png`` for each tab of the real window (first run: empty sessions folder); with the
shared real data present, also ``skeleton_view_real.png``: the Pose2Sim 4-camera rig (Qualisys calibration) and
one frame of OpenPose keypoints triangulated from 2 views (coarse) and from all 4 views (reference), in metres.
Settings go to a temporary folder, never the user's.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from PySide6 import QtWidgets  # noqa: E402

from app.gui import create_application  # noqa: E402
from app.widgets.skeleton_view import SkeletonView  # noqa: E402
from tools.screens import fresh_window, output_and_size, screenshot_parser  # noqa: E402


def _settle(app: QtWidgets.QApplication, rounds: int = 20) -> None:
    for _ in range(rounds):
        app.processEvents()


def _shared_data() -> Path:
    from bench.shared import SHARED_DATA

    return SHARED_DATA


def real_frame_scene(view, frame: int = 50) -> bool:
    """Show the Pose2Sim rig and one real frame in ``view``; False when the data is absent."""
    import numpy as np

    from core.calibration_io import load_calibration
    from core.keypoints_io import load_openpose_folder
    from core.skeleton import from_body25b
    from core.triangulation import triangulate

    session = _shared_data() / "sessions" / "pose2sim_balancing"
    if not (session / "Calib_qualisys.toml").is_file():
        return False
    group = load_calibration(session / "Calib_qualisys.toml").group
    kp = np.stack([from_body25b(load_openpose_folder(session / "openpose_body25b" / f"cam{i}")) for i in range(1, 5)])
    kp = kp[:, frame : frame + 1]  # (V, 1, 17, 3)
    both = triangulate(kp[..., :2], kp[..., 2], group).points[0]
    pair = triangulate(kp[[0, 3], ..., :2], kp[[0, 3], ..., 2], group.subset([group.names[0], group.names[3]]))
    view.set_world_up("+z")
    view.set_cameras(group, depth_m=0.35)
    view.set_skeleton("4-view DLT", both, style="default")
    view.set_skeleton("2-view DLT (cams 1+4)", pair.points[0], style="coarse")
    view.setCameraPosition(elevation=24, azimuth=-115)
    view.fit_to(np.concatenate([both, np.stack([c.center for c in group])]), margin=0.8)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = screenshot_parser(__doc__.splitlines()[0])
    args = parser.parse_args(argv)
    out, (w, h) = output_and_size(args)

    app = create_application()
    with tempfile.TemporaryDirectory() as tmp:
        win = fresh_window(tmp, (w, h))
        _settle(app)
        for name in win.tab_names():
            win.set_current_tab(name)
            _settle(app)
            path = out / f"main_window_{name.lower()}.png"
            # the screen's pixels: QWidget.grab() drops what pyqtgraph paints with QPainter over GL
            win.screen().grabWindow(win.winId()).save(str(path))
            print(path)
        win.set_current_tab("Live")
        win.close()
        view = SkeletonView()
        view.resize(1200, 800)
        if real_frame_scene(view):
            view.show()
            _settle(app)
            path = out / "skeleton_view_real.png"
            view.grabFramebuffer().save(str(path))
            print(path)
        view.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
