"""Workers and helpers of the Training tab: every long job runs off the GUI thread. Qt, no widgets.

- :class:`TrainingWorker`: a :class:`QtCore.QThread` that starts a training process (:func:`training_process_main`,
  ``multiprocessing`` spawn) and relays its reports as signals. In that process a :class:`TrainingRunner` reads
  the chosen recordings (:func:`models.data.data_from_paths`), splits them (:func:`models.data.split`), measures
  the triangulation and the starting model on the validation part, then runs :class:`models.train.Trainer`
  (progress throttled to ~10 Hz with an ETA that leaves paused time out, one report per epoch, log lines).
  :meth:`TrainingWorker.pause`, :meth:`~TrainingWorker.resume` and :meth:`~TrainingWorker.request_stop` are
  safe from any thread; stopping keeps the best checkpoint so far (the Trainer writes it as it goes).
- :func:`compare_models`: triangulation vs the current model vs the new one on one recording: mean reprojection
  error (px) and bone-length variation (std over frames, mm), per frame too, and the three world poses of the
  first camera pair for the 3D view. :func:`compare_task` runs it in a :class:`app.session_workers.Task`.
- :func:`scan_training_sources`: the recordings that can be trained on (sessions under the sessions root and
  folders or keypoints files added by hand) with their frame counts and what is missing.
- Settings: the models folder (:func:`models_folder`, QSettings ``training/models_folder``, default
  ``<sessions root>/../models``) and new timestamped checkpoint names (:func:`new_checkpoint_path`).

Nothing here imports torch at module level (``models`` does): the app starts without it; workers import it.

Units: metres (3D), pixels (2D, reprojection error), millimetres (bone-length variation), seconds (times, ETA).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import logging
import os
import threading
import time
import warnings
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6 import QtCore

from app.active_model import SETTINGS_KEY as ACTIVE_MODEL_KEY
from app.session_workers import SessionRow, Task, scan_sessions, sessions_root
from core.errors import CrossViewError, InputError
from core.keypoints_io import RESERVED_KEYS

if TYPE_CHECKING:  # torch is imported by the workers, never at module level
    from models.train import Progress, TrainResult

log = logging.getLogger(__name__)

#: QSettings key of the folder where trained checkpoints are written and listed.
MODELS_FOLDER_KEY = "training/models_folder"
#: QSettings key of folders / keypoints files added to the training list by hand (a list of paths).
EXTRA_SOURCES_KEY = "training/extra_sources"
#: Name of the 2D keypoints of a session (written by Process), and of its calibration.
KEYPOINTS_FILE = "keypoints2d.npz"
CALIBRATION_FILE = "calibration.toml"
#: Progress reports reach the GUI at most this often, seconds (the last batch of an epoch always does).
PROGRESS_INTERVAL_S = 0.1
#: The three skeletons of a comparison, in drawing order.
COMPARE_KINDS: tuple[str, ...] = ("coarse", "old", "new")


# ================================================================================================ settings


def default_models_folder(settings: QtCore.QSettings) -> Path:
    """``<sessions root>/../models``."""
    return sessions_root(settings).parent / "models"


def models_folder(settings: QtCore.QSettings) -> Path:
    """Where trained checkpoints go (QSettings ``training/models_folder``), else :func:`default_models_folder`."""
    value = settings.value(MODELS_FOLDER_KEY)
    if isinstance(value, str) and value.strip():
        return Path(value).expanduser()
    return default_models_folder(settings)


def set_models_folder(settings: QtCore.QSettings, path: str | Path) -> None:
    settings.setValue(MODELS_FOLDER_KEY, str(Path(path).expanduser()))
    settings.sync()


def active_checkpoint(settings: QtCore.QSettings) -> Path | None:
    """The app's active checkpoint (the setting of :class:`app.active_model.ActiveModel` when it names an existing
    file), or None for the shipped model. Read without importing torch."""
    saved = settings.value(ACTIVE_MODEL_KEY, "", type=str)
    return Path(saved) if saved and Path(saved).is_file() else None


def new_checkpoint_path(folder: str | Path, prefix: str = "cvugcn") -> Path:
    """A checkpoint file that does not exist yet: ``<folder>/<prefix>_YYYY-MM-DD_HH-MM-SS[_N].pt``."""
    folder = Path(folder)
    base = f"{prefix}_{_dt.datetime.now().strftime('%Y-%m-%d_%H-%M-%S')}"
    path, n = folder / f"{base}.pt", 1
    while path.exists() or path.with_name(path.name + ".state.pt").exists():
        n += 1
        path = folder / f"{base}_{n}.pt"
    return path


def recent_checkpoints(folder: str | Path, limit: int = 12) -> list[Path]:
    """Checkpoint files (``*.pt``, not training states) in ``folder``, newest first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = []
    for p in folder.glob("*.pt"):
        if p.name.endswith(".state.pt") or not p.is_file():
            continue
        with contextlib.suppress(OSError):
            found.append((p.stat().st_mtime, p))
    found.sort(key=lambda x: x[0], reverse=True)
    return [p for _, p in found[:limit]]


# ================================================================================================ sources


@dataclass
class TrainingSource:
    """One recording the tab can train on: a session folder, a folder with a keypoints npz and a calibration,
    or a keypoints npz with its calibration beside it. ``frames``: frames with 2D keypoints (0 when there are
    none yet); ``problem``: why it cannot be used as it is (None = usable)."""

    path: Path
    name: str
    kind: str  # "session" | "folder" | "file"
    frames: int = 0
    cameras: list[str] = field(default_factory=list)
    has_keypoints: bool = False
    problem: str | None = None
    external: bool = False
    fps: float = 0.0

    @property
    def usable(self) -> bool:
        return self.problem is None


def npz_frame_count(path: str | Path) -> tuple[int, list[str]]:
    """Frames and camera names of a keypoints npz, read from the array headers only (no decompression)."""
    frames = 0
    cams: list[str] = []
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            key = name[:-4] if name.endswith(".npy") else name
            if key in RESERVED_KEYS:
                continue
            with zf.open(name) as f:
                version = np.lib.format.read_magic(f)
                shape = (
                    np.lib.format.read_array_header_1_0(f)[0]
                    if version == (1, 0)
                    else np.lib.format.read_array_header_2_0(f)[0]
                )
            cams.append(key)
            if shape:
                frames = max(frames, int(shape[0]))
    return frames, cams


def source_for_session(row: SessionRow) -> TrainingSource:
    """The training view of a sessions-list row."""
    kp = row.path / KEYPOINTS_FILE
    src = TrainingSource(row.path, row.name, "session", cameras=list(row.cameras), fps=row.fps)
    if not row.usable:
        src.problem = (
            f"'{row.name}' cannot be used ({row.status}{': ' + row.error if row.error else ''}). "
            "Recover or repair it in the Sessions tab first."
        )
        return src
    if not kp.is_file():
        src.problem = (
            f"'{row.name}' has no 2D keypoints yet ({KEYPOINTS_FILE} is missing): open the Sessions tab, select it "
            "and press Process first."
        )
        return src
    try:
        src.frames, _ = npz_frame_count(kp)
        src.has_keypoints = True
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        src.problem = f"'{row.name}': {KEYPOINTS_FILE} is unreadable ({exc}); Process the session again."
    return src


def source_for_path(path: str | Path) -> TrainingSource:
    """A folder (a session, or any folder with a keypoints npz and a calibration TOML) or a keypoints npz added by
    hand. Never raises: ``problem`` says what is wrong."""
    from app.session_workers import session_row

    path = Path(path).expanduser()
    if path.is_dir() and (path / "session.json").is_file():
        src = source_for_session(session_row(path))
        src.external = True
        return src
    kind = "folder" if path.is_dir() else "file"
    src = TrainingSource(path, path.name, kind, external=True)
    if not path.exists():
        src.problem = f"'{path}' does not exist any more."
        return src
    folder = path if path.is_dir() else path.parent
    if kind == "file" and path.suffix.lower() != ".npz":
        src.problem = f"'{path.name}' is not a keypoints .npz file."
        return src
    if kind == "folder":
        npz = [p for p in sorted(folder.glob("*.npz")) if p.is_file()]
        kp = folder / KEYPOINTS_FILE if (folder / KEYPOINTS_FILE).is_file() else (npz[0] if len(npz) == 1 else None)
        if kp is None:
            src.problem = (
                f"'{folder}' holds {len(npz)} .npz files and no {KEYPOINTS_FILE}: put the 2D keypoints there as "
                f"{KEYPOINTS_FILE}, or add the .npz file itself."
            )
            return src
    else:
        kp = path
    tomls = [p for p in sorted(folder.glob("*.toml")) if p.is_file()]
    if not (folder / CALIBRATION_FILE).is_file() and len(tomls) != 1:
        src.problem = (
            f"'{folder}' needs the cameras' calibration beside the keypoints, as {CALIBRATION_FILE} "
            f"(it holds {len(tomls)} .toml files)."
        )
        return src
    try:
        src.frames, src.cameras = npz_frame_count(kp)
        src.has_keypoints = True
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        src.problem = f"'{kp}' is not a readable keypoints .npz ({exc})."
        return src
    if len(src.cameras) < 2:
        src.problem = f"'{kp.name}' holds {len(src.cameras)} camera(s); training needs two."
    return src


def scan_training_sources(root: str | Path, extra: Sequence[str | Path] = ()) -> list[TrainingSource]:
    """The sessions under ``root`` (newest first) and then the folders / files in ``extra``."""
    out = [source_for_session(r) for r in scan_sessions(root)]
    seen = {s.path.resolve() for s in out}
    for p in extra:
        src = source_for_path(p)
        if src.path.resolve() not in seen:
            seen.add(src.path.resolve())
            out.append(src)
    return out


def scan_task(root: str | Path, extra: Sequence[str | Path] = ()) -> Task:
    return Task(lambda _p, _c: scan_training_sources(root, list(extra)), "training-scan", "Listing recordings")


def check_sources(sources: Sequence[TrainingSource]) -> None:
    """InputError saying what to do when nothing is chosen or a chosen recording cannot be trained on."""
    if not sources:
        raise InputError("No recording is ticked: tick at least one session (with 2D keypoints) to train on.")
    bad = [s for s in sources if s.problem]
    if bad:
        raise InputError("\n".join(s.problem or "" for s in bad))


# ================================================================================================ environment


@dataclass(frozen=True)
class Environment:
    """What training needs to know before it starts: whether CUDA is available (``torch.cuda.is_available()``)
    and the GPU's name, the shipped checkpoint, the loss terms (:data:`models.losses.TERMS`) and the weights of
    every :class:`models.losses.LossConfig` preset (``{preset: LossConfig.to_dict()}``)."""

    cuda: bool
    cuda_name: str
    default_checkpoint: Path
    torch_version: str
    terms: tuple[str, ...]
    presets: dict[str, dict[str, Any]]
    robust_kinds: tuple[str, ...] = ("l2", "huber", "cauchy")


def probe_environment() -> Environment:
    """Import torch and the models (slow: do it in a worker) and look for a CUDA GPU."""
    import torch

    from models.checkpoint import DEFAULT_CHECKPOINT
    from models.losses import TERMS, LossConfig

    cuda = bool(torch.cuda.is_available())
    name = ""
    if cuda:
        with contextlib.suppress(Exception):
            name = torch.cuda.get_device_name(0)
    presets = {p: LossConfig.preset(p).to_dict() for p in LossConfig.PRESETS}
    return Environment(cuda, name, DEFAULT_CHECKPOINT, torch.__version__, tuple(TERMS), presets)


def probe_task() -> Task:
    return Task(lambda _p, _c: probe_environment(), "training-probe", "Looking for a GPU")


@dataclass(frozen=True)
class CheckpointInfo:
    """A checkpoint, read and validated: content id, network size, how it was trained."""

    path: Path
    id: str
    parameters: int
    widths: str
    meta: dict[str, Any]

    def summary(self) -> str:
        m = self.meta
        bits = [f"id {self.id[:8]}", f"{self.widths}, {self.parameters / 1e6:.2f} M parameters"]
        date = str(m.get("date", ""))[:16].replace("T", " ")
        if date:
            bits.append(f"trained {date}")
        if isinstance(m.get("epoch"), int):
            bits.append(f"epoch {m['epoch'] + 1}")
        val = m.get("val_metrics") or {}
        if isinstance(val.get("reproj_px"), int | float):
            bits.append(f"val. reprojection {val['reproj_px']:.2f} px")
        return " · ".join(bits)


def checkpoint_info(path: str | Path | None) -> CheckpointInfo:
    """Read and check a checkpoint (None: the shipped one); ModelError with the reason when it is unusable."""
    from models.checkpoint import load_checkpoint
    from models.cvugcn import CVUGCNConfig, count_parameters

    ck = load_checkpoint(path)
    cfg = ck.model_config
    widths = "custom widths"
    for name in ("tiny", "narrow", "full"):
        if getattr(CVUGCNConfig, name)() == cfg:
            widths = f"{name} network"
    n = count_parameters(ck.build_model())
    assert ck.path is not None
    return CheckpointInfo(ck.path, ck.id, int(n), widths, dict(ck.meta))


def checkpoint_task(path: str | Path | None) -> Task:
    return Task(lambda _p, _c: checkpoint_info(path), "training-checkpoint", "Reading the checkpoint")


# ================================================================================================ training


@dataclass
class TrainingPlan:
    """Everything one run needs, as plain values (the worker builds the :class:`models.train.TrainConfig`).

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

    def train_config(self) -> Any:
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


@dataclass(frozen=True)
class TrainingProgress:
    """One progress report: ``epoch`` 0-based, ``fraction`` of the whole run in [0, 1], ``eta_s`` seconds left
    (paused time not counted; None until known), ``loss`` the last batch's total loss."""

    epoch: int
    epochs: int
    batch: int
    batches: int
    fraction: float
    eta_s: float | None
    loss: float


class RemoteError(Exception):
    """An unexpected error raised in the training process (its type and message; the traceback is logged)."""


class TrainingRunner:
    """Runs one :class:`TrainingPlan` in the current process and reports through ``emit(kind, payload)``:
    ``("log", str)``, ``("started", TrainingStarted)``, ``("progress", TrainingProgress)`` (throttled to
    :data:`PROGRESS_INTERVAL_S`), ``("epoch", EpochReport)``, ``("paused", bool)`` when the Trainer holds or goes
    on. :meth:`run` returns the :class:`models.train.TrainResult`, or None when stopped before training started.
    :meth:`pause`, :meth:`resume` and :meth:`stop` are safe from any thread. No Qt."""

    def __init__(self, plan: TrainingPlan, emit: Callable[[str, Any], None]) -> None:
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
                self.emit("paused", True)

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
                self.emit("paused", False)

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            if self._trainer is not None:
                self._trainer.stop()

    # --- work -----------------------------------------------------------------------------------------------
    def _log(self, text: str) -> None:
        self.emit("log", str(text))

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
            on_epoch=lambda report: self.emit("epoch", report),
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
            "started",
            TrainingStarted(
                len(train), len(val), how, cfg.loss.active(), cfg.epochs, base, start, str(device), start_epoch
            ),
        )
        with self._lock:
            self._trainer = trainer
            if self._paused:
                trainer.pause()
                self.emit("paused", True)
            if self._stop.is_set():
                trainer.stop()
        self._t_fit = time.monotonic()
        return trainer.fit(resume_from=resume_from)

    def _on_progress(self, p: Progress) -> None:
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
        self.emit("progress", TrainingProgress(p.epoch, p.epochs, p.batch, p.batches, p.fraction, eta, p.loss))


def _error_payload(exc: BaseException) -> dict[str, Any]:
    import traceback

    return {
        "type": type(exc).__name__,
        "message": str(exc),
        "crossview": isinstance(exc, CrossViewError),
        "traceback": "".join(traceback.format_exception(exc)),
    }


def _rebuild_error(info: dict[str, Any]) -> BaseException:
    """The exception the training process reported: the same :mod:`core.errors` class for user-facing errors,
    else a :class:`RemoteError` saying what it was."""
    if info.get("crossview"):
        from core import errors

        cls = getattr(errors, str(info.get("type")), CrossViewError)
        if isinstance(cls, type) and issubclass(cls, CrossViewError):
            return cls(str(info.get("message")))
    return RemoteError(f"{info.get('type')}: {info.get('message')}")


def training_process_main(plan: TrainingPlan, queue: Any, stop_event: Any, pause_event: Any, parent_pid: int) -> None:
    """Entry point of the training process (spawned by :class:`TrainingWorker`): runs a :class:`TrainingRunner`,
    puts its reports on ``queue`` and ends with ``("end", (kind, payload))``, kind ``result`` / ``cancelled`` /
    ``error``. ``stop_event`` and ``pause_event`` (multiprocessing events) control it; it also stops when the
    app that started it is gone."""
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


class TrainingWorker(QtCore.QThread):
    """Runs one :class:`TrainingPlan` in a separate process (``multiprocessing`` spawn) and relays its reports as
    signals. Exactly one of ``succeeded`` (a :class:`models.train.TrainResult`), ``failed`` (the exception: a
    :mod:`core.errors` class, or :class:`RemoteError`) or ``cancelled`` (stopped before training started;
    nothing written) follows, then ``ended``.

    A process, not a thread: a training thread shares the GIL with the interface thread, so each slows the
    other. Measured on the 2-core development machine (same run as :func:`training_threads`, 1 torch thread,
    other jobs sharing the CPU): 103 epochs in 8 s in a process against 34-49 in a thread, the interface's 16 ms
    timer late by at most ~0.19 s either way (the cost of repainting the plots, a few times a second). A process
    also keeps torch's process-wide thread setting, and any crash, away from the app. Spawning costs about 2 s
    (torch is imported again). Scripts that start the app must guard their entry point with
    ``if __name__ == "__main__":`` (``main.py`` does), as ``multiprocessing`` requires; a frozen build needs
    ``multiprocessing.freeze_support()``.
    """

    started_training = QtCore.Signal(object)  # TrainingStarted
    progressed = QtCore.Signal(object)  # TrainingProgress
    epochFinished = QtCore.Signal(object)  # models.train.EpochReport
    logged = QtCore.Signal(str)
    pausedChanged = QtCore.Signal(bool)  # the Trainer holds (True) or goes on (False)
    succeeded = QtCore.Signal(object)
    failed = QtCore.Signal(object)
    cancelled = QtCore.Signal()
    ended = QtCore.Signal()

    #: How long :meth:`stop` waits for the process to end cleanly before it is killed, milliseconds.
    STOP_TIMEOUT_MS = 60_000

    def __init__(self, plan: TrainingPlan, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("training-worker")
        self.plan = plan
        self.result: TrainResult | None = None
        self.error: BaseException | None = None
        self.was_cancelled = False
        import multiprocessing as mp

        self._ctx = mp.get_context("spawn")  # never fork a process that runs Qt threads
        self._stop = self._ctx.Event()
        self._pause = self._ctx.Event()
        self._kill = threading.Event()
        self._trainer_paused = False
        self.exit_code: int | None = None

    # --- controls (any thread) ------------------------------------------------------------------------------
    def pause(self) -> None:
        """Hold between batches until :meth:`resume` or a stop."""
        self._pause.set()

    def resume(self) -> None:
        self._pause.clear()

    def is_paused(self) -> bool:
        return self._pause.is_set()

    def trainer_paused(self) -> bool:
        """Whether the Trainer itself reported that it holds."""
        return self._trainer_paused

    def request_stop(self) -> None:
        """Stop after the current batch (the best checkpoint so far is kept, the state saved for continuing)."""
        self._stop.set()

    def stop(self, timeout_ms: int | None = None) -> bool:
        """Request a stop and wait; a process that does not end in time is killed (checkpoints are written
        atomically, so a kill never leaves half a file). False when even that did not end it."""
        self.request_stop()
        if not self.isRunning():
            return True
        if self.wait(self.STOP_TIMEOUT_MS if timeout_ms is None else timeout_ms):
            return True
        self._kill.set()
        return self.wait(10_000)

    # --- thread ---------------------------------------------------------------------------------------------
    def run(self) -> None:
        import queue as _queue

        q = self._ctx.Queue()
        proc = self._ctx.Process(
            target=training_process_main,
            args=(self.plan, q, self._stop, self._pause, os.getpid()),
            name="crossview-training",
            daemon=True,
        )
        end: tuple[str, Any] | None = None
        try:
            proc.start()
            while end is None:
                if self._kill.is_set():
                    proc.terminate()
                    break
                try:
                    kind, payload = q.get(timeout=0.1)
                except _queue.Empty:
                    if not proc.is_alive():
                        try:  # what it sent just before it ended
                            kind, payload = q.get(timeout=1.0)
                        except _queue.Empty:
                            break
                    else:
                        continue
                end = self._dispatch(kind, payload)
        except BaseException as exc:
            log.exception("training process")
            end = ("error", _error_payload(exc))
        finally:
            proc.join(10.0)
            if proc.is_alive():
                proc.kill()
                proc.join(5.0)
            self.exit_code = proc.exitcode
            q.close()
        self._finish(end)

    def _dispatch(self, kind: str, payload: Any) -> tuple[str, Any] | None:
        if kind == "end":
            return payload
        if kind == "log":
            log.info("training: %s", payload)
            self.logged.emit(str(payload))
        elif kind == "started":
            self.started_training.emit(payload)
        elif kind == "progress":
            self.progressed.emit(payload)
        elif kind == "epoch":
            self.epochFinished.emit(payload)
        elif kind == "paused":
            self._trainer_paused = bool(payload)
            self.pausedChanged.emit(bool(payload))
        return None

    def _finish(self, end: tuple[str, Any] | None) -> None:
        if end is None:
            what = "was stopped" if self._kill.is_set() else f"ended unexpectedly (exit code {self.exit_code})"
            self.error = RemoteError(
                f"the training process {what}. The best checkpoint saved so far (if any) is kept; see the log."
            )
            self.failed.emit(self.error)
        elif end[0] == "error":
            info = end[1]
            if not info.get("crossview"):
                log.error("training failed:\n%s", info.get("traceback", ""))
            self.error = _rebuild_error(info)
            self.failed.emit(self.error)
        elif end[0] == "cancelled":
            self.was_cancelled = True
            self.cancelled.emit()
        else:
            self.result = end[1]
            self.succeeded.emit(self.result)
        self.ended.emit()


# ================================================================================================ comparison


@dataclass
class Comparison:
    """Triangulation (``coarse``), the current model (``old``) and the new one (``new``) on one recording.

    ``metrics[kind]``: ``reproj_px`` (mean distance between the 3D projected into each camera and the 2D targets:
    the session's detections smoothed in time, as in training) and ``bone_std_mm`` (mean over bones of the std
    of each bone's length over frames). ``poses[kind]`` ``(F, 17, 3)`` m world, ``frame_reproj_px[kind]`` and
    ``frame_bone_dev_mm[kind]`` ``(F,)``: per frame of the first camera pair ``pair``. ``time_s`` ``(F,)``.
    """

    source: Path
    name: str
    labels: dict[str, str]
    checkpoints: dict[str, Path]
    ids: dict[str, str]
    metrics: dict[str, dict[str, float]]
    poses: dict[str, np.ndarray]
    frame_reproj_px: dict[str, np.ndarray]
    frame_bone_dev_mm: dict[str, np.ndarray]
    time_s: np.ndarray
    pair: tuple[str, str]
    cameras: Any  # core.camera.CameraGroup of the pair
    world_up: str
    world_up_reason: str
    samples: int
    trained_on: bool
    seconds: float

    @property
    def frames(self) -> int:
        return len(self.time_s)


def frame_metrics(world: np.ndarray, data: Any) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample metrics of world poses ``(N, 17, 3)`` m on a :class:`models.data.WeakData`: the mean reprojection
    error ``(N,)`` px against the 2D targets (the per-sample version of ``output_metrics``' ``reproj_px``) and
    the mean absolute deviation of the bone lengths from their session medians ``(N,)`` mm. NaN where nothing
    could be measured."""
    from core import skeleton
    from models import prep

    Xc = prep.world_to_cameras(np.nan_to_num(world), data.R.astype(np.float64), data.t.astype(np.float64))
    uv = prep.project_pinhole(Xc, data.K.astype(np.float64))
    ok = (data.target_conf > 0) & np.isfinite(world).all(-1)[:, None] & np.isfinite(data.target2d).all(-1)
    err = np.linalg.norm(uv - np.nan_to_num(data.target2d), axis=-1)
    n = ok.sum(axis=(1, 2))
    reproj = np.where(n > 0, (err * ok).sum(axis=(1, 2)) / np.maximum(n, 1), np.nan)
    lengths = skeleton.bone_lengths(world)  # (N, 16)
    dev = np.full(len(world), np.nan)
    good = np.isfinite(lengths)
    if good.any():
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # bones never measured: NaN
            med = np.nanmedian(np.where(good, lengths, np.nan), axis=0)
            d = np.abs(lengths - med[None])
            cnt = np.isfinite(d).sum(axis=1)
            dev = np.where(cnt > 0, np.nansum(d, axis=1) / np.maximum(cnt, 1), np.nan) * 1000.0
    return reproj, dev


def compare_models(
    source: str | Path,
    old: str | Path | None,
    new: str | Path,
    device: str = "auto",
    labels: dict[str, str] | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    cancel: threading.Event | None = None,
) -> Comparison | None:
    """Compare the triangulation, checkpoint ``old`` (None: the shipped model) and checkpoint ``new`` on one
    recording (a session folder, or a keypoints npz / folder with its calibration). None when cancelled.
    Raises :class:`core.errors.CrossViewError` subclasses (ModelError for a bad checkpoint, InputError for a
    recording without 2D keypoints)."""
    from core.calibration_io import infer_world_up, load_calibration
    from models.checkpoint import load_checkpoint
    from models.data import data_from_paths, load_recording, resolve_recording
    from models.train import coarse_output, output_metrics, pick_device, world_output

    t0 = time.perf_counter()
    report = progress or (lambda *_a: None)
    source = Path(source)
    if source.is_dir() and (source / "session.json").is_file() and not (source / KEYPOINTS_FILE).is_file():
        raise InputError(
            f"'{source.name}' has no 2D keypoints yet ({KEYPOINTS_FILE} is missing): Process it in the Sessions tab "
            "first, then compare on it."
        )
    report(0, 4, "loading the models")
    dev = pick_device(device)
    ck_old = load_checkpoint(old)
    ck_new = load_checkpoint(new)
    if cancel is not None and cancel.is_set():
        return None
    report(1, 4, f"reading {source.name}")
    data = data_from_paths([source])
    kp_path, cal_path = resolve_recording(source)
    rec = load_recording(kp_path, cal_path, name=source.name)
    cal = load_calibration(cal_path)
    up, why = infer_world_up(cal, cal.group, allowed=("+z", "-y", "+y"))
    if cancel is not None and cancel.is_set():
        return None
    report(2, 4, "refining with both models")
    worlds = {
        "coarse": coarse_output(data),
        "old": world_output(ck_old.build_model(dev), data, dev),
        "new": world_output(ck_new.build_model(dev), data, dev),
    }
    if cancel is not None and cancel.is_set():
        return None
    report(3, 4, "measuring")
    metrics = {k: output_metrics(w, data) for k, w in worlds.items()}
    first = data.seq == data.seq.min()  # the first camera pair, in frame order
    order = np.argsort(data.frame[first], kind="stable")
    sub = data.subset(np.flatnonzero(first)[order])
    per_frame = {k: frame_metrics(w[first][order], sub) for k, w in worlds.items()}
    pair_name = data.names.get("session0.pair0", "+".join(rec.cameras.names[:2]))
    pair = tuple(pair_name.split("+", 1)) if "+" in pair_name else tuple(rec.cameras.names[:2])
    trained = {str(Path(p).expanduser().resolve()) for p in (ck_new.meta.get("data") or []) if isinstance(p, str)}
    report(4, 4, "done")
    return Comparison(
        source=source,
        name=source.name,
        labels=dict(
            labels or {"coarse": "Triangulation", "old": f"Current {ck_old.id[:8]}", "new": f"New {ck_new.id[:8]}"}
        ),
        checkpoints={"old": Path(ck_old.path or ""), "new": Path(ck_new.path or "")},
        ids={"coarse": "", "old": ck_old.id, "new": ck_new.id},
        metrics=metrics,
        poses={k: np.asarray(w[first][order], np.float64) for k, w in worlds.items()},
        frame_reproj_px={k: v[0] for k, v in per_frame.items()},
        frame_bone_dev_mm={k: v[1] for k, v in per_frame.items()},
        time_s=sub.frame.astype(np.float64) / max(rec.fps, 1e-6),
        pair=(str(pair[0]), str(pair[1])),
        cameras=rec.cameras.subset(list(pair)),
        world_up=up,
        world_up_reason=why,
        samples=len(data),
        trained_on=str(source.expanduser().resolve()) in trained,
        seconds=time.perf_counter() - t0,
    )


def compare_task(
    source: str | Path, old: str | Path | None, new: str | Path, device: str = "auto", labels: dict | None = None
) -> Task:
    """:func:`compare_models` in a :class:`Task` (result: a :class:`Comparison`, or cancelled)."""

    def run(progress: Callable[[int, int, str], None], cancel: threading.Event) -> Comparison | None:
        return compare_models(source, old, new, device, labels, progress, cancel)

    return Task(run, "training-compare", f"Comparing models on {Path(source).name}")
