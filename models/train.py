"""Weakly-supervised training of CV-UGCN: the Trainer, and headless entry points for the CLI and GUI workers.

No 3D ground truth reaches a loss: the Trainer trains on :class:`models.data.WeakData` (which cannot hold
it); an optional ``val_truth (N_val, 17, 3)`` m is used only to report MPJPE.

Paper settings (docs/cv_ugcn.md): Amsgrad, learning rate 1e-3 multiplied by 0.9 when the (validation) loss
has not improved for 10 epochs, batch 256. Batches are made of windows of ``window`` consecutive frames
(for the smoothness term); windows never cross a clip.

Files written next to ``out`` (rank 0 only under DDP):

* ``out`` - the best checkpoint so far (lowest validation loss), updated as training goes; stopping early
  keeps it. Written with :func:`models.checkpoint.save_checkpoint`.
* ``<out>.state.pt`` - everything needed to resume (weights, optimiser, scheduler, epoch, RNG states,
  history), written every ``checkpoint_every`` epochs and when training stops.

DistributedDataParallel: run under ``torchrun`` (``RANK``/``WORLD_SIZE`` in the environment) and the Trainer
initialises the process group (gloo on CPU, nccl on CUDA), shards windows with a DistributedSampler and
averages gradients; rank 0 validates and saves.
"""

from __future__ import annotations

import math
import os
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from core import skeleton
from core.atomic import atomic_output, write_error
from core.errors import InputError, ModelError

from . import prep
from .checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from .cvugcn import CVUGCN, CVUGCNConfig, count_parameters
from .data import WeakData, data_from_paths, split, windows
from .losses import LossConfig, compute_losses
from .reports import BatchReport, EpochReport, TrainResult

Log = Callable[[str], None]


@dataclass
class TrainConfig:
    """Training settings. ``epoch_samples`` caps the samples seen per epoch (None = all windows)."""

    epochs: int = 100
    lr: float = 1e-3
    batch_size: int = 256
    window: int = 4
    plateau_patience: int = 10
    plateau_factor: float = 0.9
    early_stop_patience: int = 0  #: epochs without validation improvement before stopping; 0 = never
    checkpoint_every: int = 5
    seed: int = 0
    device: str = "auto"
    epoch_samples: int | None = None
    weight_decay: float = 0.0
    grad_clip: float = 10.0
    val_batch: int = 4096
    combine: str = "agreement"
    half_checkpoint: bool = True
    threads: int | None = None  #: torch intra-op threads on CPU (None = torch's default)
    loss: LossConfig = field(default_factory=LossConfig)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["loss"] = self.loss.to_dict()
        return d


def pick_device(device: str = "auto") -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cuda`` without a GPU is a clear ModelError."""
    if device in ("auto", None, ""):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise ModelError("--device cuda was asked for but no CUDA GPU is available; use --device cpu.")
    if str(device) not in ("cpu",) and not str(device).startswith("cuda"):
        raise ModelError(f"unknown device {device!r}; use cuda, cpu or auto.")
    return torch.device(device)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _ddp_env() -> tuple[int, int] | None:
    if "RANK" in os.environ and "WORLD_SIZE" in os.environ and int(os.environ["WORLD_SIZE"]) > 1:
        return int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    return None


class _Tensors:
    """The training arrays of a WeakData as float32 tensors on one device (relative poses precomputed)."""

    def __init__(self, d: WeakData, device: torch.device, cfg: CVUGCNConfig) -> None:
        R21, t21 = prep.relative_pose_21(d.R.astype(np.float64), d.t.astype(np.float64))
        f = lambda a: torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float32, device=device)  # noqa: E731
        self.x = f(d.x)
        self.frame_feat = self.x if cfg.inputs == "xyz" else f(d.features(cfg.inputs))
        self.inputs, self.past = cfg.inputs, cfg.past
        windowed = cfg.past + cfg.future > 0
        self.nbr = torch.as_tensor(d.neighbours(cfg.past, cfg.future), device=device) if windowed else None
        self.root = f(d.root)
        self.K = f(d.K)
        self.R21 = f(R21)
        self.t21 = f(t21)
        self.target2d = f(np.nan_to_num(d.target2d))
        self.conf = f(d.target_conf)
        self.bone = f(d.bone_target)

    def batch(self, idx: torch.Tensor) -> dict[str, torch.Tensor]:
        keys = ("x", "root", "K", "R21", "t21", "target2d", "conf", "bone")
        out = {k: getattr(self, k)[idx] for k in keys}
        if self.nbr is None:
            out["feat"] = self.frame_feat[idx]
        else:
            out["feat"] = prep.window_features(self.frame_feat, self.root, self.nbr[idx], self.past, self.inputs)
        return out


def model_inputs(model: torch.nn.Module) -> str:
    """The input kind (``CVUGCNConfig.inputs``) of a model, unwrapping DistributedDataParallel."""
    return str(model_config(model).inputs)


def model_config(model: torch.nn.Module) -> CVUGCNConfig:
    """The config of a model, unwrapping DistributedDataParallel."""
    return getattr(model, "module", model).config


def network_input(data: WeakData, cfg: CVUGCNConfig) -> np.ndarray:
    """What a model of ``cfg`` sees for every sample of ``data``: ``(N, V, J, cfg.in_dim)`` float32."""
    feat = data.features(cfg.inputs)
    if cfg.past + cfg.future == 0:
        return feat
    nbr = data.neighbours(cfg.past, cfg.future)
    return prep.window_features(feat, data.root.astype(np.float32), nbr, cfg.past, cfg.inputs)


def _losses(model: torch.nn.Module, b: dict[str, torch.Tensor], cfg: LossConfig, window: int):
    residual = model(b["feat"])
    X = prep.restore(b["x"] + residual, b["root"])
    return compute_losses(X, b["R21"], b["t21"], b["K"], b["target2d"], b["conf"], cfg, b["bone"], window)


@torch.no_grad()
def predict_camera_frames(
    model: torch.nn.Module, data: WeakData, device: torch.device, batch: int = 4096
) -> np.ndarray:
    """Refined absolute camera-frame poses ``(N, V, J, 3)`` m of ``data`` (inputs as the model's config asks)."""
    model.eval()
    x, root = data.x, data.root
    feat = network_input(data, model_config(model))
    out = np.empty(x.shape, dtype=np.float64)
    for s in range(0, len(x), batch):
        xb = torch.as_tensor(np.ascontiguousarray(feat[s : s + batch]), dtype=torch.float32, device=device)
        res = model(xb).double().cpu().numpy()
        out[s : s + batch] = x[s : s + batch] + res + root[s : s + batch, :, None]
    return out


def evaluate(
    model: torch.nn.Module,
    data: WeakData,
    device: torch.device,
    loss_config: LossConfig,
    truth: np.ndarray | None = None,
    combine: str = "agreement",
    batch: int = 4096,
    window: int = 1,
) -> dict[str, float]:
    """Validation losses and metrics of ``model`` on ``data`` (eval mode).

    Metrics: ``reproj_px`` mean distance (px) between the output world pose projected into each view and the
    2D targets; ``bone_std_mm`` mean over sessions and bones of the std of bone length; with ``truth``
    (measuring only): ``mpjpe_mm`` (root-aligned) and ``mpjpe_abs_mm``. Losses: each term and ``loss``.
    """
    model.eval()
    out: dict[str, float] = {}
    loss_config = replace(loss_config, temporal=0.0)  # validation samples are not windows of frames
    T = _Tensors(data, device, model_config(model))
    n = len(data)
    sums: dict[str, float] = {}
    with torch.no_grad():
        for s in range(0, n, batch):
            idx = torch.arange(s, min(n, s + batch), device=device)
            total, terms = _losses(model, T.batch(idx), loss_config, 1)
            w = len(idx) / n
            sums["loss"] = sums.get("loss", 0.0) + float(total) * w
            for k, v in terms.items():
                sums[k] = sums.get(k, 0.0) + float(v) * w
    out.update(sums)
    refined = world_output(model, data, device, combine, batch)
    out.update(output_metrics(refined, data, truth))
    return out


def world_output(
    model: torch.nn.Module, data: WeakData, device: torch.device, combine: str = "agreement", batch: int = 4096
) -> np.ndarray:
    """The product's output on ``data``: refined world poses ``(N, 17, 3)`` m (NaN where the input was missing)."""
    cam = predict_camera_frames(model, data, device, batch)
    return prep.finish(cam, data.prepared(), data.input2d, data.input_conf, data.cameras(), mode=combine)


def coarse_output(data: WeakData) -> np.ndarray:
    """The triangulation alone, in the world: ``(N, 17, 3)`` m (NaN where missing)."""
    cam = data.x.astype(np.float64) + data.root[:, :, None]
    return prep.finish(cam, data.prepared(), None, None, None, mode="view1")


def reprojection_errors(world: np.ndarray, data: WeakData) -> tuple[np.ndarray, np.ndarray]:
    """World poses ``(N, 17, 3)`` m projected into each view against the 2D targets: the distances
    ``(N, V, J)`` px and where they measure something ``(N, V, J)`` bool (a target with confidence, a joint)."""
    Xc = prep.world_to_cameras(np.nan_to_num(world), data.R.astype(np.float64), data.t.astype(np.float64))
    uv = prep.project_pinhole(Xc, data.K.astype(np.float64))
    ok = (data.target_conf > 0) & np.isfinite(world).all(-1)[:, None] & np.isfinite(data.target2d).all(-1)
    err = np.linalg.norm(uv - np.nan_to_num(data.target2d), axis=-1)
    return err, ok


def jitter_mm(world: np.ndarray, seq: np.ndarray, frame: np.ndarray) -> float:
    """Mean magnitude (mm per frame²) of the second difference of every joint of ``world (N, 17, 3)`` m over
    three consecutive frames of one sequence (``seq``, ``frame`` ``(N,)``); NaN when no three are consecutive.
    Lower is smoother; the truth of a real motion has some too."""
    order = np.lexsort((frame, seq))
    X, q, f = world[order], seq[order], frame[order]
    ok = (q[2:] == q[:-2]) & (f[1:-1] == f[:-2] + 1) & (f[2:] == f[:-2] + 2)
    if not ok.any():
        return float("nan")
    a = np.linalg.norm(X[2:][ok] - 2 * X[1:-1][ok] + X[:-2][ok], axis=-1)  # (M, 17)
    return float(np.nanmean(a) * 1000) if np.isfinite(a).any() else float("nan")


def output_metrics(world: np.ndarray, data: WeakData, truth: np.ndarray | None = None) -> dict[str, float]:
    """Label-free metrics of world poses ``(N, 17, 3)``: ``reproj_px``, ``bone_std_mm``, ``jitter_mm``
    (:func:`jitter_mm`), + MPJPE in mm when ``truth`` is given."""
    out: dict[str, float] = {}
    err, ok = reprojection_errors(world, data)
    out["reproj_px"] = float(err[ok].mean()) if ok.any() else float("nan")
    lengths = skeleton.bone_lengths(world)  # (N, 16)
    stds = []
    for g in np.unique(data.group):
        lg = lengths[data.group == g]
        enough = np.isfinite(lg).sum(0) >= 2  # bones seen at least twice in this session
        if enough.any():
            stds.append(np.nanstd(lg[:, enough], axis=0))
    out["bone_std_mm"] = float(np.mean(np.concatenate(stds)) * 1000) if stds else float("nan")
    out["jitter_mm"] = jitter_mm(world, data.seq, data.frame)
    if truth is not None:
        out["mpjpe_mm"] = skeleton.mpjpe(world, truth) * 1000
        out["mpjpe_abs_mm"] = skeleton.mpjpe(world, truth, root_aligned=False) * 1000
    return out


@dataclass
class _FitState:
    """What one :meth:`Trainer.fit` changes as it goes (the loop's state)."""

    device: torch.device
    rank: int
    world: int
    ddp: bool
    model: CVUGCN
    net: torch.nn.Module  #: the model, or its DistributedDataParallel wrapper
    opt: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.ReduceLROnPlateau
    tensors: _Tensors | None = None  #: the training arrays on the device
    window: int = 1
    per_rank_batch: int = 1
    start_epoch: int = 0
    epoch: int = -1
    best: float = math.inf
    best_epoch: int = -1
    best_val: dict[str, float] = field(default_factory=dict)
    best_id: str = ""
    history: list[dict[str, Any]] = field(default_factory=list)
    bad_epochs: int = 0
    seen: int = 0
    t_start: float = 0.0
    stopped: str = "finished"


class Trainer:
    """Trains a CV-UGCN on weak data. Thread-safe controls: :meth:`stop`, :meth:`pause`, :meth:`resume`.

    ``init`` (a checkpoint path or :class:`Checkpoint`) starts from its weights (fine-tuning) and takes its
    model config; otherwise ``model_config`` (default: narrow) builds a fresh network.
    Callbacks: ``on_progress(BatchReport)`` between batches, ``on_epoch(EpochReport)`` after each epoch, ``log(str)``.
    """

    def __init__(
        self,
        train: WeakData,
        val: WeakData | None,
        out: str | os.PathLike,
        config: TrainConfig | None = None,
        model_config: CVUGCNConfig | None = None,
        init: str | os.PathLike | Checkpoint | None = None,
        val_truth: np.ndarray | None = None,
        meta: dict[str, Any] | None = None,
        on_progress: Callable[[BatchReport], None] | None = None,
        on_epoch: Callable[[EpochReport], None] | None = None,
        log: Log | None = None,
    ) -> None:
        if not isinstance(train, WeakData):
            raise TypeError("train must be a models.data.WeakData (it can never carry 3D truth)")
        if len(train) == 0:
            raise InputError("no training samples.")
        self.cfg = config or TrainConfig()
        self.train_data = train
        self.val_data = val if val is not None and len(val) else None
        if val_truth is not None and (self.val_data is None or len(val_truth) != len(self.val_data)):
            raise ValueError("val_truth must have one pose per validation sample")
        self.val_truth = val_truth
        self.out = Path(out)
        self.state_path = self.out.with_name(self.out.name + ".state.pt")
        self.meta = dict(meta or {})
        self.on_progress = on_progress
        self.on_epoch = on_epoch
        self.log = log or (lambda s: None)
        self._run = threading.Event()
        self._run.set()
        self._stop = threading.Event()
        self.init_id: str | None = None
        if init is not None:
            ck = init if isinstance(init, Checkpoint) else load_checkpoint(init)
            self.model_config = ck.model_config
            self.init_state = ck.state_dict
            self.init_id = ck.id
        else:
            self.model_config = model_config or CVUGCNConfig.narrow()
            self.init_state = None

    # -- controls (any thread) ------------------------------------------------------------------
    def stop(self) -> None:
        """Stop after the current batch; the best checkpoint so far is kept and the state saved for resuming."""
        self._stop.set()
        self._run.set()

    def pause(self) -> None:
        """Hold between batches until :meth:`resume` (or :meth:`stop`)."""
        self._run.clear()

    def resume(self) -> None:
        self._run.set()

    @property
    def paused(self) -> bool:
        return not self._run.is_set()

    # -- training ---------------------------------------------------------------------------------
    def fit(self, resume_from: str | os.PathLike | None = None) -> TrainResult:
        """Train; with ``resume_from`` (a ``.state.pt``), continue an interrupted run where it stopped."""
        cfg = self.cfg
        ddp = _ddp_env()
        rank, world = ddp if ddp else (0, 1)
        device = pick_device(cfg.device)
        if ddp and device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
            torch.cuda.set_device(device)
        own_pg = False
        if ddp and not dist.is_initialized():
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
            own_pg = True
        try:
            return self._fit(device, rank, world, bool(ddp), resume_from)
        finally:
            if own_pg:
                dist.destroy_process_group()

    def _fit(self, device: torch.device, rank: int, world: int, ddp: bool, resume_from) -> TrainResult:
        run = self._start_run(device, rank, world, ddp, resume_from)
        for epoch in range(run.start_epoch, self.cfg.epochs):
            run.epoch = epoch
            t_epoch = time.perf_counter()
            train_losses, count = self._train_epoch(run, epoch)
            if run.stopped == "stopped" and count == 0:
                run.epoch -= 1
                break
            if not self._end_epoch(run, epoch, train_losses, t_epoch):
                break
        return self._finish_run(run)

    def _start_run(self, device: torch.device, rank: int, world: int, ddp: bool, resume_from) -> _FitState:
        """Seed, build the network and the optimiser (resuming their state when asked), and say what runs."""
        cfg = self.cfg
        if cfg.threads and device.type == "cpu":
            torch.set_num_threads(int(cfg.threads))
        seed_everything(cfg.seed)
        model = CVUGCN(self.model_config).to(device)
        if self.init_state is not None:
            model.load_state_dict(self.init_state)
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, amsgrad=True, weight_decay=cfg.weight_decay)
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
            opt, mode="min", factor=cfg.plateau_factor, patience=cfg.plateau_patience
        )
        run = _FitState(device, rank, world, ddp, model, model, opt, sched)
        if resume_from is not None:
            self._resume(run, resume_from)
        if ddp:
            run.net = torch.nn.parallel.DistributedDataParallel(model)
        run.tensors = _Tensors(self.train_data, device, self.model_config)
        run.window = max(1, cfg.window if cfg.loss.temporal else 1)
        run.per_rank_batch = max(1, cfg.batch_size // world)
        if rank == 0:
            self._log_start(run)
        run.t_start = time.perf_counter()
        run.epoch = run.start_epoch - 1
        run.bad_epochs = 0 if run.best_epoch < 0 else (run.start_epoch - 1 - run.best_epoch)
        return run

    def _resume(self, run: _FitState, resume_from: str | os.PathLike) -> None:
        st = _load_state(resume_from)
        run.model.load_state_dict(st["model"])
        run.opt.load_state_dict(st["optimizer"])
        run.sched.load_state_dict(st["scheduler"])
        run.start_epoch, run.best, run.best_epoch = int(st["epoch"]) + 1, float(st["best"]), int(st["best_epoch"])
        run.history, run.best_val, run.best_id = list(st["history"]), dict(st["best_val"]), str(st["best_id"])
        torch.set_rng_state(st["torch_rng"])
        self.log(f"resuming after epoch {run.start_epoch} from {resume_from}")

    def _log_start(self, run: _FitState) -> None:
        n_params = count_parameters(run.model)
        val = "no validation" if self.val_data is None else f"{len(self.val_data)} validation samples"
        procs = f", {run.world} processes" if run.ddp else ""
        self.log(
            f"training CV-UGCN ({n_params / 1e6:.2f} M parameters) on {len(self.train_data)} samples, "
            f"{val}, device {run.device}{procs}, losses {', '.join(self.cfg.loss.active())}"
        )
        if self.val_data is not None and run.start_epoch == 0:
            base = output_metrics(coarse_output(self.val_data), self.val_data, self.val_truth)
            self.log("triangulation alone on validation: " + " ".join(f"{k}={v:.4g}" for k, v in base.items()))

    def _wait_while_paused(self) -> None:
        if not self._run.is_set():
            while not self._run.wait(0.2):
                pass

    def _train_epoch(self, run: _FitState, epoch: int) -> tuple[dict[str, float], int]:
        """One pass over this epoch's windows: ``({term: mean loss}, samples trained on)``; a stop ends it early."""
        cfg = self.cfg
        run.net.train()
        W = windows(self.train_data, run.window, offset=epoch)
        order = self._epoch_order(len(W), epoch, run.rank, run.world, run.ddp)
        wins_per_batch = max(1, run.per_rank_batch // run.window)
        n_batches = max(1, math.ceil(len(order) / wins_per_batch))
        sums: dict[str, float] = {}
        count = 0
        for bi in range(n_batches):
            self._wait_while_paused()
            if self._stop.is_set():
                run.stopped = "stopped"
                break
            sel = order[bi * wins_per_batch : (bi + 1) * wins_per_batch]
            if len(sel) * run.window < 2:  # BatchNorm needs 2+ samples
                continue
            idx = torch.as_tensor(W[sel].reshape(-1), device=run.device)
            assert run.tensors is not None
            total, terms = _losses(run.net, run.tensors.batch(idx), cfg.loss, run.window)
            run.opt.zero_grad(set_to_none=True)
            total.backward()
            if cfg.grad_clip:
                torch.nn.utils.clip_grad_norm_(run.model.parameters(), cfg.grad_clip)
            run.opt.step()
            nb = len(idx)
            run.seen += nb * run.world
            count += nb
            sums["loss"] = sums.get("loss", 0.0) + float(total.detach()) * nb
            for k, v in terms.items():
                sums[k] = sums.get(k, 0.0) + float(v.detach()) * nb
            if self.on_progress and run.rank == 0:
                self.on_progress(self._batch_report(run, epoch, bi + 1, n_batches, float(total.detach())))
        train_losses = {k: v / max(count, 1) for k, v in sums.items()}
        if run.ddp:
            train_losses = _all_reduce_mean(train_losses, run.device)
        return train_losses, count

    def _batch_report(self, run: _FitState, epoch: int, batch: int, n_batches: int, loss: float) -> BatchReport:
        epochs = self.cfg.epochs
        done = (epoch - run.start_epoch + batch / n_batches) / max(epochs - run.start_epoch, 1)
        el = time.perf_counter() - run.t_start
        eta = el / done * (1 - done) if done > 0 else None
        return BatchReport(epoch, epochs, batch, n_batches, (epoch + batch / n_batches) / epochs, eta, loss)

    def _end_epoch(self, run: _FitState, epoch: int, train_losses: dict[str, float], t_epoch: float) -> bool:
        """Validate, step the scheduler, keep the best model, report and save the state; False: stop now.

        ``t_epoch``: when the epoch began (``time.perf_counter()``)."""
        cfg = self.cfg
        val = {}
        if self.val_data is not None:
            val = evaluate(run.model, self.val_data, run.device, cfg.loss, self.val_truth, cfg.combine, cfg.val_batch)
        monitor = val.get("loss", train_losses.get("loss", math.inf))
        run.sched.step(monitor)
        is_best = monitor < run.best
        if is_best:
            run.best, run.best_epoch, run.best_val, run.bad_epochs = monitor, epoch, dict(val or train_losses), 0
            if run.rank == 0:
                run.best_id = self._save_best(run.model, epoch, train_losses, val)
        else:
            run.bad_epochs += 1
        lr = run.opt.param_groups[0]["lr"]
        run.history.append({"epoch": epoch, "train": train_losses, "val": val, "lr": lr})
        report = EpochReport(epoch, train_losses, val, lr, is_best, time.perf_counter() - t_epoch)
        if run.rank == 0:
            self.log(_format_epoch(report))
            if self.on_epoch:
                self.on_epoch(report)
        if run.rank == 0 and cfg.checkpoint_every and (epoch + 1) % cfg.checkpoint_every == 0:
            self._save_state(run)
        if run.stopped == "stopped":
            return False
        if cfg.early_stop_patience and run.bad_epochs >= cfg.early_stop_patience:
            run.stopped = "early_stopping"
            if run.rank == 0:
                self.log(f"early stopping: no validation improvement for {run.bad_epochs} epochs")
            return False
        return True

    def _finish_run(self, run: _FitState) -> TrainResult:
        if run.rank == 0:
            self._save_state(run)
            if not run.best_id:  # nothing completed (stopped in the first epoch): keep the current weights
                run.best_id = self._save_best(run.model, max(run.epoch, 0), {}, {})
        if run.ddp:
            dist.barrier()
        elapsed = time.perf_counter() - run.t_start
        return TrainResult(
            checkpoint=self.out,
            checkpoint_id=run.best_id,
            epochs_run=run.epoch + 1 - run.start_epoch,
            best_epoch=run.best_epoch,
            best_val=run.best_val,
            stopped=run.stopped,
            history=run.history,
            seconds=elapsed,
            samples_per_second=run.seen / elapsed if elapsed > 0 else 0.0,
        )

    def _epoch_order(self, n_windows: int, epoch: int, rank: int, world: int, ddp: bool) -> np.ndarray:
        """Shuffled window order for this epoch (deterministic in seed and epoch), sharded under DDP."""
        cfg = self.cfg
        if ddp:
            from torch.utils.data import DistributedSampler

            sampler = DistributedSampler(range(n_windows), num_replicas=world, rank=rank, shuffle=True, seed=cfg.seed)
            sampler.set_epoch(epoch)
            order = np.fromiter(iter(sampler), dtype=np.int64)
        else:
            order = np.random.default_rng([cfg.seed, epoch]).permutation(n_windows)
        if cfg.epoch_samples:
            win = max(1, cfg.window if cfg.loss.temporal else 1)
            order = order[: max(1, cfg.epoch_samples // (win * world))]
        return order

    def _meta(self, epoch: int, train_losses: dict, val: dict) -> dict[str, Any]:
        return {
            **self.meta,
            "epoch": epoch,
            "train_losses": train_losses,
            "val_metrics": val,
            "train_config": self.cfg.to_dict(),
            "init_checkpoint_id": self.init_id,
            "train_samples": len(self.train_data),
            "val_samples": len(self.val_data) if self.val_data is not None else 0,
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "torch": torch.__version__,
        }

    def _save_best(self, model: torch.nn.Module, epoch: int, train_losses: dict, val: dict) -> str:
        return save_checkpoint(
            self.out, model, self.model_config, self._meta(epoch, train_losses, val), half=self.cfg.half_checkpoint
        )

    def _save_state(self, run: _FitState) -> None:
        st = {
            "kind": "crossview-train-state",
            "model": {k: v.detach().cpu() for k, v in run.model.state_dict().items()},
            "model_config": self.model_config.to_dict(),
            "optimizer": run.opt.state_dict(),
            "scheduler": run.sched.state_dict(),
            "epoch": run.epoch,
            "best": run.best,
            "best_epoch": run.best_epoch,
            "best_val": run.best_val,
            "best_id": run.best_id,
            "history": run.history,
            "torch_rng": torch.get_rng_state(),
            "train_config": self.cfg.to_dict(),
        }
        with atomic_output(self.state_path, error=write_error(ModelError, "training state")) as tmp:
            torch.save(st, tmp)


def _load_state(path: str | os.PathLike) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"training state '{path}' does not exist; start a new training instead of resuming.")
    try:
        st = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ModelError(f"training state '{path}' is damaged ({type(exc).__name__}); start a new training.") from None
    if not isinstance(st, dict) or st.get("kind") != "crossview-train-state":
        raise ModelError(f"'{path}' is not a CrossView training state file.")
    return st


def _all_reduce_mean(d: dict[str, float], device: torch.device) -> dict[str, float]:
    keys = sorted(d)
    t = torch.tensor([d[k] for k in keys], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    t /= dist.get_world_size()
    return dict(zip(keys, t.tolist()))


def _format_epoch(r: EpochReport) -> str:
    tr = " ".join(f"{k}={v:.4g}" for k, v in r.train.items())
    va = " ".join(f"{k}={v:.4g}" for k, v in r.val.items())
    return f"epoch {r.epoch + 1}: train {tr} | val {va} | lr {r.lr:.3g}{' *' if r.best else ''} ({r.seconds:.1f} s)"


# ----------------------------------------------------------------------------- headless entry points


def train_from_paths(
    sessions: Sequence[str | os.PathLike],
    epochs: int,
    device: str,
    init_checkpoint: str | os.PathLike | None,
    out: str | os.PathLike,
    lr: float = 1e-3,
    batch_size: int = 256,
    log: Log = print,
    loss_preset: str = "finetune",
    seed: int = 0,
    resume: bool = False,
    on_progress: Callable[[BatchReport], None] | None = None,
    on_epoch: Callable[[EpochReport], None] | None = None,
) -> dict[str, Any]:
    """Fine-tune (or train) CV-UGCN on recorded sessions; for ``python main.py train SESSION... --out CKPT``.

    ``sessions``: session folders (``keypoints2d.npz`` + ``calibration.toml``) or keypoints npz files with a
    calibration TOML beside them. ``init_checkpoint``: start from these weights (None = the shipped model;
    pass ``"scratch"`` for a fresh network). ``resume``: continue from ``<out>.state.pt`` when it exists.
    Returns a JSON-able summary. Raises :class:`core.errors.CrossViewError` subclasses on bad input.
    """
    from .checkpoint import DEFAULT_CHECKPOINT

    if epochs < 1:
        raise InputError(f"--epochs must be at least 1, got {epochs}.")
    data = data_from_paths(sessions, log=log)
    train, val, how = split(data, seed=seed)
    log(f"validation split {how}: {len(train)} training / {len(val)} validation samples")
    init = None if init_checkpoint == "scratch" else (init_checkpoint or DEFAULT_CHECKPOINT)
    cfg = TrainConfig(
        epochs=epochs, lr=lr, batch_size=batch_size, device=device, seed=seed, loss=LossConfig.preset(loss_preset)
    )
    trainer = Trainer(
        train,
        val,
        out,
        cfg,
        init=init,
        meta={"data": [str(s) for s in sessions], "split": how, "seed": seed, "loss_preset": loss_preset},
        on_progress=on_progress,
        on_epoch=on_epoch,
        log=log,
    )
    state = trainer.state_path if resume and trainer.state_path.is_file() else None
    res = trainer.fit(resume_from=state)
    summary = {
        "out": str(res.checkpoint),
        "checkpoint_id": res.checkpoint_id,
        "epochs_run": res.epochs_run,
        "best_epoch": res.best_epoch + 1,
        "stopped": res.stopped,
        "best_val": res.best_val,
        "seconds": round(res.seconds, 2),
        "samples_per_second": round(res.samples_per_second, 1),
    }
    log(f"best model (epoch {summary['best_epoch']}, id {res.checkpoint_id}) -> {res.checkpoint}")
    return summary


__all__ = [
    "BatchReport",
    "EpochReport",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "coarse_output",
    "evaluate",
    "output_metrics",
    "pick_device",
    "reprojection_errors",
    "train_from_paths",
    "world_output",
]
