"""Screenshots of the Training tab for the docs, made in the real main window on real data.

Run under an X server with OpenGL (Xvfb + Mesa is fine)::

    xvfb-run -a -s "-screen 0 1600x1000x24" python -m tools.screenshot_training [--out docs/screenshots]

In a temporary sessions folder it imports pairs of views of the Pose2Sim balancing trial and gives them the real
OpenPose 2D keypoints shipped with it (as ``keypoints2d.npz``, in place of Process, to save MediaPipe time):
cameras 01+04, 03+04 and 02+03 to learn from, 01+03 held out for the comparison, and 02+04 left unprocessed
(it shows as "needs Process"). It fine-tunes the shipped model on the first three from the tab, writes
``training_running.png`` mid-run (several epochs of points, progress, ETA), stops, compares the new checkpoint
with the shipped one on the held-out pair and writes ``training_compare.png``. Screen pixels are grabbed
(``QScreen.grabWindow``): ``QWidget.grab`` misses what is painted over GL. Settings go to a temporary folder.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from app.gui import create_application  # noqa: E402
from app.settings import Settings  # noqa: E402
from app.state import AppState  # noqa: E402
from app.tabs import build_main_window  # noqa: E402
from app.training.tab import TrainingTab  # noqa: E402
from bench.shared import POSE2SIM  # noqa: E402
from tools.screens import grab as _grab  # noqa: E402
from tools.screens import output_and_size, screenshot_parser  # noqa: E402
from tools.screens import wait as _wait  # noqa: E402

TRAIN_PAIRS = (("01", "04"), ("03", "04"), ("02", "03"))
HELD_OUT = ("01", "03")
UNPROCESSED = ("02", "04")


def _make_sessions(root: Path) -> dict[str, Path]:
    from core import skeleton
    from core.keypoints_io import load_openpose_folder, save_keypoints_npz
    from core.session.importing import import_videos

    calib = POSE2SIM / "Calib_qualisys.toml"
    videos = POSE2SIM / "videos"
    kps = {
        f"cam_0{k}": skeleton.from_body25b(load_openpose_folder(POSE2SIM / "openpose_body25b" / f"cam{k}"))
        for k in range(1, 5)
    }
    out = {}
    for a, b in (*TRAIN_PAIRS, HELD_OUT, UNPROCESSED):
        name = f"balancing_cam{a}-cam{b}"
        folder = root / name
        names = [f"cam_{a}", f"cam_{b}"]
        import_videos(videos / f"cam{a}.mp4", videos / f"cam{b}.mp4", calib, folder, cameras=names)
        if (a, b) != UNPROCESSED:
            n = len(kps[names[0]])
            save_keypoints_npz(folder / "keypoints2d.npz", {c: kps[c] for c in names}, np.arange(n) / 60.0)
        out[name] = folder
    return out


def main(argv: list[str] | None = None) -> int:
    parser = screenshot_parser(__doc__.splitlines()[0], size="1600x1000")
    parser.add_argument("--epochs", type=int, default=40, help="epochs set in the tab")
    parser.add_argument("--shot-after", type=int, default=9, help="epochs done when the running screenshot is taken")
    parser.add_argument("--batch", type=int, default=32, help="batch size set in the tab")
    args = parser.parse_args(argv)
    out, (w, h) = output_and_size(args)

    if not (POSE2SIM / "Calib_qualisys.toml").is_file():
        print(f"the Pose2Sim session is missing ({POSE2SIM}); set CROSSVIEW_SHARED_DATA", file=sys.stderr)
        return 2
    app = create_application()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "CrossView" / "sessions"
        root.mkdir(parents=True)
        sessions = _make_sessions(root)
        state = AppState(Settings.in_folder(tmp))
        state.set_sessions_root(root)
        win = build_main_window(state)
        win.resize(w, h)
        win.show()
        win.set_current_tab("Training")
        tab: TrainingTab = win.tab("Training")
        if not _wait(app, lambda: tab.env is not None and len(tab.sources()) == len(sessions), 60):
            print("the tab did not get ready", file=sys.stderr)
            win.close()
            return 1
        for a, b in TRAIN_PAIRS:
            tab.set_checked(f"balancing_cam{a}-cam{b}")
        tab.epochs_spin.setValue(args.epochs)
        tab.batch_spin.setValue(args.batch)
        tab.set_preset("finetune")
        if not tab.start():
            print(f"training did not start: {tab.error_text()}", file=sys.stderr)
            win.close()
            return 1
        if not _wait(app, lambda: tab.plots.epochs_plotted() >= args.shot_after, 900):
            print(f"training did not get far enough: {tab.error_text()}", file=sys.stderr)
            win.close()
            return 1
        # mid-epoch: the bar between epochs, the batch loss running ahead of the epoch points
        _wait(app, lambda: (p := tab.last_progress()) is not None and 2 <= p.batch < p.batches - 1, 60)
        _grab(win, out / "training_running.png")

        tab.stop_training()
        if not _wait(app, lambda: not tab.is_running(), 120):
            print("training did not stop", file=sys.stderr)
            win.close()
            return 1
        tab.show_page(1)
        held = sessions[f"balancing_cam{HELD_OUT[0]}-cam{HELD_OUT[1]}"]
        tab.compare.select_source(held)
        tab.compare.compare()
        if not _wait(app, lambda: tab.compare.result() is not None or bool(tab.compare.last_error), 120):
            print("the comparison did not finish", file=sys.stderr)
            win.close()
            return 1
        if tab.compare.last_error:
            print(tab.compare.last_error, file=sys.stderr)
            win.close()
            return 1
        r = tab.compare.result()
        for kind, m in r.metrics.items():
            print(f"{kind}: reprojection {m['reproj_px']:.2f} px, bone-length std {m['bone_std_mm']:.2f} mm")
        win.statusBar().clearMessage()
        _wait(app, lambda: False, 1.0)
        _grab(win, out / "training_compare.png")
        win.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
