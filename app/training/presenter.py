"""The Training tab's presenter: :class:`TrainingPresenter`, a QObject without widgets.

It holds what the tab is about and what runs: the recordings (scanned in a task) and which are ticked, the
starting checkpoints and their checked summaries, the environment (torch, a GPU, the loss presets), the run in
progress (a :class:`app.training.tasks.training_task` and its :class:`models.train_process.TrainingControls`)
and its texts. Its state, :class:`TrainingState`, is computed from the running task. It turns the user's choices
(:class:`TrainingChoices`) into a :class:`models.train_process.TrainingPlan` or a sentence saying what to fix,
and keeps the choices in ``state.settings`` (``training_*``). The view renders what it says (``runChanged``,
``stateChanged``, ...) and forwards clicks.

Units: seconds (ETA, elapsed), pixels (reprojection error), millimetres (bone-length std).
"""

from __future__ import annotations

import enum
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6 import QtCore

from app.state import AppState
from app.tasks import Coalescing, RegistryClosed, Task
from app.training.labels import TERM_LABELS, format_eta
from app.training.tasks import checkpoint_task, probe_task, scan_task, stop_training_task, training_task
from core.errors import CrossViewError, InputError, ModelError
from models.reports import BatchReport, TrainResult
from models.sources import (
    CheckpointInfo,
    Environment,
    TrainingSource,
    check_sources,
    new_checkpoint_path,
    recent_checkpoints,
    source_for_path,
)
from models.train_process import (
    EPOCH,
    LOG,
    PROGRESS,
    STARTED,
    RemoteError,
    TrainingControls,
    TrainingPlan,
    TrainingStarted,
    training_threads,
)

log = logging.getLogger(__name__)

PREPARING_TITLE = "Preparing the data…"
STOPPING_TITLE = "Stopping after the current batch…"
PAUSED_SUFFIX = "  ·  paused"
STOPPED_HOW = {"finished": "Finished", "early_stopping": "Stopped early (no improvement)", "stopped": "Stopped"}


class TrainingState(enum.StrEnum):
    """Where training is; computed from the running task (:meth:`TrainingPresenter.state`)."""

    IDLE = "idle"
    PREPARING = "preparing"  #: the process reads the recordings and measures the starting model
    TRAINING = "training"
    PAUSED = "paused"
    STOPPING = "stopping"  #: a stop was asked for; the run ends after the current batch


STATE_LABELS = {
    TrainingState.PREPARING: "Preparing data",
    TrainingState.TRAINING: "Training",
    TrainingState.PAUSED: "Paused",
    TrainingState.STOPPING: "Stopping…",
}


@dataclass(frozen=True)
class TrainingChoices:
    """What the user set in the tab (the ticked recordings are the presenter's own)."""

    epochs: int
    lr: float
    batch_size: int
    device: str
    loss: dict[str, Any] = field(default_factory=dict)
    loss_preset: str = "custom"
    init: Path | None = None
    out: Path | None = None


def matching_preset(weights: dict[str, Any], env: Environment) -> str | None:
    """The preset whose weights, 2D penalty and scale are exactly ``weights`` (None: custom weights)."""
    for name, p in env.presets.items():
        if (
            all(abs(float(p[t]) - float(weights[t])) < 1e-9 for t in env.terms)
            and p.get("robust") == weights["robust"]
            and abs(float(p.get("robust_scale_px", 0)) - weights["robust_scale_px"]) < 1e-9
        ):
            return name
    return None


def error_text(exc: BaseException) -> str:
    """What a failed job says to the user: a CrossView error's own words, else its type and message."""
    return str(exc) if isinstance(exc, CrossViewError | RemoteError) else f"{type(exc).__name__}: {exc}"


class TrainingPresenter(QtCore.QObject):
    """The Training tab's state and actions (see the module docstring)."""

    #: :class:`models.sources.Environment` once torch is loaded (Start can work then)
    environmentReady = QtCore.Signal(object)
    #: the list of :class:`models.sources.TrainingSource` after each scan
    sourcesListed = QtCore.Signal(object)
    #: a starting checkpoint was checked: its key (path or "") and its :class:`CheckpointInfo` or the error text
    checkpointChecked = QtCore.Signal(str, object)
    #: a run is starting: its :class:`TrainingPlan` and whether it continues a stopped one
    runStarting = QtCore.Signal(object, bool)
    #: :class:`models.train_process.TrainingStarted`: the data is ready, training begins
    trainingStarted = QtCore.Signal(object)
    #: :class:`models.reports.BatchReport` (~10 Hz; its ETA leaves paused time out)
    progressed = QtCore.Signal(object)
    #: :class:`models.reports.EpochReport` after each epoch
    epochFinished = QtCore.Signal(object)
    #: a log line of the training process
    logged = QtCore.Signal(str)
    #: the run ended (before one of the three below)
    runEnded = QtCore.Signal()
    #: :class:`models.reports.TrainResult` when a run ends (finished, stopped or early-stopped)
    trainingFinished = QtCore.Signal(object)
    #: the error text when a run failed
    trainingFailed = QtCore.Signal(str)
    #: a run stopped before its first batch (nothing written)
    trainingCancelled = QtCore.Signal()
    #: the :class:`TrainingState` (a str)
    stateChanged = QtCore.Signal(str)
    #: the run's texts (title, ETA, elapsed, progress, information) changed
    runChanged = QtCore.Signal()
    #: the error shown in the tab ("": none)
    errorChanged = QtCore.Signal(str)

    def __init__(self, state: AppState, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.app = state
        self.settings = state.settings
        self.env: Environment | None = None
        self._sources: list[TrainingSource] = []
        self._checked: set[str] = set()
        self._picked: list[Path] = []
        self._checked_init: dict[str, CheckpointInfo | str] = {}
        self._checking: set[str] = set()
        self._aux: list[Task] = []
        self._lister = Coalescing(state.tasks, self._scan_task, self)
        self._task: Task | None = None
        self._controls: TrainingControls | None = None
        self._plan: TrainingPlan | None = None
        self._outcome: tuple[str, Any] | None = None
        self._started: TrainingStarted | None = None
        self._last_progress: BatchReport | None = None
        self._last_out: Path | None = None
        self._epochs_done = 0
        self._t_start = 0.0
        self.can_continue = False
        self.last_error: str | None = None
        self.last_result: TrainResult | None = None
        self.log_lines: list[str] = []
        # the run's texts, rendered by the view
        self.run_title = "Not started"
        self.run_info = ""
        self.header_info = ""
        self.eta = ""
        self.elapsed = ""
        self.progress_value = 0
        self.progress_format = ""
        self.done_text: str | None = None
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self._tick)

    # ================================================================================================ tasks
    def _start_aux(
        self,
        task: Task,
        on_result: Callable[[Any], None],
        on_error: Callable[[BaseException], None] | None = None,
    ) -> Task | None:
        """Start a helper task (environment, scan, checkpoint); None when the window is closing."""
        task.succeeded.connect(on_result)
        task.failed.connect(on_error if on_error is not None else (lambda exc: self.show_error(str(exc))))
        task.ended.connect(lambda t=task: self._aux_ended(t))
        try:
            self.app.tasks.start(task)
        except RegistryClosed:  # the window is closing: nothing new starts
            return None
        self._aux.append(task)
        return task

    def _aux_ended(self, task: Task) -> None:
        if task in self._aux:
            self._aux.remove(task)

    def start_probe(self) -> None:
        """Load torch and the models in a task (``environmentReady`` follows)."""
        self._start_aux(probe_task(), self._on_environment)

    def _on_environment(self, env: Environment) -> None:
        self.env = env
        self._emit_state()
        self.environmentReady.emit(env)

    def cuda_available(self) -> bool:
        """``torch.cuda.is_available()`` (from the probe; asked directly if the probe has not answered yet)."""
        if self.env is not None:
            return self.env.cuda
        import torch

        return bool(torch.cuda.is_available())

    def device_note(self, device: str) -> tuple[str, str]:
        """The sentence under the device choice and its tooltip (empty before the probe answered)."""
        env = self.env
        if env is None:
            return "", ""
        if env.cuda:
            text = f"CUDA GPU: {env.cuda_name or 'available'}"
            text += " · training runs on it." if device in ("auto", "cuda") else " · training runs on the CPU (chosen)."
        else:
            text = "No CUDA GPU found: training runs on the CPU."
        return text, f"torch {env.torch_version}: torch.cuda.is_available() is {env.cuda}"

    # ================================================================================================ settings
    def save_choices(self, choices: TrainingChoices) -> None:
        """Remember the choices (``state.settings.training_*``)."""
        s = self.settings
        s.training_epochs = int(choices.epochs)
        s.training_lr = float(choices.lr)
        s.training_batch_size = int(choices.batch_size)
        s.training_device = choices.device
        s.training_loss_preset = choices.loss_preset
        s.training_loss_weights = dict(choices.loss)
        s.training_init = str(choices.init or "")
        s.sync()

    def models_folder(self) -> Path:
        return self.app.models_folder()

    def set_models_folder(self, path: str | Path) -> None:
        self.settings.models_folder = Path(path).expanduser()
        self.settings.sync()

    def new_output_path(self) -> Path:
        """A new timestamped checkpoint file in the models folder."""
        return new_checkpoint_path(self.models_folder())

    def root_text(self) -> tuple[str, str]:
        """Where the sessions are listed from, and its tooltip."""
        root = self.app.sessions_root
        home = Path.home()
        text = f"~/{root.relative_to(home)}" if root.is_relative_to(home) else str(root)
        return f"Sessions in {text}", f"{root}\nTick the recordings to learn from (they need 2D keypoints: Process)."

    # ================================================================================================ sources
    def refresh(self) -> None:
        """List the recordings again (in a task; ``sourcesListed`` follows)."""
        self._lister.request()

    def _scan_task(self) -> Task:
        task = scan_task(self.app.sessions_root, self.extra_sources())
        task.succeeded.connect(self._on_sources)
        task.failed.connect(lambda exc: self.show_error(f"The recordings cannot be listed: {exc}"))
        return task

    def _on_sources(self, sources: list[TrainingSource]) -> None:
        self._sources = list(sources)
        self._checked &= {str(s.path) for s in self._sources}
        self.sourcesListed.emit(list(self._sources))

    def sources(self) -> list[TrainingSource]:
        return list(self._sources)

    def checked_sources(self) -> list[TrainingSource]:
        return [s for s in self._sources if str(s.path) in self._checked]

    def is_checked(self, path: str | Path) -> bool:
        return str(path) in self._checked

    def set_checked(self, path: str | Path, checked: bool = True) -> None:
        if checked:
            self._checked.add(str(path))
        else:
            self._checked.discard(str(path))

    def is_external(self, path: str | Path) -> bool:
        """Whether ``path`` was added by hand (it can be taken off the list)."""
        return any(s.external and str(s.path) == str(path) for s in self._sources)

    def sources_note(self) -> str:
        """The line under the list: what is ticked, how many frames, what needs Process."""
        if not self._sources:
            return (
                "No sessions yet. Record one (Live tab) or import videos and Process them (Sessions tab), or "
                "Add folder… with 2D keypoints and a calibration."
            )
        chosen = self.checked_sources()
        frames = sum(s.frames for s in chosen)
        missing = sum(1 for s in self._sources if not s.has_keypoints)
        text = f"{len(chosen)} ticked · {frames} frames" if chosen else "Nothing ticked yet."
        if missing:
            text += f" · {missing} without 2D keypoints (Process them in the Sessions tab)."
        return text

    def extra_sources(self) -> list[str]:
        return list(self.settings.training_extra_sources)

    def _set_extra_sources(self, paths: list[str]) -> None:
        self.settings.training_extra_sources = list(paths)
        self.settings.sync()

    def add_source(self, path: str | Path) -> TrainingSource:
        """Add a folder or keypoints file to the list (remembered), ticked when usable; ``problem`` says why not."""
        path = Path(path).expanduser()
        src = source_for_path(path)
        extra = self.extra_sources()
        if str(path) not in extra and not any(s.path == path for s in self._sources):
            extra.append(str(path))
            self._set_extra_sources(extra)
        if src.usable:
            self._checked.add(str(path))
        else:
            self.show_error(src.problem or f"'{path}' cannot be trained on.")
        self.refresh()
        return src

    def remove_source(self, path: str) -> None:
        """Take an added folder or file off the list (nothing is deleted)."""
        extra = [p for p in self.extra_sources() if str(Path(p).expanduser()) != path and p != path]
        self._set_extra_sources(extra)
        self._checked.discard(path)
        self.refresh()

    # ================================================================================================ checkpoints
    def init_entries(self) -> list[tuple[str, str]]:
        """The starting checkpoints offered, ``(label, path or "")``: the shipped model, the active one, the recent
        ones of the models folder, and files chosen by hand."""
        entries = [("Shipped default model", "")]
        active = self.app.model.chosen()
        seen: set[str] = {""}
        if active is not None:
            entries.append((f"Active model · {active.name}", str(active)))
            seen.add(str(active))
        for p in recent_checkpoints(self.models_folder()):
            if str(p) in seen:
                continue
            when = QtCore.QDateTime.fromSecsSinceEpoch(int(p.stat().st_mtime)).toString("yyyy-MM-dd HH:mm")
            entries.append((f"{p.name}  ·  {when}", str(p)))
            seen.add(str(p))
        for p in self._picked:
            if str(p) not in seen:
                entries.append((p.name, str(p)))
                seen.add(str(p))
        return entries

    def pick_init(self, path: str | Path) -> None:
        """Offer ``path`` as a starting checkpoint (a file chosen by hand)."""
        if all(data != str(path) for _, data in self.init_entries()):
            self._picked.append(Path(path))

    def checked_init(self, path: Path | None) -> CheckpointInfo | str | None:
        """The summary (or the error text) of a starting checkpoint already checked; None: not yet."""
        return self._checked_init.get(str(path or ""))

    def check_init(self, path: Path | None) -> None:
        """Check a starting checkpoint in a task (``checkpointChecked`` follows)."""
        key = str(path or "")
        if key in self._checked_init or key in self._checking:
            return

        def ok(info: CheckpointInfo, k: str = key) -> None:
            self._checked_init[k] = info
            self.checkpointChecked.emit(k, info)

        def bad(exc: BaseException, k: str = key) -> None:
            self._checked_init[k] = text = error_text(exc)
            self.checkpointChecked.emit(k, text)

        task = checkpoint_task(path)
        task.ended.connect(lambda k=key: self._checking.discard(k))
        if self._start_aux(task, ok, bad) is not None:
            self._checking.add(key)

    # ================================================================================================ errors
    def show_error(self, text: str) -> None:
        """An error in the tab (under the setup, above Start): what is wrong and what to do."""
        self.last_error = text
        log.warning("Training tab: %s", text)
        self.errorChanged.emit(text)

    def clear_error(self) -> None:
        self.errorChanged.emit("")

    # ================================================================================================ running
    def state(self) -> TrainingState:
        """Computed from the running task: idle without one, else stopping / paused / training / preparing."""
        if self._task is None:
            return TrainingState.IDLE
        if self._task.is_cancel_requested():
            return TrainingState.STOPPING
        if self._controls is not None and self._controls.is_paused():
            return TrainingState.PAUSED
        return TrainingState.TRAINING if self._started is not None else TrainingState.PREPARING

    def state_label(self) -> str:
        state = self.state()
        if state is TrainingState.IDLE:
            return "Ready" if self.env is not None else "Loading…"
        return STATE_LABELS[state]

    def _emit_state(self) -> None:
        self.stateChanged.emit(str(self.state()))

    def is_running(self) -> bool:
        return self._task is not None

    @property
    def last_plan(self) -> TrainingPlan | None:
        """The plan of the current (or last) run."""
        return self._plan

    @property
    def task(self) -> Task | None:
        """The training task running now (None when idle)."""
        return self._task

    def trainer_paused(self) -> bool:
        """Whether the training process's Trainer reported that it holds."""
        return self._controls is not None and self._controls.trainer_paused()

    def last_progress(self) -> BatchReport | None:
        """The last progress report of the current (or last) run."""
        return self._last_progress

    def plan(self, choices: TrainingChoices, resume: bool = False) -> TrainingPlan:
        """The run the choices describe; a :class:`CrossViewError` saying what to fix when they cannot run."""
        if self.env is None:
            raise InputError("Torch and the models are still loading; wait a moment and press Start again.")
        chosen = self.checked_sources()
        check_sources(chosen)
        if choices.device == "cuda" and not self.cuda_available():
            raise ModelError(
                "CUDA was chosen but this computer has no usable CUDA GPU (torch.cuda.is_available() is False). "
                "Choose CPU or Automatic as the device."
            )
        out = _checked_output(self._last_out if resume else choices.out, resume)
        cached = self.checked_init(choices.init)
        if isinstance(cached, str):
            raise ModelError(cached)
        loss = dict(choices.loss)
        if not any(loss[t] > 0 for t in TERM_LABELS):
            raise InputError("Every loss weight is 0: give at least one term a weight above 0 (step 4).")
        return TrainingPlan(
            sources=[str(s.path) for s in chosen],
            out=out,
            epochs=choices.epochs,
            lr=choices.lr,
            batch_size=choices.batch_size,
            device=choices.device,
            loss=loss,
            init=str(choices.init) if choices.init else None,
            loss_preset=choices.loss_preset,
            resume=resume,
            threads=training_threads(),
        )

    def start(self, choices: TrainingChoices, resume: bool = False) -> bool:
        """Check the choices and start training in a task; False (and an error in the tab) when it cannot."""
        if self._task is not None:
            return False
        self.clear_error()
        try:
            plan = self.plan(choices, resume)
        except CrossViewError as exc:
            self.show_error(str(exc))
            return False
        self.save_choices(choices)
        controls = TrainingControls()
        task = training_task(plan, controls)
        task.posted.connect(self._on_event)
        task.succeeded.connect(lambda res: self._set_outcome("result", res))
        task.failed.connect(lambda exc: self._set_outcome("error", exc))
        task.cancelled.connect(lambda: self._set_outcome("cancelled", None))
        task.ended.connect(lambda t=task: self._on_ended(t))
        try:
            self.app.tasks.start(task)  # its reports are queued: they arrive once the run is set up below
        except RegistryClosed as exc:  # the window is closing
            self.show_error(str(exc))
            return False
        self._task, self._controls, self._plan = task, controls, plan
        self._begin_run(plan, resume)
        self._timer.start()
        self._emit_state()
        self.runChanged.emit()
        return True

    def _begin_run(self, plan: TrainingPlan, resume: bool) -> None:
        self._last_out = plan.out
        self._outcome = None
        self.can_continue = False
        self.done_text = None
        if not resume:
            self.log_lines = []
            self._epochs_done = 0
            self.progress_value = 0
        self._last_progress = None
        self._started = None
        self._t_start = time.monotonic()
        self.run_title = PREPARING_TITLE
        self.eta = ""
        self.run_info = (
            f"{len(plan.sources)} recording(s) · {plan.epochs} epochs · batch {plan.batch_size} · lr {plan.lr:g} · "
            f"loss '{plan.loss_preset}' · saving to {plan.out.name}"
        )
        self.header_info = f"→ {plan.out}"
        self.runStarting.emit(plan, resume)

    def toggle_pause(self) -> None:
        if self.state() is TrainingState.PAUSED:
            self.resume()
        else:
            self.pause()

    def pause(self) -> bool:
        """Hold training between batches (Resume continues)."""
        if self._controls is None or self.state() not in (TrainingState.TRAINING, TrainingState.PREPARING):
            return False
        self._controls.pause()
        self.run_title = self.run_title.split(PAUSED_SUFFIX)[0] + PAUSED_SUFFIX
        self._emit_state()
        self.runChanged.emit()
        return True

    def resume(self) -> bool:
        if self._controls is None or self.state() is not TrainingState.PAUSED:
            return False
        self._controls.resume()
        self._emit_state()
        self._update_run_texts()
        return True

    def stop_training(self) -> bool:
        """Stop after the current batch without waiting (the best checkpoint so far is kept)."""
        if self._task is None:
            return False
        self._task.cancel()
        self.run_title = STOPPING_TITLE
        self._emit_state()
        self.runChanged.emit()
        return True

    def stop(self) -> None:
        """Stop training cleanly (the best checkpoint so far and the state are saved; a process that does not end
        within a minute is killed) and every other task of the tab, and wait for them (the window is closing)."""
        if self._task is not None and self._controls is not None:
            stop_training_task(self._task, self._controls)
        self._lister.stop()
        for task in list(self._aux):
            task.stop()

    # --- what the run reports ---------------------------------------------------------------------------------
    def _on_event(self, item: tuple[str, Any]) -> None:
        kind, payload = item
        if kind == LOG:
            self.log_lines.append(payload)
            self.logged.emit(payload)
        elif kind == STARTED:
            self._on_started(payload)
        elif kind == PROGRESS:
            self._last_progress = payload
            self.progress_value = int(round(1000 * min(max(payload.fraction, 0.0), 1.0)))
            self.progress_format = f"{100 * payload.fraction:.0f} %"
            self.progressed.emit(payload)
            self._update_run_texts()
        elif kind == EPOCH:
            self._epochs_done = payload.epoch + 1
            self.epochFinished.emit(payload)

    def _on_started(self, st: TrainingStarted) -> None:
        self._started = st
        base, start = st.triangulation, st.start_model
        bits = [f"{st.train_samples} training / {st.val_samples} validation frames ({st.split})", f"device {st.device}"]
        if math.isfinite(base.get("reproj_px", math.nan)):
            bone = base.get("bone_std_mm", math.nan)
            bits.append(f"triangulation on validation: {base['reproj_px']:.2f} px, bones ±{bone:.1f} mm")
        if start:
            r0, b0 = start.get("reproj_px", math.nan), start.get("bone_std_mm", math.nan)
            bits.append(f"starting model: {r0:.2f} px, ±{b0:.1f} mm")
        self.run_info = " · ".join(bits)
        self._emit_state()
        self.trainingStarted.emit(st)
        self._update_run_texts()

    def _tick(self) -> None:
        self._update_run_texts()

    def _update_run_texts(self) -> None:
        if self._task is None:
            return
        self.elapsed = f"elapsed {format_eta(time.monotonic() - self._t_start)}"
        p = self._last_progress
        state = self.state()
        if p is None:
            if state is TrainingState.PREPARING:
                self.run_title = PREPARING_TITLE
        else:
            title = f"Epoch {p.epoch + 1} of {p.epochs}  ·  batch {p.batch} of {p.batches}"
            if state is TrainingState.PAUSED:
                title += PAUSED_SUFFIX
            elif state is TrainingState.STOPPING:
                title = STOPPING_TITLE
            self.run_title = title
            self.eta = f"ETA {format_eta(p.eta_s)}"
        self.runChanged.emit()

    def _set_outcome(self, kind: str, value: Any) -> None:
        self._outcome = (kind, value)

    def _on_ended(self, task: Task) -> None:
        if task is not self._task:
            return
        self._update_run_texts()  # the final elapsed time
        plan = self._plan
        kind, value = self._outcome or ("error", RemoteError("the training task ended without a result"))
        self._task = self._controls = None
        self._timer.stop()
        self.eta = ""
        self.runEnded.emit()
        self._emit_state()
        if kind == "error":
            text = error_text(value)
            self.run_title = "Training failed"
            self.runChanged.emit()
            self.show_error(f"Training failed. {text}")
            self.trainingFailed.emit(text)
        elif kind == "cancelled":
            self.run_title = "Stopped before training started; nothing was saved."
            self.runChanged.emit()
            self.trainingCancelled.emit()
        else:
            self._finished(value, plan)

    def _finished(self, res: TrainResult, plan: TrainingPlan | None) -> None:
        self.last_result = res
        how = STOPPED_HOW.get(res.stopped, res.stopped)
        best = res.best_val or {}
        figures = ""
        if isinstance(best.get("reproj_px"), int | float):
            figures = f": validation {best['reproj_px']:.2f} px, bones ±{best.get('bone_std_mm', math.nan):.1f} mm"
        n = self._epochs_done
        self.run_title = f"{how} after {n} epoch{'s' if n != 1 else ''}"
        self.done_text = (
            f"<b>{how}.</b> Best epoch {res.best_epoch + 1}{figures}. Saved to {res.checkpoint} "
            f"(id {res.checkpoint_id[:8]}). Compare it with the current model before you use it."
        )
        self.can_continue = res.stopped == "stopped" and plan is not None and plan.state_path.is_file()
        if res.stopped == "finished":
            self.progress_value, self.progress_format = 1000, "100 %"
        self.runChanged.emit()
        self.trainingFinished.emit(res)

    # ================================================================================================ afterwards
    def use_model(self, path: str | Path) -> None:
        """Make ``path`` the app's active model (live capture and processing refine with it)."""
        self.app.model.set_path(path)
        self.app.say(f"Live capture and processing now use {Path(path).name}.", 6000)


def _checked_output(out: Path | None, resume: bool) -> Path:
    """``out``, or an InputError when the checkpoint file cannot be written (or, to continue, has no saved state)."""
    if out is None:
        raise InputError("Give the file to save the new model to (step 5).")
    if out.suffix != ".pt":
        raise InputError(f"'{out.name}': a model checkpoint file name ends in .pt.")
    state = out.with_name(out.name + ".state.pt")
    if resume and not state.is_file():
        raise InputError(f"There is no saved state to continue from ('{state}'); start a new training.")
    if not resume and (out.exists() or state.exists()):
        raise InputError(f"'{out}' already exists; choose another file name (step 5) so that it is not overwritten.")
    return out
