"""Screenshots of the Live tab for the docs: the shipped demo running live in the real main window.

Run under an X server with OpenGL (Xvfb + Mesa is fine)::

    xvfb-run -a -s "-screen 0 1600x1000x24" python -m tools.screenshot_live [--out docs/screenshots]

Writes ``live_welcome.png`` (first run, no camera: the tab offers the demo) and ``live_demo.png`` (the demo
running: both views with their 2D skeletons, the 3D skeleton between the two camera frusta, statistics).
Screen pixels are grabbed (``QScreen.grabWindow``): ``QWidget.grab`` misses what is painted over GL.
Settings go to a temporary folder, never the user's.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

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
        win.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
