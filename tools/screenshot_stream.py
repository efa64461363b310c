"""Screenshots of streaming for the docs: the shipped demo running in the Live tab while it streams VMC to a
receiver on this computer.

Run under an X server with OpenGL (Xvfb + Mesa is fine)::

    xvfb-run -a -s "-screen 0 1600x1000x24" python -m tools.screenshot_stream [--out docs/screenshots]

Writes ``live_streaming.png`` (the main window: the Stream button on, the frames sent beside it and in the
status bar) and ``live_stream_settings.png`` (the Stream drop-down with its settings). The receiver is a UDP
socket of this script that counts the datagrams. Settings go to a temporary folder, never the user's.
"""

from __future__ import annotations

import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from PySide6 import QtCore  # noqa: E402

from app.gui import create_application  # noqa: E402
from app.live.tab import MAIN_SKELETON, LiveTab  # noqa: E402
from tools.screens import fresh_window, output_and_size, screenshot_parser  # noqa: E402
from tools.screens import grab as _grab  # noqa: E402
from tools.screens import wait as _wait  # noqa: E402


def _sink() -> tuple[int, list[int], threading.Event]:
    """A UDP socket on 127.0.0.1 counting what arrives: (port, [count], stop)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.1)
    count, stop = [0], threading.Event()

    def run() -> None:
        while not stop.is_set():
            try:
                sock.recvfrom(65536)
                count[0] += 1
            except TimeoutError:
                continue
        sock.close()

    threading.Thread(target=run, daemon=True).start()
    return sock.getsockname()[1], count, stop


def main(argv: list[str] | None = None) -> int:
    parser = screenshot_parser(__doc__.splitlines()[0])
    parser.add_argument("--run-s", type=float, default=8.0, help="seconds of streaming before the shot")
    args = parser.parse_args(argv)
    out, (w, h) = output_and_size(args)
    port, count, stop = _sink()
    app = create_application()
    with tempfile.TemporaryDirectory() as tmp:
        win = fresh_window(tmp, (w, h))
        tab = win.tab("Live")
        assert isinstance(tab, LiveTab)
        win.set_current_tab("Live")
        controls = tab.stream_controls
        controls.vmc_port_spin.setValue(port)
        controls.vmc_port_spin.editingFinished.emit()
        controls.button.click()
        tab.start_demo()
        if not _wait(app, lambda: tab.view3d.skeleton_points(MAIN_SKELETON) is not None, 60) or not count[0]:
            print(f"no 3D or no datagram arrived; last error: {tab.last_error}", file=sys.stderr)
            return 1
        started = time.monotonic()
        _wait(app, lambda: time.monotonic() - started > args.run_s, args.run_s + 1)
        _grab(win, out / "live_streaming.png")
        menu = controls.button.menu()
        below = QtCore.QPoint(controls.button.width() - menu.sizeHint().width(), controls.button.height())
        menu.popup(controls.button.mapToGlobal(below))
        _wait(app, lambda: False, 0.8)
        shot = win.screen().grabWindow(0)
        g = win.frameGeometry()
        shot.copy(g.x(), g.y(), g.width(), min(g.height(), 420)).save(str(out / "live_stream_settings.png"))
        print(out / "live_stream_settings.png", f"({count[0]} datagrams received)")
        menu.close()
        tab.stop()
        win.close()
    stop.set()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
