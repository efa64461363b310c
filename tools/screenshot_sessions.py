"""Screenshots of recording and of the Sessions tab for the docs, made in the real main window on real data.

Run under an X server with OpenGL (Xvfb + Mesa is fine)::

    xvfb-run -a -s "-screen 0 1600x1000x24" python -m tools.screenshot_sessions [--out docs/screenshots]

In a temporary sessions folder it imports two views of the Pose2Sim balancing trial (cameras 01+04, processed:
MediaPipe 2D, triangulation and refinement when a model is installed; cameras 03+04, not processed) and records
a few seconds of the Live tab's demo with the Record button. It writes ``sessions_record.png`` (the Live tab
while recording), ``sessions_list.png`` (the list with the processed session selected) and
``sessions_replay.png`` (the processed session replayed mid-clip: both videos with their 2D skeletons, the 3D
view and the per-joint plots). Screen pixels are grabbed (``QScreen.grabWindow``): ``QWidget.grab`` misses
what is painted over GL. Settings go to a temporary folder, never the user's.
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
from app.live.tab import MAIN_SKELETON  # noqa: E402
from app.settings import Settings  # noqa: E402
from app.state import AppState  # noqa: E402
from app.tabs import build_main_window  # noqa: E402
from tools.screens import grab as _grab  # noqa: E402
from tools.screens import output_and_size, screenshot_parser  # noqa: E402
from tools.screens import wait as _wait  # noqa: E402


def _make_sessions(root: Path) -> None:
    from bench.shared import POSE2SIM
    from core.session.importing import import_videos
    from core.session.processing import process_session
    from models.refiner import load_refine_hook

    calib = POSE2SIM / "Calib_qualisys.toml"
    videos = POSE2SIM / "videos"
    if not calib.is_file():
        raise SystemExit(f"the Pose2Sim trial '{POSE2SIM}' is absent; set CROSSVIEW_SHARED_DATA to the shared data.")
    for a, b, process in (("01", "04", True), ("03", "04", False)):
        out = root / f"balancing_cam{a}-cam{b}"
        import_videos(videos / f"cam{a}.mp4", videos / f"cam{b}.mp4", calib, out, cameras=[f"cam_{a}", f"cam_{b}"])
        if process:
            summary = process_session(out, refine=True, refine_loader=load_refine_hook)
            pct, how = summary.percent_with_3d, summary.refinement
            print(f"processed {out.name}: {pct:.0f}% with 3D, refinement {how}")


def main(argv: list[str] | None = None) -> int:
    parser = screenshot_parser(__doc__.splitlines()[0])
    parser.add_argument("--record-s", type=float, default=5.0, help="seconds of demo to record")
    parser.add_argument("--pair", type=int, default=52, help="pair shown in the replay screenshot")
    args = parser.parse_args(argv)
    out, (w, h) = output_and_size(args)

    app = create_application()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "sessions"
        root.mkdir()
        _make_sessions(root)
        state = AppState(Settings.in_folder(tmp))
        state.set_sessions_root(root)
        win = build_main_window(state)
        win.resize(w, h)
        win.show()
        live, sessions = win.tab("Live"), win.tab("Sessions")

        # --- record a few seconds of the demo from the Live tab ---
        win.set_current_tab("Live")
        live.start_demo()
        if not _wait(app, lambda: live.view3d.skeleton_points(MAIN_SKELETON) is not None, 60):
            print(f"no 3D arrived; last error: {live.last_error}", file=sys.stderr)
            win.close()
            return 1
        record = live.record_controls
        record.button.click()
        _wait(app, lambda: record.state == "recording", 10)
        started = time.monotonic()
        _wait(app, lambda: time.monotonic() - started > args.record_s, args.record_s + 1)
        _grab(win, out / "sessions_record.png")
        record.button.click()
        _wait(app, lambda: record.state == "idle", 30)
        live.presenter.stop()
        _wait(app, lambda: live.state == "idle", 15)

        # --- the list ---
        win.set_current_tab("Sessions")
        win.statusBar().clearMessage()
        _wait(app, lambda: len(sessions.rows()) == 3, 15)
        sessions.select("balancing_cam01-cam04")
        _wait(app, lambda: False, 0.5)
        _grab(win, out / "sessions_list.png")

        # --- the replay, mid-clip ---
        sessions.open_replay()
        replay = sessions.replay
        if not _wait(app, lambda: replay.data() is not None, 30):
            print("the replay did not open", file=sys.stderr)
            win.close()
            return 1
        replay.plots.set_joint("right_wrist")
        replay.seek(args.pair)
        _wait(app, lambda: replay.shown_pair() == args.pair, 15)
        _wait(app, lambda: False, 0.8)
        _grab(win, out / "sessions_replay.png")
        win.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
