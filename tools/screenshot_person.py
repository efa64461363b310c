"""Screenshots of "Calibrate from a person" (no board) for the docs, with real data.

Run under an X server (Xvfb + Mesa is fine)::

    xvfb-run -a -s "-screen 0 1600x1000x24" python -m tools.screenshot_person [--out docs/screenshots]

Opens the dialog from the Calibration tab with two videos of the Pose2Sim balancing take (cameras 01 and 04, their
Qualisys lenses, a 1.67 m person) and writes ``person_1_coverage.png`` (mid-way: both views with the person's
joints and where they have been, and the coaching hint) and ``person_2_result.png`` (the verdict and the figures).
Settings and the saved calibration go to a temporary folder, never the user's.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


from app.calibration.tab import CalibrationTab  # noqa: E402
from bench.shared import POSE2SIM  # noqa: E402
from tools.screens import isolated_app, output_and_size, screenshot_parser  # noqa: E402
from tools.screenshot_wizard import grab, settle, wait_until  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    args = screenshot_parser(__doc__.splitlines()[0], "1240x760").parse_args(argv)
    out, size = output_and_size(args)
    videos = [POSE2SIM / "videos" / f"cam0{i}.mp4" for i in (1, 4)]
    if not all(v.is_file() for v in videos):
        print(f"the balancing take is missing ({POSE2SIM}); set CROSSVIEW_SHARED_DATA", file=sys.stderr)
        return 2
    app, state, tmp = isolated_app("crossview_person_shots_")
    tab = CalibrationTab(state)
    dlg = tab.open_person_dialog()
    dlg.resize(*size)
    dlg.move(30, 20)
    for edit, v in zip(dlg.video_edits, videos):
        edit.setText(str(v))
    dlg.intrinsics_edit.setText(str(POSE2SIM / "Calib_qualisys.toml"))
    dlg.lens_file.setChecked(True)
    dlg.height_spin.setValue(1.67)
    settle(app, 300)
    seen: list[int] = []
    dlg.presenter.coverageChanged.connect(lambda u: seen.append(u.frames))
    dlg.start()
    wait_until(app, lambda: bool(seen) and seen[-1] >= 50, 120, "half the videos read")
    grab(app, dlg, out / "person_1_coverage.png")
    wait_until(app, lambda: dlg.presenter.result is not None, 180, "the calibration")
    settle(app, 300)
    grab(app, dlg, out / "person_2_result.png")
    dlg.presenter.stop()
    dlg.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
