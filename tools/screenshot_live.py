"""Screenshots of the Live tab for the docs: the shipped demo running live in the real main window.

Run under an X server with OpenGL (Xvfb + Mesa is fine)::

    xvfb-run -a -s "-screen 0 1600x1000x24" python -m tools.screenshot_live [--out docs/screenshots]

Writes ``live_welcome.png`` (first run, no camera: the tab offers the demo) and ``live_demo.png`` (the demo
running, refined by the shipped model: both views with their 2D skeletons, the 3D skeleton between the two camera
frusta, statistics with the refinement's time and the share of joints its guard kept coarse), then
``live_two_people.png``: the demo pair with a second real person composited walking across both views
(``tools.composite_bystander``): everyone is drawn faintly, the followed person strongly, in both views.
Screen pixels are grabbed (``QScreen.grabWindow``): ``QWidget.grab`` misses what is painted over GL.
Settings go to a temporary folder, never the user's.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from app.gui import create_application  # noqa: E402
from app.live.tab import MAIN_SKELETON, LiveTab  # noqa: E402
from tools.screens import fresh_window, output_and_size, screenshot_parser  # noqa: E402
from tools.screens import grab as _grab  # noqa: E402
from tools.screens import wait as _wait  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = screenshot_parser(__doc__.splitlines()[0])
    parser.add_argument("--run-s", type=float, default=12.0, help="seconds of demo before the shot (plot history)")
    args = parser.parse_args(argv)
    out, (w, h) = output_and_size(args)

    app = create_application()
    with tempfile.TemporaryDirectory() as tmp:
        win = fresh_window(tmp, (w, h))
        tab = win.tab("Live")
        assert isinstance(tab, LiveTab)
        win.set_current_tab("Live")
        _wait(app, lambda: tab.devices() is not None, 5)
        _wait(app, lambda: False, 0.5)
        _grab(win, out / "live_welcome.png")

        # the shipped refinement on, so the statistics show its time and how often its guard kept coarse joints
        if _wait(app, tab.refine_check.isEnabled, 30):
            tab.refine_check.setChecked(True)
        tab.start_demo()
        ok = _wait(app, lambda: tab.view3d.skeleton_points(MAIN_SKELETON) is not None, 60)
        if not ok:
            print(f"no 3D arrived; last error: {tab.last_error}", file=sys.stderr)
            win.close()
            return 1
        started = time.monotonic()
        _wait(app, lambda: time.monotonic() - started > args.run_s, args.run_s + 1)
        # the frame shown and the 3D pose: wait for a fresh pose so both match
        _wait(app, lambda: tab.view3d.skeleton_points(MAIN_SKELETON) is not None and tab.no3d_text() is None, 10)
        _grab(win, out / "live_demo.png")
        tab.stop()
        _wait(app, lambda: tab.presenter.session is None, 15)
        ok = _two_people(app, tab, Path(tmp), args.run_s)
        if ok:
            _grab(win, out / "live_two_people.png")
        win.close()
    return 0 if ok else 1


def _two_people(app, tab: LiveTab, tmp: Path, run_s: float) -> bool:
    """Start the composited pair; wait until someone besides the followed person is drawn in a view."""
    from core.calibration_io import load_calibration
    from core.capture import synchronized_videos
    from core.demo import demo_files
    from core.live import StartSpec
    from tools.composite_bystander import make_composite

    files = demo_files()
    videos = make_composite(tmp / "composite")
    spec = StartSpec(
        label="Composite (two people)",
        make_sources=lambda: synchronized_videos(videos, files.cameras, loop=True),
        calibration=lambda: load_calibration(files.calibration),
    )
    tab.presenter.start(spec)
    if not _wait(app, lambda: tab.view3d.skeleton_points(MAIN_SKELETON) is not None, 60):
        print(f"no 3D arrived; last error: {tab.last_error}", file=sys.stderr)
        return False
    started = time.monotonic()
    _wait(app, lambda: time.monotonic() - started > run_s / 2, run_s)

    def both_drawn() -> bool:  # someone faint in a view, and the followed person strong in both
        poses = [v.pose() for v in tab.views]
        strong = all(p is not None and np.isfinite(p[:, :2]).any() for p in poses)
        return strong and any(v.others() for v in tab.views) and tab.no3d_text() is None

    return _wait(app, both_drawn, 30)


if __name__ == "__main__":
    raise SystemExit(main())
