"""One training run in a separate process, with pause / resume / stop / kill (no Qt): :func:`run_training_process`.

- :class:`TrainingPlan`: everything one run needs, as plain values (picklable).
- :class:`TrainingRunner` runs a plan in the current process: reads the chosen recordings
  (:func:`models.data.data_from_paths`), splits them (:func:`models.data.split`), measures the triangulation and
  the starting model on the validation part, then runs :class:`models.train.Trainer` (batch reports throttled to
  :data:`PROGRESS_INTERVAL_S`, their ETA leaving paused time out, one report per epoch, log lines).
- :func:`training_process_main` is the entry point of the spawned process; :func:`run_training_process` starts
  it, relays its events through ``on_event(kind, payload)`` and returns the :class:`models.reports.TrainResult`.
  :class:`TrainingControls` pause, resume, stop and kill it from any thread; stopping keeps the best checkpoint
  so far (the Trainer writes it as it goes).

Events (``on_event(kind, payload)``): ``("log", str)``, ``("started", TrainingStarted)``,
``("progress", models.reports.BatchReport)`` (its ETA leaves paused time out), ``("epoch", EpochReport)``,
``("paused", bool)`` when the Trainer holds or goes on.

A process, not a thread: a training thread shares the GIL with the interface thread, so each slows the other.
Measured on the 2-core development machine (same run as :func:`training_threads`, 1 torch thread, other jobs
sharing the CPU): 103 epochs in 8 s in a process against 34-49 in a thread, the interface's 16 ms timer late by
at most ~0.19 s either way (the cost of repainting the plots, a few times a second). A process also keeps
torch's process-wide thread setting, and any crash, away from the app. Spawning costs about 2 s (torch is
imported again). Scripts that start the app must guard their entry point with ``if __name__ == "__main__":``
(``main.py`` does), as ``multiprocessing`` requires; a frozen build needs ``multiprocessing.freeze_support()``.

Nothing here imports torch at module level: the app imports this module at start.
Units: seconds (times, ETA), pixels (reprojection error), millimetres (bone-length std).
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import queue as _queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import CrossViewError
from core.jobs import Cancelled, CancelLike, Progress, is_cancelled
from models.reports import BatchReport, TrainResult

if TYPE_CHECKING:  # torch is imported by the training process, never at module level
    from models.train import TrainConfig

log = logging.getLogger(__name__)

#: Batch reports are sent at most this often, seconds (the last batch of an epoch always is).
PROGRESS_INTERVAL_S = 0.1
#: The events of a run, ``on_event(kind, payload)``.
LOG, STARTED, PROGRESS, EPOCH, PAUSED = "log", "started", "progress", "epoch", "paused"

TrainingEvent = Callable[[str, Any], None]


@dataclass
class TrainingPlan:
    """Everything one run needs, as plain values (the runner builds the :class:`models.train.TrainConfig`).

    ``loss``: :class:`models.losses.LossConfig` fields (term weights, ``robust``, ``robust_scale_px``);
    ``init``: the starting checkpoint (None = the shipped model); ``resume``: continue from ``<out>.state.pt``
    (written when a run stops); ``device``: ``auto``, ``cpu`` or ``cuda``.
    """

    sources: list[str]
    out: Path
    epochs: int
    lr: float
    batch_size: int
    device: str = "auto"
    loss: dict[str, Any] = field(default_factory=dict)
    init: str | None = None
    loss_preset: str = "custom"
    resume: bool = False
    seed: int = 0
    threads: int | None = None  #: torch CPU threads while training (None: torch's default)

    @property
    def state_path(self) -> Path:
        """``<out>.state.pt``: what Continue resumes from."""
        return self.out.with_name(self.out.name + ".state.pt")

    def train_config(self) -> TrainConfig:
        """The :class:`models.train.TrainConfig` of this plan (imports torch)."""
        from models.losses import LossConfig
        from models.train import TrainConfig

        return TrainConfig(
            epochs=int(self.epochs),
            lr=float(self.lr),
            batch_size=int(self.batch_size),
            device=self.device,
            seed=int(self.seed),
            threads=self.threads,
            loss=LossConfig.from_dict(self.loss),
        )


def training_threads() -> int:
    """Torch CPU threads for training in the app: every core but one, which is left to the interface.

    On the 2-core development machine (fine-tuning the shipped model on 72 frames of the Pose2Sim session at
    batch 16, the tab on screen, other jobs sharing the CPU), training in a thread of the app ran 10 epochs in
    8 s with torch's default of 2 threads and 34 with 1: CV-UGCN's small matrices gain little from a second
    thread that the interface needs too.
    """
    return max(1, (os.cpu_count() or 2) - 1)


@dataclass(frozen=True)
class TrainingStarted:
    """Sent once the data is ready, before the first batch. Metrics are on the validation samples."""

    train_samples: int
    val_samples: int
    split: str
    terms: tuple[str, ...]
    epochs: int
    triangulation: dict[str, float]
    start_model: dict[str, float]
    device: str
    resumed_from_epoch: int


class RemoteError(Exception):
    """An unexpected error raised in the training process (its type and message; the traceback is logged)."""


class TrainingRunner:
    """Runs one :class:`TrainingPlan` in the current process and reports through ``emit(kind, payload)`` (the
    events of the module docstring). :meth:`run` returns the :class:`models.reports.TrainResult`, or None when
    stopped before training started. :meth:`pause`, :meth:`resume` and :meth:`stop` are safe from any thread."""

    def __init__(self, plan: TrainingPlan, emit: TrainingEvent) -> None:
        self.plan = plan
        self.emit = emit
        self._lock = threading.Lock()
        self._trainer: Any = None
        self._stop = threading.Event()
        self._paused = False
        self._paused_at: float | None = None
        self._paused_total = 0.0
        self._t_fit: float | None = None
        self._f0: float | None = None
        self._last_emit = 0.0

    # --- controls (any thread) ------------------------------------------------------------------------------
    def pause(self) -> None:
        with self._lock:
            if self._paused:
                return
            self._paused = True
            self._paused_at = time.monotonic()
            if self._trainer is not None:
                self._trainer.pause()
                self.emit(PAUSED, True)

    def resume(self) -> None:
        with self._lock:
            if not self._paused:
                return
            self._paused = False
            if self._paused_at is not None:
                self._paused_total += time.monotonic() - self._paused_at
            self._paused_at = None
            if self._trainer is not None:
                self._trainer.resume()
                self.emit(PAUSED, False)

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            if self._trainer is not None:
                self._trainer.stop()

    # --- work -----------------------------------------------------------------------------------------------
    def _log(self, text: str) -> None:
        self.emit(LOG, str(text))

    def run(self) -> TrainResult | None:
        import torch

        from models.checkpoint import DEFAULT_CHECKPOINT, load_checkpoint
        from models.data import data_from_paths, split
        from models.train import Trainer, coarse_output, evaluate, output_metrics, pick_device

        plan = self.plan
        cfg = plan.train_config()
        device = pick_device(cfg.device)  # ModelError for CUDA without a GPU
        if cfg.threads and device.type == "cpu":
            torch.set_num_threads(int(cfg.threads))
        self._log(f"reading {len(plan.sources)} recording(s)")
        data = data_from_paths(plan.sources, log=self._log)
        train, val, how = split(data, seed=plan.seed)
        self._log(f"validation split {how}: {len(train)} training / {len(val)} validation samples")
        if self._stop.is_set():
            return None
        init = load_checkpoint(plan.init if plan.init else DEFAULT_CHECKPOINT)
        plan.out.parent.mkdir(parents=True, exist_ok=True)
        trainer = Trainer(
            train,
            val,
            plan.out,
            cfg,
            init=init,
            meta={
                "data": [str(s) for s in plan.sources],
                "split": how,
                "seed": plan.seed,
                "loss_preset": plan.loss_preset,
                "made_by": "CrossView Training tab",
            },
            on_progress=self._on_progress,
            on_epoch=lambda report: self.emit(EPOCH, report),
            log=self._log,
        )
        resume_from = trainer.state_path if plan.resume and trainer.state_path.is_file() else None
        start_epoch = 0
        if resume_from is not None:
            st = torch.load(resume_from, map_location="cpu", weights_only=True)
            start_epoch = int(st.get("epoch", -1)) + 1
        base = output_metrics(coarse_output(val), val)
        start = {}
        if resume_from is None:
            start = evaluate(init.build_model(device), val, device, cfg.loss, combine=cfg.combine, batch=cfg.val_batch)
        self.emit(
            STARTED,
            TrainingStarted(
                len(train), len(val), how, cfg.loss.active(), cfg.epochs, base, start, str(device), start_epoch
            ),
        )
        with self._lock:
            self._trainer = trainer
            if self._paused:
                trainer.pause()
                self.emit(PAUSED, True)
            if self._stop.is_set():
                trainer.stop()
        self._t_fit = time.monotonic()
        return trainer.fit(resume_from=resume_from)

    def _on_progress(self, p: BatchReport) -> None:
        now = time.monotonic()
        if self._f0 is None:
            self._f0 = p.epoch / max(p.epochs, 1)
        last = p.batch == p.batches
        if not last and now - self._last_emit < PROGRESS_INTERVAL_S:
            return
        self._last_emit = now
        with self._lock:
            paused = self._paused_total + ((now - self._paused_at) if self._paused_at is not None else 0.0)
        active = max(now - (self._t_fit or now) - paused, 0.0)
        done = p.fraction - self._f0
        eta = active / done * (1.0 - p.fraction) if done > 1e-9 and active > 0 else None
        self.emit(PROGRESS, replace(p, eta_s=eta))


# ================================================================================================ the process


def _error_payload(exc: BaseException) -> dict[str, Any]:
    import traceback

    return {
        "type": type(exc).__name__,
        "message": str(exc),
        "crossview": isinstance(exc, CrossViewError),
        "traceback": "".join(traceback.format_exception(exc)),
    }


def rebuild_error(info: dict[str, Any]) -> BaseException:
    """The exception the training process reported: the same :mod:`core.errors` class for user-facing errors,
    else a :class:`RemoteError` saying what it was."""
    if info.get("crossview"):
        from core import errors

        cls = getattr(errors, str(info.get("type")), CrossViewError)
        if isinstance(cls, type) and issubclass(cls, CrossViewError):
            return cls(str(info.get("message")))
    return RemoteError(f"{info.get('type')}: {info.get('message')}")


def training_process_main(plan: TrainingPlan, queue: Any, stop_event: Any, pause_event: Any, parent_pid: int) -> None:
    """Entry point of the training process (spawned by :func:`run_training_process`): runs a
    :class:`TrainingRunner`, puts its events on ``queue`` and ends with ``("end", (kind, payload))``, kind
    ``result`` / ``cancelled`` / ``error``. ``stop_event`` and ``pause_event`` (multiprocessing events) control
    it; it also stops when the app that started it is gone."""
    runner = TrainingRunner(plan, lambda kind, payload: queue.put((kind, payload)))
    done = threading.Event()

    def watch() -> None:  # the controls, polled: mp events cannot call back
        paused = False
        while not done.wait(0.05):
            if stop_event.is_set() or os.getppid() != parent_pid:
                runner.stop()
            want = pause_event.is_set()
            if want != paused:
                (runner.pause if want else runner.resume)()
                paused = want

    watcher = threading.Thread(target=watch, name="training-controls", daemon=True)
    watcher.start()
    try:
        result = runner.run()
    except BaseException as exc:  # reported to the app, never lost in the process
        queue.put(("end", ("error", _error_payload(exc))))
    else:
        queue.put(("end", ("cancelled", None) if result is None else ("result", result)))
    finally:
        done.set()
        watcher.join(1.0)


class TrainingControls:
    """Pause, resume, stop and kill one training process; every method is safe from any thread.

    ``request_stop`` ends the run after the current batch (the best checkpoint so far is kept, the state saved
    for continuing); ``kill`` ends the process at once (checkpoints are written atomically, so a kill never
    leaves half a file).
    """

    def __init__(self) -> None:
        self.context = mp.get_context("spawn")  # never fork a process that runs threads (the app's, torch's)
        self.stop_event = self.context.Event()
        self.pause_event = self.context.Event()
        self._kill = threading.Event()
        self._trainer_paused = False
        self.exit_code: int | None = None

    def pause(self) -> None:
        """Hold between batches until :meth:`resume` or a stop."""
        self.pause_event.set()

    def resume(self) -> None:
        self.pause_event.clear()

    def is_paused(self) -> bool:
        return self.pause_event.is_set()

    def trainer_paused(self) -> bool:
        """Whether the Trainer itself reported that it holds."""
        return self._trainer_paused

    def note_trainer_paused(self, paused: bool) -> None:
        """The process reported that its Trainer holds (True) or goes on (False)."""
        self._trainer_paused = bool(paused)

    def request_stop(self) -> None:
        self.stop_event.set()

    def stop_requested(self) -> bool:
        return self.stop_event.is_set()

    def kill(self) -> None:
        self._kill.set()

    def killed(self) -> bool:
        return self._kill.is_set()


def run_training_process(
    plan: TrainingPlan,
    on_event: TrainingEvent | None = None,
    progress: Progress | None = None,
    cancel: CancelLike = None,
    controls: TrainingControls | None = None,
) -> TrainResult:
    """Run ``plan`` in a new process (``multiprocessing`` spawn) and return its :class:`models.reports.TrainResult`.

    ``on_event(kind, payload)`` gets the events of the module docstring; ``progress(done, total, message)`` the
    fraction of the run in thousandths. ``cancel`` (set from any thread) is a stop: the run ends after the
    current batch and returns its result (``stopped == "stopped"``). Raises :class:`core.jobs.Cancelled` when it
    stopped before training started (nothing written), the process's :mod:`core.errors` error, or
    :class:`RemoteError` for anything else (also when ``controls.kill()`` ended it).
    """
    controls = controls if controls is not None else TrainingControls()
    emit = on_event or (lambda _kind, _payload: None)
    ctx = controls.context
    q = ctx.Queue()
    proc = ctx.Process(
        target=training_process_main,
        args=(plan, q, controls.stop_event, controls.pause_event, os.getpid()),
        name="crossview-training",
        daemon=True,
    )
    end: tuple[str, Any] | None = None
    try:
        proc.start()
        while end is None:
            if is_cancelled(cancel) and not controls.stop_requested():
                controls.request_stop()
            if controls.killed():
                proc.terminate()
                break
            try:
                kind, payload = q.get(timeout=0.1)
            except _queue.Empty:
                if proc.is_alive():
                    continue
                try:  # what it sent just before it ended
                    kind, payload = q.get(timeout=1.0)
                except _queue.Empty:
                    break
            end = _dispatch(kind, payload, emit, progress, controls)
    except BaseException as exc:
        log.exception("training process")
        end = ("error", _error_payload(exc))
    finally:
        proc.join(10.0)
        if proc.is_alive():
            proc.kill()
            proc.join(5.0)
        controls.exit_code = proc.exitcode
        q.close()
    return _outcome(end, controls)


def _dispatch(
    kind: str, payload: Any, emit: TrainingEvent, progress: Progress | None, controls: TrainingControls
) -> tuple[str, Any] | None:
    """Relay one event of the process; the end of the run when it is the last one."""
    if kind == "end":
        return payload
    if kind == LOG:
        log.info("training: %s", payload)
        payload = str(payload)
    elif kind == PAUSED:
        payload = bool(payload)
        controls.note_trainer_paused(payload)
    elif kind == PROGRESS and progress is not None:
        progress(int(round(1000 * min(max(payload.fraction, 0.0), 1.0))), 1000, f"epoch {payload.epoch + 1}")
    emit(kind, payload)
    return None


def _outcome(end: tuple[str, Any] | None, controls: TrainingControls) -> TrainResult:
    if end is None:
        what = "was stopped" if controls.killed() else f"ended unexpectedly (exit code {controls.exit_code})"
        raise RemoteError(
            f"the training process {what}. The best checkpoint saved so far (if any) is kept; see the log."
        )
    kind, payload = end
    if kind == "error":
        if not payload.get("crossview"):
            log.error("training failed:\n%s", payload.get("traceback", ""))
        raise rebuild_error(payload)
    if kind == "cancelled":
        raise Cancelled("stopped before training started; nothing was saved.")
    return payload
