"""Screenshots of the calibration wizard and the Calibration tab for the docs, with real data.

Run under an X server with OpenGL (Xvfb + Mesa is fine)::

    xvfb-run -a -s "-screen 0 1600x1000x24" python -m tools.screenshot_wizard [--out docs/screenshots]

Drives the wizard through the Caliscope two-webcam ChArUco session (two videos standing in for the cameras)
and writes ``wizard_1_cameras.png`` … ``wizard_6_results.png`` (the capture pages mid-capture, with the
detected corners and the coverage heat map; the results with the rectified pair and its epipolar lines),
``wizard_2_print.png`` (the print dialog) and ``wizard_tab.png`` (the Calibration tab showing the saved file).
Screen pixels are grabbed (``QScreen.grabWindow``): ``QWidget.grab`` misses what is painted over GL.
Settings and the saved calibration go to a temporary folder, never the user's.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from PySide6 import QtCore, QtGui, QtWidgets  # noqa: E402

from app.calibration.board_dialog import PrintBoardDialog  # noqa: E402
from app.calibration.tab import CalibrationTab  # noqa: E402
from app.calibration.wizard import PAGE_BOARD, PAGE_CAM0, PAGE_CAM1, PAGE_RESULTS, PAGE_STEREO  # noqa: E402
from bench.shared import CALISCOPE  # noqa: E402
from tools.screens import isolated_app, wait  # noqa: E402

WIZARD_SIZE = (1500, 940)


def wait_until(app: QtWidgets.QApplication, cond: Callable[[], bool], timeout_s: float = 60.0, what: str = "") -> None:
    if not wait(app, cond, timeout_s):
        raise TimeoutError(f"timed out waiting for {what or cond}")


def settle(app: QtWidgets.QApplication, ms: int = 300) -> None:
    end = time.monotonic() + ms / 1000
    while time.monotonic() < end:
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 20)


def grab(app: QtWidgets.QApplication, widget: QtWidgets.QWidget, path: Path) -> None:
    settle(app)
    widget.repaint()
    settle(app, 150)
    screen = widget.screen() or QtGui.QGuiApplication.primaryScreen()
    pix = screen.grabWindow(widget.winId())
    if pix.isNull() or pix.width() < 50:
        pix = widget.grab()
    pix.save(str(path))
    print(f"wrote {path} ({pix.width()}x{pix.height()})")


def mid_capture(app, page, cams: int, min_kept: int) -> None:
    """Wait until the page shows a found board and ``min_kept`` kept views, then pause on such a frame."""
    capture = page.presenter  # the presenter runs the page's capture

    def kept() -> int:
        st = page.run().session.state()
        if cams == 1:
            s = st.cameras[page.cam]
            return 0 if s is None else s.views_kept
        return 0 if st.pairs is None else st.pairs.views_kept

    def showing_board() -> bool:
        pkt = page.last_packet
        return pkt is not None and bool(pkt.detections) and all(d.found for d in pkt.detections)

    wait_until(app, lambda: kept() >= min_kept and showing_board(), 90, "a kept view with the board shown")
    capture.set_paused(True)
    settle(app, 200)
    if not showing_board():  # a frame without the board slipped in: step until one with it is shown
        for _ in range(200):
            capture.set_paused(False)
            wait_until(app, lambda: True, 1)
            settle(app, 30)
            capture.set_paused(True)
            settle(app, 80)
            if showing_board():
                break
    page.update_play_button()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO / "docs" / "screenshots"), help="output folder")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if not (CALISCOPE / "cam_0.mp4").is_file():
        print(f"the Caliscope session is missing ({CALISCOPE}); set CROSSVIEW_SHARED_DATA", file=sys.stderr)
        return 2

    app, state, tmp = isolated_app("crossview_wizard_shots_")

    tab = CalibrationTab(state)
    tab.resize(*WIZARD_SIZE)
    wiz = tab.open_wizard()
    wiz.resize(*WIZARD_SIZE)
    wiz.move(40, 20)
    settle(app, 500)

    # 1: inputs (no camera here: the page says so and recordings stand in)
    p1 = wiz.inputs_page
    p1.set_kind("videos")
    p1.set_paths(str(CALISCOPE / "cam_0.mp4"), str(CALISCOPE / "cam_1.mp4"), "")
    p1.set_fast(False)  # the recorded speed, so that a mid-capture moment can be caught
    p1.validate()
    wait_until(app, p1.isComplete, 20, "the recordings to open")
    grab(app, wiz, out / "wizard_1_cameras.png")
    wiz.next()

    # 2: the board (Caliscope's charuco.toml)
    p2 = wiz.board_page
    p2.load_board_file(str(CALISCOPE / "charuco.toml"))
    settle(app, 300)
    grab(app, wiz, out / "wizard_2_board.png")
    dlg = PrintBoardDialog(p2.board(), wiz)
    dlg.show()
    settle(app, 400)
    grab(app, dlg, out / "wizard_2_print.png")
    dlg.close()
    wiz.next()

    # 3, 4: each camera's lens, caught mid-capture, then played to the end
    for pid, name in ((PAGE_CAM0, "wizard_3_camera1.png"), (PAGE_CAM1, "wizard_4_camera2.png")):
        page = wiz.page(pid)
        wait_until(app, page.capturing, 10, "the capture to start")
        mid_capture(app, page, 1, 4)
        grab(app, wiz, out / name)
        wiz.presenter.set_paused(False)
        wiz.presenter.set_auto(True)
        wait_until(app, lambda p=page: p.stream_ended and not p.capturing(), 120, "the end of the recording")
        wait_until(app, page.isComplete, 5, "enough views")
        wiz.next()

    # 5: stereo pairs, mid-capture
    p5 = wiz.page(PAGE_STEREO)
    wait_until(app, p5.capturing, 10, "the stereo capture")
    mid_capture(app, p5, 2, 4)
    grab(app, wiz, out / "wizard_5_stereo.png")
    wiz.presenter.set_paused(False)
    wait_until(app, lambda: p5.stream_ended and not p5.capturing(), 120, "the end of the stereo recording")
    wait_until(app, p5.isComplete, 5, "enough pairs")
    wiz.next()

    # 6: results
    p6 = wiz.page(PAGE_RESULTS)
    wait_until(app, lambda: p6.result is not None or bool(p6.solve_failed), 120, "the solve")
    if p6.result is None:
        print("solve failed:", p6.solve_failed, file=sys.stderr)
        return 1
    settle(app, 800)
    grab(app, wiz, out / "wizard_6_results.png")
    saved = p6.save(str(tmp / "calibration.toml"))
    print("saved", saved)
    settle(app, 300)
    wiz.close()
    settle(app, 300)

    # the tab with the saved calibration
    tab.show()
    tab.move(40, 20)
    settle(app, 800)
    grab(app, tab, out / "wizard_tab.png")
    tab.stop()
    tab.close()
    settle(app, 200)
    assert PAGE_BOARD == 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
