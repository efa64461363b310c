"""The Live tab's Stream control under a real X server: the shipped demo streams VMC bundles to a real python-osc
server while it runs (real videos, real MediaPipe), the status shows the frames sent, the settings are
remembered, switching off stops the bundles, and a host that cannot be resolved gets a clear message."""

from __future__ import annotations

import pytest
from PySide6 import QtCore

from app.live.stream import StreamState
from app.live.tab import LiveTab
from app.settings import Settings
from app.state import AppState
from core.stream.receivers import VmcReceiver
from core.stream.vmc import VMC_BONES

pytestmark = pytest.mark.gui

LEFT = QtCore.Qt.MouseButton.LeftButton


@pytest.fixture
def receiver():
    rx = VmcReceiver()
    yield rx
    rx.close()


def _tab(qtbot, folder, port: int, host: str = "127.0.0.1") -> tuple[LiveTab, AppState]:
    settings = Settings.in_folder(folder)
    settings.stream_protocol, settings.stream_host, settings.stream_vmc_port = "vmc", host, port
    state = AppState(settings)
    tab = LiveTab(state, device_lister=lambda: [])
    qtbot.addWidget(tab)
    tab.resize(1400, 860)
    tab.show()
    qtbot.waitExposed(tab)
    return tab, state


def test_the_demo_streams_vmc_bundles_while_it_runs(qtbot, qsettings_dir, receiver):
    tab, state = _tab(qtbot, qsettings_dir, receiver.port)
    fields: list[tuple[str, str]] = []
    state.statusField.connect(lambda k, t: fields.append((k, t)))
    controls = tab.stream_controls
    assert controls.vmc_port_spin.value() == receiver.port and controls.state is StreamState.OFF

    # streaming switched on before the capture: it waits, then starts with the demo
    qtbot.mouseClick(controls.button, LEFT)
    assert controls.state is StreamState.WAITING and controls.button.isChecked()
    assert "waits" in controls.status_label.text()
    with qtbot.waitSignal(tab.presenter.started, timeout=30_000):
        qtbot.mouseClick(tab.demo_button, LEFT)
    assert controls.state is StreamState.SENDING
    qtbot.waitUntil(lambda: len(receiver.bundles) >= 5, timeout=30_000)
    b = receiver.bundles[-1]
    assert set(b.bones) == set(VMC_BONES) and "/VMC/Ext/OK" in b.addresses
    qtbot.waitUntil(lambda: "sent" in controls.status_label.text(), timeout=5000)
    assert any(k == "stream" and "frames sent" in t for k, t in fields)

    # off: no more bundles, the status-bar field is cleared, the choice is remembered
    qtbot.mouseClick(controls.button, LEFT)
    assert controls.state is StreamState.OFF and not controls.button.isChecked()
    assert fields[-1] == ("stream", "")
    n = controls.presenter.last_stats.sent  # every bundle sent arrives; then none more
    qtbot.waitUntil(lambda: len(receiver.bundles) == n, timeout=5000)
    frames = tab.views[0].frames_shown
    qtbot.waitUntil(lambda: tab.views[0].frames_shown >= frames + 5, timeout=10_000)  # the capture goes on
    assert len(receiver.bundles) == n
    assert Settings.in_folder(qsettings_dir).stream_vmc_port == receiver.port
    tab.stop()
    assert tab.state == "idle"


def test_a_host_that_cannot_be_found_gets_a_clear_message(qtbot, qsettings_dir, receiver):
    tab, _state = _tab(qtbot, qsettings_dir, receiver.port, host="no-such-host.invalid")
    controls = tab.stream_controls
    with qtbot.waitSignal(tab.presenter.started, timeout=30_000):
        qtbot.mouseClick(tab.demo_button, LEFT)
    with qtbot.waitSignal(controls.presenter.streamFailed, timeout=5000) as failed:
        qtbot.mouseClick(controls.button, LEFT)
    assert "no-such-host.invalid" in failed.args[0] and "IP address" in failed.args[0]
    assert controls.state is StreamState.OFF and not controls.button.isChecked()
    box = controls.error_box()
    assert box is not None and "Streaming could not start" in box.text()
    box.close()
    # fixed in the form: streaming starts on the running capture
    controls.host_edit.setText("127.0.0.1")
    controls.host_edit.editingFinished.emit()
    qtbot.mouseClick(controls.button, LEFT)
    assert controls.state is StreamState.SENDING
    qtbot.waitUntil(lambda: len(receiver.bundles) >= 3, timeout=30_000)
    tab.stop()
    assert controls.state is StreamState.OFF or controls.state is StreamState.WAITING
