"""The Training tab: fine-tune CV-UGCN on the user's own recordings, watch it learn, compare, and use it. Qt only.

- **Set up** (left panel, :mod:`app.training.setup`): tick recordings (the sessions under the sessions root, with
  their frame counts, and folders or keypoints files added with "Add folder…" / "Add file…"); the starting
  checkpoint (the shipped model, the active one, recent ones in the models folder, or any file); epochs, learning
  rate, batch size; the loss weights (:class:`models.losses.LossConfig` presets, every term editable); the device
  (CUDA when ``torch.cuda.is_available()``, else the CUDA entry is disabled with the reason); the output
  checkpoint (default: a timestamped file in the models folder, :meth:`app.state.AppState.models_folder`).
- **Run**: Start / Pause / Stop. Training runs in a separate process
  (:func:`models.train_process.run_training_process`, in a task), so the window stays responsive. A progress bar
  with the epoch and an ETA (paused time left out), and live plots (:class:`app.training.plots.TrainingPlots`):
  every loss term and the running batch loss, the total training and validation loss, and the validation
  metrics (reprojection error in px, bone-length std in mm) against the triangulation alone and the starting
  model. Stop (or closing the window) keeps the best checkpoint so far; Continue picks a stopped run up from
  its saved state.
- **Afterwards** (:class:`app.training.compare.ComparePanel`): the triangulation, the current model and the new
  one on a chosen recording, with a scrubbable 3D frame; "Use this model" makes it the app's active model
  (``state.model``).
- **Errors** (nothing ticked, a session without 2D keypoints, a bad checkpoint, CUDA without a GPU) are shown
  in the tab, in words that say what to do.

A view: what the tab knows and runs is the :class:`app.training.presenter.TrainingPresenter`'s. Torch is imported
by tasks only (the app starts without it); Start works once they are ready. The choices made are kept in
``state.settings`` (``training_*``). Units: seconds (ETA, times), pixels, millimetres, metres (3D).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from app.state import AppState
from app.tasks import Task
from app.theme import PALETTE, set_style_property
from app.training.compare import ComparePanel
from app.training.labels import DEFAULT_PRESET, TERM_LABELS, format_eta, preset_note
from app.training.plots import TrainingPlots
from app.training.presenter import TrainingChoices, TrainingPresenter, TrainingState, matching_preset
from app.training.setup import build_setup, caption
from app.widgets.build import framed, make_label
from models.reports import BatchReport, EpochReport, TrainResult
from models.sources import CheckpointInfo, Environment, TrainingSource
from models.train_process import TrainingPlan, TrainingStarted

log = logging.getLogger(__name__)

__all__ = ["PAUSED", "TRAINING", "TrainingTab", "format_eta"]

#: The states, by their old names (``tab.state() == TRAINING``).
IDLE, PREPARING, TRAINING = TrainingState.IDLE, TrainingState.PREPARING, TrainingState.TRAINING
PAUSED, STOPPING = TrainingState.PAUSED, TrainingState.STOPPING
USER_ROLE = QtCore.Qt.ItemDataRole.UserRole


class TrainingTab(QtWidgets.QWidget):
    """Training: set up, run with live plots, compare, use. See the module docstring."""

    #: the checkpoint the user chose with "Use this model" (already the app's active model)
    modelChosen = QtCore.Signal(str)
    #: :class:`models.sources.Environment` once torch is loaded (Start works then)
    environmentReady = QtCore.Signal(object)
    #: the list of :class:`models.sources.TrainingSource` after each refresh
    sourcesListed = QtCore.Signal(object)
    #: :class:`models.sources.CheckpointInfo`, or the error text, after a starting checkpoint was checked
    checkpointChecked = QtCore.Signal(object)
    #: :class:`models.train_process.TrainingStarted`: the data is ready, training begins
    trainingStarted = QtCore.Signal(object)
    #: :class:`models.reports.BatchReport` (~10 Hz; its ETA leaves paused time out)
    progressed = QtCore.Signal(object)
    #: :class:`models.reports.EpochReport` after each epoch (the plots have its points already)
    epochFinished = QtCore.Signal(object)
    #: :class:`models.reports.TrainResult` when a run ends (finished, stopped or early-stopped)
    trainingFinished = QtCore.Signal(object)
    #: the error text when a run failed
    trainingFailed = QtCore.Signal(str)
    #: a run stopped before its first batch (nothing written)
    trainingCancelled = QtCore.Signal()
    #: ``idle``, ``preparing``, ``training``, ``paused``, ``stopping``
    stateChanged = QtCore.Signal(str)
    #: the text of every error shown in the tab
    errorShown = QtCore.Signal(str)
    #: :class:`models.evaluate.Comparison` / its error text
    compared = QtCore.Signal(object)
    compareFailed = QtCore.Signal(str)

    def __init__(self, state: AppState, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("trainingTab")
        self.app_state = state
        self.presenter = TrainingPresenter(state, self)
        self._out_edited = False
        self._applying_preset = False

        root = QtWidgets.QHBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(0)
        root.addWidget(build_setup(self))  # sets source_tree, init_combo, epochs_spin, ..., start_button
        root.addLayout(self._build_right(), 1)
        self._connect()
        self._load_settings()
        self._on_state()
        self.presenter.start_probe()
        self.refresh()

    # ================================================================================================ building
    def _build_right(self) -> QtWidgets.QVBoxLayout:
        col = QtWidgets.QVBoxLayout()
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(0)
        bar, row = framed("toolbar", "h", (14, 8, 14, 8), 0)
        group = QtWidgets.QButtonGroup(self)
        self.page_buttons: list[QtWidgets.QPushButton] = []
        for i, text in enumerate(("Progress", "Compare")):
            b = QtWidgets.QPushButton(text)
            b.setObjectName("segment")
            b.setCheckable(True)
            group.addButton(b, i)
            row.addWidget(b)
            self.page_buttons.append(b)
        self.page_buttons[0].setChecked(True)
        group.idClicked.connect(self.show_page)
        row.addSpacing(14)
        self.state_chip = make_label("", "stateChip")
        row.addWidget(self.state_chip)
        row.addStretch(1)
        self.header_info = make_label("", "caption")
        row.addWidget(self.header_info)
        col.addWidget(bar)
        self.pages = QtWidgets.QStackedWidget()
        self.pages.addWidget(self._build_progress_page())
        self.compare = ComparePanel(self.app_state.tasks)
        self.pages.addWidget(self.compare)
        col.addWidget(self.pages, 1)
        return col

    def _build_progress_page(self) -> QtWidgets.QWidget:
        page = QtWidgets.QWidget()
        lay = QtWidgets.QVBoxLayout(page)
        lay.setContentsMargins(16, 12, 16, 12)
        lay.setSpacing(8)
        head = QtWidgets.QHBoxLayout()
        self.run_title = make_label("Not started", "runTitle")
        head.addWidget(self.run_title)
        head.addStretch(1)
        self.elapsed_label = make_label("", "caption")
        head.addWidget(self.elapsed_label)
        head.addSpacing(14)
        self.eta_label = make_label("", "eta")
        head.addWidget(self.eta_label)
        lay.addLayout(head)
        self.progress_bar = QtWidgets.QProgressBar()
        self.progress_bar.setObjectName("trainProgress")
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("")
        lay.addWidget(self.progress_bar)
        self.run_info = caption(
            "Tick one or more processed sessions, check the settings and press Start training. The network learns "
            "from cross-view consistency of your own recordings: no 3D ground truth and no labelling needed."
        )
        lay.addWidget(self.run_info)
        lay.addWidget(self._build_done_banner())
        self.plots = TrainingPlots()
        lay.addWidget(self.plots, 1)
        self.log_view = QtWidgets.QPlainTextEdit()
        self.log_view.setObjectName("trainLog")
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(500)
        self.log_view.setFixedHeight(86)
        self.log_view.setLineWrapMode(QtWidgets.QPlainTextEdit.LineWrapMode.NoWrap)
        lay.addWidget(self.log_view)
        return page

    def _build_done_banner(self) -> QtWidgets.QFrame:
        self.done_banner = QtWidgets.QFrame()
        db = QtWidgets.QHBoxLayout(self.done_banner)
        db.setContentsMargins(0, 0, 0, 0)
        db.setSpacing(8)
        self.done_label = make_label("", "doneBanner", wrap=True)
        self.done_label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        db.addWidget(self.done_label, 1)
        self.continue_button = QtWidgets.QPushButton("Continue training")
        self.continue_button.setToolTip("Continue the stopped run from its saved state, up to the epochs set")
        db.addWidget(self.continue_button)
        self.goto_compare_button = QtWidgets.QPushButton("Compare →")
        self.goto_compare_button.setObjectName("primaryButton")
        db.addWidget(self.goto_compare_button)
        self.done_banner.setVisible(False)
        return self.done_banner

    def _connect(self) -> None:
        """Clicks and edits to the tab's handlers; the presenter's reports to what shows them."""
        self.source_tree.itemChanged.connect(self._on_source_item_changed)
        self.source_tree.itemSelectionChanged.connect(self._update_actions)
        self.refresh_button.clicked.connect(self.refresh)
        self.add_folder_button.clicked.connect(self.add_folder)
        self.add_file_button.clicked.connect(self.add_file)
        self.remove_button.clicked.connect(self.remove_selected_source)
        self.init_combo.currentIndexChanged.connect(lambda _i: self._on_init_changed())
        self.init_button.clicked.connect(self.choose_init)
        self.device_combo.currentIndexChanged.connect(lambda _i: self._on_device_changed())
        self.preset_combo.currentIndexChanged.connect(lambda _i: self._on_preset_chosen())
        for spin in self.weight_spins.values():
            spin.valueChanged.connect(lambda _v: self._on_weights_edited())
        self.robust_combo.currentIndexChanged.connect(lambda _i: self._on_weights_edited())
        self.robust_scale.valueChanged.connect(lambda _v: self._on_weights_edited())
        self.out_edit.textEdited.connect(lambda _t: setattr(self, "_out_edited", True))
        self.out_button.clicked.connect(self.choose_output)
        self.start_button.clicked.connect(lambda: self.start())
        self.pause_button.clicked.connect(self.toggle_pause)
        self.stop_button.clicked.connect(self.stop_training)
        self.continue_button.clicked.connect(lambda: self.start(resume=True))
        self.goto_compare_button.clicked.connect(lambda: self.show_page(1))
        self.compare.compared.connect(self.compared)
        self.compare.compareFailed.connect(self._on_compare_failed)
        self.compare.useRequested.connect(self._use_model)
        p = self.presenter
        p.environmentReady.connect(self._on_environment)
        p.sourcesListed.connect(self._on_sources)
        p.checkpointChecked.connect(self._on_checkpoint_checked)
        p.errorChanged.connect(self._on_error)
        p.stateChanged.connect(lambda _s: self._on_state())
        p.runStarting.connect(self._on_run_starting)
        p.runChanged.connect(self._render_run)
        p.trainingStarted.connect(self._on_started)
        p.progressed.connect(self._on_progress)
        p.epochFinished.connect(self._on_epoch)
        p.logged.connect(self.log_view.appendPlainText)
        p.runEnded.connect(self.plots.flush)
        p.trainingFinished.connect(self._on_finished)
        p.trainingFailed.connect(self.trainingFailed)
        p.trainingCancelled.connect(self.trainingCancelled)
        self.app_state.sessionsRootChanged.connect(lambda _root: self.refresh())

    def show_page(self, index: int) -> None:
        """0: progress and plots; 1: comparison."""
        self.pages.setCurrentIndex(int(index))
        self.page_buttons[int(index)].setChecked(True)

    # ================================================================================================ settings
    def _load_settings(self) -> None:
        s = self.app_state.settings
        self.epochs_spin.setValue(s.training_epochs)
        self.lr_spin.setValue(s.training_lr)
        self.batch_spin.setValue(s.training_batch_size)
        dev = s.training_device
        idx = self.device_combo.findData(dev if dev in ("auto", "cpu") else "auto")
        self.device_combo.setCurrentIndex(max(idx, 0))
        self._update_root_label()
        self._fill_init_combo(s.training_init or None)
        self._new_output()
        for w in self._loss_widgets():
            w.setEnabled(False)
        self.preset_note.setText("Loading the loss presets…")

    def choices(self) -> TrainingChoices:
        """What is set in the tab now."""
        return TrainingChoices(
            epochs=self.epochs_spin.value(),
            lr=self.lr_spin.value(),
            batch_size=self.batch_spin.value(),
            device=self.device(),
            loss=self.loss_weights(),
            loss_preset=self.preset(),
            init=self.init_checkpoint(),
            out=self.output_path(),
        )

    def save_settings(self) -> None:
        """Remember the choices made in the tab (``state.settings``)."""
        self.presenter.save_choices(self.choices())

    def _update_root_label(self) -> None:
        text, tip = self.presenter.root_text()
        self.root_label.setText(text)
        self.root_label.setToolTip(tip)

    def models_folder(self) -> Path:
        return self.presenter.models_folder()

    def set_models_folder(self, path: str | Path) -> None:
        self.presenter.set_models_folder(path)
        self._fill_init_combo(self.init_checkpoint())
        if not self._out_edited:
            self._new_output()

    # ================================================================================================ environment
    @property
    def env(self) -> Environment | None:
        """What the probe found (torch, a GPU, the loss presets); None until it answered."""
        return self.presenter.env

    def _on_environment(self, env: Environment) -> None:
        combo = self.device_combo
        i = combo.findData("cuda")
        item = combo.model().item(i)
        if env.cuda:
            combo.setItemText(i, f"CUDA · {env.cuda_name or 'GPU'}")
            item.setEnabled(True)
            combo.setItemData(i, "", QtCore.Qt.ItemDataRole.ToolTipRole)
            combo.setItemText(combo.findData("auto"), "Automatic (CUDA)")
            if self.app_state.settings.training_device == "cuda":
                combo.setCurrentIndex(i)
        else:
            combo.setItemText(i, "CUDA GPU (none found)")
            item.setEnabled(False)
            combo.setItemData(
                i,
                f"No CUDA GPU is available (torch {env.torch_version}: torch.cuda.is_available() is False). "
                "Training runs on the CPU.",
                QtCore.Qt.ItemDataRole.ToolTipRole,
            )
            combo.setItemText(combo.findData("auto"), "Automatic (CPU)")
        self._on_device_changed()
        self.preset_combo.blockSignals(True)
        self.preset_combo.clear()
        for name in env.presets:
            self.preset_combo.addItem(name, name)
        self.preset_combo.blockSignals(False)
        for w in self._loss_widgets():
            w.setEnabled(True)
        for term, spin in self.weight_spins.items():
            spin.setVisible(term in env.terms)
        saved = self.app_state.settings.training_loss_preset
        self.set_preset(saved if saved in env.presets else DEFAULT_PRESET)
        if saved == "custom":
            self._restore_custom_weights()
        self._on_state()
        self.environmentReady.emit(env)

    def cuda_available(self) -> bool:
        return self.presenter.cuda_available()

    def _on_device_changed(self) -> None:
        dev = self.device()
        if self.env is None:
            return
        text, tip = self.presenter.device_note(dev)
        self.device_note.setText(text)
        self.device_note.setToolTip(tip)
        self.compare.set_device(dev)

    def device(self) -> str:
        return str(self.device_combo.currentData())

    def set_device(self, device: str) -> None:
        """``auto``, ``cpu`` or ``cuda`` (even when disabled: Start then says why it cannot be used)."""
        idx = self.device_combo.findData(device)
        if idx < 0:
            raise ValueError(f"device is auto, cpu or cuda, not {device!r}")
        self.device_combo.setCurrentIndex(idx)

    # ================================================================================================ loss
    def _loss_widgets(self) -> list[QtWidgets.QWidget]:
        return [self.preset_combo, self.robust_combo, self.robust_scale, *self.weight_spins.values()]

    def preset(self) -> str:
        return str(self.preset_combo.currentData() or "custom")

    def set_preset(self, name: str) -> None:
        """Fill the weights from a :class:`models.losses.LossConfig` preset."""
        if self.env is None or name not in self.env.presets:
            raise ValueError(f"unknown loss preset {name!r}")
        self._select_preset(name)
        self._set_weights(self.env.presets[name])
        self.preset_note.setText(preset_note(name))
        self._update_weight_styles()

    def _set_weights(self, d: dict[str, Any], partial: bool = False) -> None:
        """Show the :class:`models.losses.LossConfig` fields of ``d`` (``partial``: only those it holds)."""
        self._applying_preset = True
        try:
            for term, spin in self.weight_spins.items():
                if not partial:
                    spin.setValue(float(d.get(term, 0.0)))
                elif isinstance(d.get(term), int | float):
                    spin.setValue(float(d[term]))
            robust = self.robust_combo.findData(d.get("robust", None if partial else "huber"))
            if robust >= 0 or not partial:
                self.robust_combo.setCurrentIndex(max(robust, 0))
            if not partial or isinstance(d.get("robust_scale_px"), int | float):
                self.robust_scale.setValue(float(d.get("robust_scale_px", 10.0)))
        finally:
            self._applying_preset = False

    def _restore_custom_weights(self) -> None:
        d = self.app_state.settings.training_loss_weights
        if not isinstance(d, dict):
            return
        self._set_weights(d, partial=True)
        self._on_weights_edited()

    def _on_preset_chosen(self) -> None:
        name = self.preset()
        if name != "custom" and self.env is not None:
            self.set_preset(name)

    def _select_preset(self, name: str) -> None:
        """Show ``name`` as the preset (adding the ``custom`` entry when needed, dropping it otherwise)."""
        combo = self.preset_combo
        combo.blockSignals(True)
        if name == "custom" and combo.findData("custom") < 0:
            combo.addItem("custom", "custom")
        combo.setCurrentIndex(combo.findData(name))
        idx = combo.findData("custom")
        if name != "custom" and idx >= 0:
            combo.removeItem(idx)
        combo.blockSignals(False)

    def _on_weights_edited(self) -> None:
        if self._applying_preset or self.env is None:
            return
        self._select_preset(matching_preset(self.loss_weights(), self.env) or "custom")
        self.preset_note.setText(preset_note(self.preset()))
        self._update_weight_styles()

    def _update_weight_styles(self) -> None:
        for spin in self.weight_spins.values():
            set_style_property(spin, "off", spin.value() <= 0)

    def loss_weights(self) -> dict[str, Any]:
        """The :class:`models.losses.LossConfig` fields set in the tab."""
        d: dict[str, Any] = {t: float(s.value()) for t, s in self.weight_spins.items()}
        d["robust"] = str(self.robust_combo.currentData())
        d["robust_scale_px"] = float(self.robust_scale.value())
        return d

    def set_loss_weight(self, term: str, value: float) -> None:
        self.weight_spins[term].setValue(float(value))

    # ================================================================================================ sources
    def refresh(self) -> None:
        """List the recordings again (in a task; ``sourcesListed`` follows)."""
        self._update_root_label()
        self.presenter.refresh()

    def _on_sources(self, sources: list[TrainingSource]) -> None:
        t = self.source_tree
        t.blockSignals(True)
        t.clear()
        for s in sources:
            t.addTopLevelItem(self._source_item(s))
        t.blockSignals(False)
        self.sources_note.setText(self.presenter.sources_note())
        self.compare.set_sources([s for s in sources if s.has_keypoints] or sources)
        self._update_actions()
        self.sourcesListed.emit(list(sources))

    def _source_item(self, s: TrainingSource) -> QtWidgets.QTreeWidgetItem:
        item = QtWidgets.QTreeWidgetItem(
            [s.name + ("  (added)" if s.external else ""), str(s.frames) if s.frames else "–", ""]
        )
        item.setData(0, USER_ROLE, str(s.path))
        item.setFlags(item.flags() | QtCore.Qt.ItemFlag.ItemIsUserCheckable)
        checked = self.presenter.is_checked(s.path)
        item.setCheckState(0, QtCore.Qt.CheckState.Checked if checked else QtCore.Qt.CheckState.Unchecked)
        item.setTextAlignment(1, QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
        if s.has_keypoints and s.usable:
            item.setText(2, "✓")
            item.setForeground(2, QtGui.QBrush(PALETTE.qcolor("ok_text")))
            tip = f"{s.path}\n{s.frames} frames of 2D keypoints" + (
                f", cameras {', '.join(s.cameras)}" if s.cameras else ""
            )
        else:
            item.setText(2, "needs Process" if s.kind == "session" and not s.has_keypoints else "unusable")
            item.setForeground(2, QtGui.QBrush(PALETTE.qcolor("caution")))
            item.setForeground(0, QtGui.QBrush(PALETTE.qcolor("muted")))
            tip = f"{s.path}\n{s.problem}"
        for c in range(3):
            item.setToolTip(c, tip)
        return item

    def _on_source_item_changed(self, item: QtWidgets.QTreeWidgetItem, column: int) -> None:
        if column != 0:
            return
        checked = item.checkState(0) == QtCore.Qt.CheckState.Checked
        self.presenter.set_checked(str(item.data(0, USER_ROLE)), checked)
        self.sources_note.setText(self.presenter.sources_note())

    def sources(self) -> list[TrainingSource]:
        return self.presenter.sources()

    def source_names(self) -> list[str]:
        return [s.name for s in self.presenter.sources()]

    def checked_sources(self) -> list[TrainingSource]:
        return self.presenter.checked_sources()

    def set_checked(self, name_or_path: str | Path, checked: bool = True) -> bool:
        """Tick (or untick) a recording by name or path; False when it is not listed."""
        for i, s in enumerate(self.presenter.sources()):
            if s.name == str(name_or_path) or s.path == Path(name_or_path):
                state = QtCore.Qt.CheckState.Checked if checked else QtCore.Qt.CheckState.Unchecked
                self.source_tree.topLevelItem(i).setCheckState(0, state)
                return True
        return False

    def add_source(self, path: str | Path) -> TrainingSource:
        """Add a folder or keypoints file to the list (remembered), ticked when usable; ``problem`` says why not."""
        return self.presenter.add_source(path)

    def add_folder(self) -> str | None:
        start = str(self.app_state.sessions_root.parent)
        path = QtWidgets.QFileDialog.getExistingDirectory(self, "Add a session or keypoints folder", start)
        if not path:
            return None
        self.add_source(path)
        return path

    def add_file(self) -> str | None:
        start = str(self.app_state.sessions_root.parent)
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Add a keypoints file", start, "2D keypoints (*.npz);;All files (*)"
        )
        if not path:
            return None
        self.add_source(path)
        return path

    def remove_selected_source(self) -> None:
        items = self.source_tree.selectedItems()
        if items:
            self.presenter.remove_source(str(items[0].data(0, USER_ROLE)))

    # ================================================================================================ checkpoints
    def _fill_init_combo(self, select: str | Path | None = None) -> None:
        combo = self.init_combo
        combo.blockSignals(True)
        combo.clear()
        for label, data in self.presenter.init_entries():
            combo.addItem(label, data)
        idx = combo.findData(str(select)) if select else 0
        combo.setCurrentIndex(max(idx, 0))
        combo.blockSignals(False)
        self._on_init_changed()

    def init_checkpoint(self) -> Path | None:
        """The starting checkpoint chosen (None: the shipped model)."""
        data = self.init_combo.currentData()
        return Path(data) if data else None

    def set_init_checkpoint(self, path: str | Path | None) -> None:
        """Start from ``path`` (None: the shipped model); it is checked in a task (``checkpointChecked``)."""
        if path is not None:
            self.presenter.pick_init(path)
        self._fill_init_combo(path)

    def choose_init(self) -> str | None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Starting checkpoint", str(self.models_folder()), "CV-UGCN checkpoints (*.pt);;All files (*)"
        )
        if not path:
            return None
        self.set_init_checkpoint(path)
        return path

    def _on_init_changed(self) -> None:
        path = self.init_checkpoint()
        cached = self.presenter.checked_init(path)
        if cached is not None:
            self._show_init_info(cached)
            return
        set_style_property(self.init_info, "level", "")
        self.init_info.setText("Checking the checkpoint…")
        self.presenter.check_init(path)

    def _on_checkpoint_checked(self, key: str, info: CheckpointInfo | str) -> None:
        if str(self.init_checkpoint() or "") == key:
            self._show_init_info(info)
        self.checkpointChecked.emit(info)

    def _show_init_info(self, info: CheckpointInfo | str) -> None:
        if isinstance(info, CheckpointInfo):
            set_style_property(self.init_info, "level", "")
            self.init_info.setText(info.summary())
            self.init_info.setToolTip(str(info.path))
        else:
            set_style_property(self.init_info, "level", "error")
            self.init_info.setText(info)
            self.init_info.setToolTip("")

    # ================================================================================================ output
    def _new_output(self) -> None:
        self.out_edit.setText(str(self.presenter.new_output_path()))
        self._out_edited = False
        self.out_note.setText(f"Models folder: {self.models_folder()}")

    def output_path(self) -> Path | None:
        text = self.out_edit.text().strip()
        return Path(text).expanduser() if text else None

    def set_output_path(self, path: str | Path) -> None:
        self.out_edit.setText(str(path))
        self._out_edited = True

    def choose_output(self) -> str | None:
        start = str(self.output_path() or self.models_folder())
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, "Save the new model as", start, "CV-UGCN checkpoints (*.pt)"
        )
        if not path:
            return None
        if not path.endswith(".pt"):
            path += ".pt"
        self.set_output_path(path)
        return path

    # ================================================================================================ running
    def state(self) -> TrainingState:
        return self.presenter.state()

    def is_running(self) -> bool:
        return self.presenter.is_running()

    def worker(self) -> Task | None:
        """The training task running now (None when idle)."""
        return self.presenter.task

    @property
    def log_lines(self) -> list[str]:
        return self.presenter.log_lines

    @property
    def last_error(self) -> str | None:
        return self.presenter.last_error

    @property
    def last_result(self) -> TrainResult | None:
        return self.presenter.last_result

    def _on_state(self) -> None:
        self.state_chip.setText(self.presenter.state_label())
        self._update_actions()
        self.stateChanged.emit(str(self.presenter.state()))

    def _update_actions(self) -> None:
        state = self.presenter.state()
        running = self.presenter.is_running()
        ready = self.env is not None
        self.start_button.setEnabled(ready and not running)
        self.pause_button.setEnabled(running and state in (TRAINING, PAUSED, PREPARING))
        self.pause_button.setText("Resume" if state is PAUSED else "Pause")
        self.stop_button.setEnabled(running and state is not STOPPING)
        for w in (
            self.source_tree,
            self.add_folder_button,
            self.add_file_button,
            self.refresh_button,
            self.init_combo,
            self.init_button,
            self.epochs_spin,
            self.lr_spin,
            self.batch_spin,
            self.device_combo,
            self.out_edit,
            self.out_button,
        ):
            w.setEnabled(not running)
        for w in self._loss_widgets():
            w.setEnabled(not running and ready)
        sel = self.source_tree.selectedItems()
        external = bool(sel) and self.presenter.is_external(str(sel[0].data(0, USER_ROLE)))
        self.remove_button.setEnabled(not running and external)
        can_continue = self.presenter.can_continue
        self.continue_button.setVisible(can_continue)
        self.continue_button.setEnabled(not running and can_continue)
        self.start_button.setToolTip("" if ready else "Loading torch and the models…")

    def start(self, resume: bool = False) -> bool:
        """Check the setup and start training in a task; False (and a message in the tab) when it cannot."""
        return self.presenter.start(self.choices(), resume)

    def toggle_pause(self) -> None:
        self.presenter.toggle_pause()

    def pause(self) -> bool:
        """Hold training between batches (Resume continues)."""
        return self.presenter.pause()

    def resume(self) -> bool:
        return self.presenter.resume()

    def stop_training(self) -> bool:
        """Stop after the current batch without waiting (the best checkpoint so far is kept)."""
        return self.presenter.stop_training()

    def last_progress(self) -> BatchReport | None:
        """The last progress report of the current (or last) run."""
        return self.presenter.last_progress()

    def eta_text(self) -> str:
        return self.eta_label.text()

    def _on_run_starting(self, plan: TrainingPlan, resume: bool) -> None:
        self.done_banner.setVisible(False)
        if not resume:
            self.plots.reset(tuple(t for t in TERM_LABELS if plan.loss.get(t)), plan.epochs)
            self.log_view.clear()
        else:
            self.plots.set_epochs(plan.epochs)
        self.show_page(0)

    def _render_run(self) -> None:
        """Show the run's texts as the presenter has them."""
        p = self.presenter
        self.run_title.setText(p.run_title)
        self.run_info.setText(p.run_info or self.run_info.text())
        self.header_info.setText(p.header_info)
        self.eta_label.setText(p.eta)
        self.elapsed_label.setText(p.elapsed)
        self.progress_bar.setValue(p.progress_value)
        self.progress_bar.setFormat(p.progress_format)
        if p.done_text is not None:
            self.done_label.setText(p.done_text)
        self.done_banner.setVisible(p.done_text is not None)

    def _on_started(self, st: TrainingStarted) -> None:
        if st.resumed_from_epoch == 0:
            self.plots.reset(st.terms, st.epochs)
        self.plots.set_references(st.triangulation, st.start_model)
        self.trainingStarted.emit(st)

    def _on_progress(self, p: BatchReport) -> None:
        self.plots.add_batch(p)
        self.progressed.emit(p)

    def _on_epoch(self, report: EpochReport) -> None:
        self.plots.add_epoch(report)
        self.epochFinished.emit(report)

    def _on_finished(self, res: TrainResult) -> None:
        self.compare.set_new_checkpoint(res.checkpoint)
        self.compare.set_current_model(self.app_state.model.chosen())
        plan = self.presenter.last_plan
        if plan is not None and plan.sources:
            self.compare.select_source(plan.sources[0])
        self._fill_init_combo(self.init_checkpoint())
        if plan is not None and (not self._out_edited or self.output_path() == plan.out):
            self._new_output()  # the next run gets a new file; Continue keeps writing this one
        self._update_actions()
        self.trainingFinished.emit(res)

    # ================================================================================================ after
    def _use_model(self, path: str) -> None:
        self.presenter.use_model(path)
        self.compare.set_current_model(Path(path), Path(path).name)
        self._fill_init_combo(self.init_checkpoint())
        self.modelChosen.emit(path)

    def _on_compare_failed(self, text: str) -> None:
        self.errorShown.emit(text)
        self.compareFailed.emit(text)

    # ================================================================================================ messages
    def _on_error(self, text: str) -> None:
        """An error in the tab (under the setup, above Start): what is wrong and what to do ("": none)."""
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))
        if text:
            self.errorShown.emit(text)

    def error_text(self) -> str:
        return self.error_label.text() if self.error_label.isVisible() else ""

    # ================================================================================================ window
    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        self.compare.set_current_model(self.app_state.model.chosen())
        self.compare.set_start_folder(self.models_folder())
        if not self.presenter.is_running():
            self.refresh()

    def stop(self) -> None:
        """Stop training cleanly (the best checkpoint so far and the state are saved) and every other task of the
        tab; waits for them (the window is closing). The choices made in the tab are remembered."""
        if self.env is not None:
            self.save_settings()
        self.presenter.stop()
        self.compare.stop()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self.stop()
        super().closeEvent(event)
