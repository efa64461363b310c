"""The Training tab's left panel, built section by section: :func:`build_setup`. Widgets only.

The five numbered steps (recordings, starting model, training settings, loss weights, output file) in a
scroll area, and the run controls (the error banner, Start / Pause / Stop) always visible below them. The
widgets become attributes of the tab (``tab.source_tree``, ``tab.epochs_spin``, ``tab.start_button``, ...);
the tab connects them.
"""

from __future__ import annotations

from typing import Any

from PySide6 import QtCore, QtWidgets

from app.training.labels import ROBUST_LABELS, TERM_HELP, TERM_LABELS
from app.widgets.build import framed, make_label


def section(number: int, title: str) -> tuple[QtWidgets.QWidget, QtWidgets.QVBoxLayout]:
    """A numbered step: its widget and the layout to fill."""
    w = QtWidgets.QWidget()
    lay = QtWidgets.QVBoxLayout(w)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.setSpacing(6)
    head = QtWidgets.QHBoxLayout()
    head.setSpacing(8)
    badge = make_label(str(number), "stepBadge")
    badge.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
    head.addWidget(badge)
    t = make_label(title, "sectionTitle")
    head.addWidget(t, 1)
    lay.addLayout(head)
    return w, lay


def caption(text: str = "") -> QtWidgets.QLabel:
    lbl = make_label(text, "caption", wrap=True)
    return lbl


def field_label(text: str) -> QtWidgets.QLabel:
    lbl = make_label(text, "fieldLabel")
    return lbl


def build_setup(tab: Any) -> QtWidgets.QFrame:
    """The left panel of ``tab`` (its widgets are set as the tab's attributes)."""
    panel, outer = framed("setupPanel", "v", (0, 0, 0, 0), 0, width=440)
    scroll = QtWidgets.QScrollArea()
    scroll.setObjectName("setupScroll")
    scroll.setWidgetResizable(True)
    scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    inner = QtWidgets.QWidget()
    inner.setObjectName("setupInner")
    lay = QtWidgets.QVBoxLayout(inner)
    lay.setContentsMargins(16, 12, 16, 8)
    lay.setSpacing(12)
    for build in (_sources_section, _init_section, _training_section, _loss_section, _output_section):
        lay.addWidget(build(tab))
    lay.addStretch(1)
    scroll.setWidget(inner)
    outer.addWidget(scroll, 1)
    outer.addWidget(_run_controls(tab))
    return panel


def _sources_section(tab: Any) -> QtWidgets.QWidget:
    """1. The recordings to learn from: the list and Refresh / Add folder… / Add file… / Remove."""
    sec, s = section(1, "Recordings to learn from")
    tab.root_label = caption()
    s.addWidget(tab.root_label)
    tree = tab.source_tree = QtWidgets.QTreeWidget()
    tree.setObjectName("sourceList")
    tree.setColumnCount(3)
    tree.setHeaderLabels(["Recording", "Frames", "2D"])
    tree.setRootIsDecorated(False)
    tree.setUniformRowHeights(True)
    tree.setMinimumHeight(120)
    tree.setMaximumHeight(136)
    header = tree.header()
    header.setStretchLastSection(False)
    header.setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.Stretch)
    header.setSectionResizeMode(1, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(2, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
    s.addWidget(tree)
    row = QtWidgets.QHBoxLayout()
    row.setSpacing(6)
    tab.refresh_button = QtWidgets.QPushButton("Refresh")
    tab.add_folder_button = QtWidgets.QPushButton("Add folder…")
    tab.add_folder_button.setToolTip(
        "A session folder from elsewhere, or a folder with 2D keypoints (.npz) and the cameras' calibration (.toml)"
    )
    tab.add_file_button = QtWidgets.QPushButton("Add file…")
    tab.add_file_button.setToolTip("A keypoints .npz with its calibration .toml beside it")
    tab.remove_button = QtWidgets.QPushButton("Remove")
    tab.remove_button.setToolTip("Take an added folder or file off the list (nothing is deleted)")
    for b in (tab.refresh_button, tab.add_folder_button, tab.add_file_button, tab.remove_button):
        row.addWidget(b)
    row.addStretch(1)
    s.addLayout(row)
    tab.sources_note = caption()
    s.addWidget(tab.sources_note)
    return sec


def _init_section(tab: Any) -> QtWidgets.QWidget:
    """2. The starting model: a choice of checkpoints and Choose file…, with the chosen one's summary."""
    sec, s = section(2, "Starting model")
    row = QtWidgets.QHBoxLayout()
    combo = tab.init_combo = QtWidgets.QComboBox()
    combo.setObjectName("initCombo")
    combo.setMinimumContentsLength(20)
    combo.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    row.addWidget(combo, 1)
    tab.init_button = QtWidgets.QPushButton("Choose file…")
    row.addWidget(tab.init_button)
    s.addLayout(row)
    tab.init_info = caption("")
    s.addWidget(tab.init_info)
    return sec


def _training_section(tab: Any) -> QtWidgets.QWidget:
    """3. Epochs, batch size, learning rate and the device."""
    sec, s = section(3, "Training")
    form = QtWidgets.QGridLayout()
    form.setHorizontalSpacing(10)
    form.setVerticalSpacing(6)
    tab.epochs_spin = QtWidgets.QSpinBox()
    tab.epochs_spin.setObjectName("epochsSpin")
    tab.epochs_spin.setRange(1, 10000)
    tab.epochs_spin.setValue(30)
    lr = tab.lr_spin = QtWidgets.QDoubleSpinBox()
    lr.setObjectName("lrSpin")
    lr.setDecimals(6)
    lr.setRange(1e-6, 1.0)
    lr.setSingleStep(1e-4)
    lr.setValue(1e-3)
    lr.setToolTip("Adam (AMSGrad) learning rate; multiplied by 0.9 when the loss stalls for 10 epochs")
    tab.batch_spin = QtWidgets.QSpinBox()
    tab.batch_spin.setObjectName("batchSpin")
    tab.batch_spin.setRange(2, 65536)
    tab.batch_spin.setValue(256)
    tab.batch_spin.setToolTip("Frames per optimisation step (the paper: 256)")
    device = tab.device_combo = QtWidgets.QComboBox()
    device.setObjectName("deviceCombo")
    device.addItem("Automatic", "auto")
    device.addItem("CPU", "cpu")
    device.addItem("CUDA GPU", "cuda")
    fields = (("Epochs", tab.epochs_spin), ("Batch size", tab.batch_spin), ("Learning rate", lr))
    for r, (label, w) in enumerate(fields):
        form.addWidget(field_label(label), r // 2, (r % 2) * 2)
        form.addWidget(w, r // 2, (r % 2) * 2 + 1)
    form.addWidget(field_label("Device"), 2, 0)
    form.addWidget(device, 2, 1, 1, 3)
    form.setColumnStretch(1, 1)
    form.setColumnStretch(3, 1)
    s.addLayout(form)
    tab.device_note = caption("Looking for a CUDA GPU…")
    s.addWidget(tab.device_note)
    return sec


def _loss_section(tab: Any) -> QtWidgets.QWidget:
    """4. The loss weights: a preset, every term's weight, the 2D penalty and its scale."""
    sec, s = section(4, "Loss weights")
    row = QtWidgets.QHBoxLayout()
    row.addWidget(field_label("Preset"))
    tab.preset_combo = QtWidgets.QComboBox()
    tab.preset_combo.setObjectName("presetCombo")
    row.addWidget(tab.preset_combo, 1)
    s.addLayout(row)
    tab.preset_note = caption()
    s.addWidget(tab.preset_note)
    s.addLayout(_weight_grid(tab))
    row = QtWidgets.QHBoxLayout()
    row.addWidget(field_label("2D penalty"))
    tab.robust_combo = QtWidgets.QComboBox()
    tab.robust_combo.setObjectName("robustCombo")
    for k, v in ROBUST_LABELS.items():
        tab.robust_combo.addItem(v, k)
    tab.robust_combo.setToolTip("How 2D errors are penalised: robust ones ignore single bad detections")
    row.addWidget(tab.robust_combo, 1)
    scale = tab.robust_scale = QtWidgets.QDoubleSpinBox()
    scale.setRange(0.5, 200.0)
    scale.setDecimals(1)
    scale.setSuffix(" px")
    scale.setToolTip("Pixel error where the robust penalty starts to flatten")
    row.addWidget(scale)
    s.addLayout(row)
    return sec


def _weight_grid(tab: Any) -> QtWidgets.QGridLayout:
    """Two columns of loss terms: a swatch in the term's colour (``training.qss``), its name, its weight."""
    grid = QtWidgets.QGridLayout()
    grid.setHorizontalSpacing(6)
    grid.setVerticalSpacing(4)
    tab.weight_spins = {}
    for i, (term, label) in enumerate(TERM_LABELS.items()):
        r, c = i // 2, (i % 2) * 4
        swatch = make_label("●", "termSwatch")
        swatch.setProperty("term", term)
        name = field_label(label)
        name.setToolTip(TERM_HELP[term])
        spin = QtWidgets.QDoubleSpinBox()
        spin.setObjectName(f"weight_{term}")
        spin.setDecimals(3)
        spin.setRange(0.0, 1000.0)
        spin.setSingleStep(0.05)
        spin.setFixedWidth(74)
        spin.setToolTip(f"{TERM_HELP[term]}. Weight 0 switches the term off.")
        grid.addWidget(swatch, r, c)
        grid.addWidget(name, r, c + 1)
        grid.addWidget(spin, r, c + 2)
        tab.weight_spins[term] = spin
    grid.setColumnMinimumWidth(3, 10)
    grid.setColumnStretch(1, 1)
    grid.setColumnStretch(5, 1)
    return grid


def _output_section(tab: Any) -> QtWidgets.QWidget:
    """5. The checkpoint file the new model is saved to."""
    sec, s = section(5, "Save the new model as")
    row = QtWidgets.QHBoxLayout()
    tab.out_edit = QtWidgets.QLineEdit()
    tab.out_edit.setObjectName("outEdit")
    row.addWidget(tab.out_edit, 1)
    tab.out_button = QtWidgets.QPushButton("Choose…")
    row.addWidget(tab.out_button)
    s.addLayout(row)
    tab.out_note = caption()
    s.addWidget(tab.out_note)
    return sec


def _run_controls(tab: Any) -> QtWidgets.QFrame:
    """The error banner and Start / Pause / Stop, under the scrolled steps."""
    bottom = QtWidgets.QFrame()
    bl = QtWidgets.QVBoxLayout(bottom)
    bl.setContentsMargins(16, 8, 16, 14)
    bl.setSpacing(8)
    err = tab.error_label = QtWidgets.QLabel()
    err.setObjectName("errorBanner")
    err.setWordWrap(True)
    err.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
    err.setVisible(False)
    bl.addWidget(err)
    row = QtWidgets.QHBoxLayout()
    row.setSpacing(8)
    tab.start_button = QtWidgets.QPushButton("Start training")
    tab.start_button.setObjectName("primaryButton")
    tab.pause_button = QtWidgets.QPushButton("Pause")
    tab.pause_button.setObjectName("pauseButton")
    tab.stop_button = QtWidgets.QPushButton("Stop")
    tab.stop_button.setObjectName("dangerButton")
    tab.stop_button.setToolTip("Stop after the current batch; the best model so far is kept")
    row.addWidget(tab.start_button, 2)
    row.addWidget(tab.pause_button, 1)
    row.addWidget(tab.stop_button, 1)
    bl.addLayout(row)
    return bottom
