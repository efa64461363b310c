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
from core.errors import InputError, ModelError

from . import prep
from .checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from .cvugcn import CVUGCN, CVUGCNConfig, count_parameters
from .data import WeakData, data_from_paths, split, windows
from .losses import LossConfig, compute_losses

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


@dataclass
class Progress:
    """Reported between batches: overall fraction done in [0, 1], seconds left (None until known)."""

    epoch: int
    epochs: int
    batch: int
    batches: int
    fraction: float
    eta_s: float | None
    loss: float


@dataclass
class EpochReport:
    """Reported after each epoch: per-term training losses, validation losses and metrics, learning rate."""

    epoch: int
    train: dict[str, float]
    val: dict[str, float]
    lr: float
    best: bool
    seconds: float


@dataclass
class TrainResult:
    """What :meth:`Trainer.fit` did."""

    checkpoint: Path
    checkpoint_id: str
    epochs_run: int
    best_epoch: int
    best_val: dict[str, float]
    stopped: str  # "finished" | "early_stopping" | "stopped"
    history: list[dict[str, Any]]
    seconds: float
    samples_per_second: float


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

    def __init__(self, d: WeakData, device: torch.device) -> None:
        R21, t21 = prep.relative_pose_21(d.R.astype(np.float64), d.t.astype(np.float64))
        f = lambda a: torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float32, device=device)  # noqa: E731
        self.x = f(d.x)
        self.root = f(d.root)
        self.K = f(d.K)
        self.R21 = f(R21)
        self.t21 = f(t21)
        self.target2d = f(np.nan_to_num(d.target2d))
        self.conf = f(d.target_conf)
        self.bone = f(d.bone_target)

    def batch(self, idx: torch.Tensor) -> dict[str, torch.Tensor]:
        return {k: getattr(self, k)[idx] for k in ("x", "root", "K", "R21", "t21", "target2d", "conf", "bone")}


def _losses(model: torch.nn.Module, b: dict[str, torch.Tensor], cfg: LossConfig, window: int):
    residual = model(b["x"])
    X = prep.restore_t(b["x"], residual, b["root"])
    return compute_losses(X, b["R21"], b["t21"], b["K"], b["target2d"], b["conf"], cfg, b["bone"], window)


@torch.no_grad()
def predict_camera_frames(
    model: torch.nn.Module, x: np.ndarray, root: np.ndarray, device: torch.device, batch: int = 4096
) -> np.ndarray:
    """Refined absolute camera-frame poses ``(N, V, J, 3)`` m from inputs ``x (N, V, J, 3)``, ``root (N, V, 3)``."""
    model.eval()
    out = np.empty(x.shape, dtype=np.float64)
    for s in range(0, len(x), batch):
        xb = torch.as_tensor(np.ascontiguousarray(x[s : s + batch]), dtype=torch.float32, device=device)
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
    T = _Tensors(data, device)
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
    cam = predict_camera_frames(model, data.x, data.root, device, batch)
    return prep.finish(cam, data.prepared(), data.input2d, data.input_conf, data.cameras(), mode=combine)


def coarse_output(data: WeakData) -> np.ndarray:
    """The triangulation alone, in the world: ``(N, 17, 3)`` m (NaN where missing)."""
    cam = data.x.astype(np.float64) + data.root[:, :, None]
    return prep.finish(cam, data.prepared(), None, None, None, mode="view1")


def output_metrics(world: np.ndarray, data: WeakData, truth: np.ndarray | None = None) -> dict[str, float]:
    """Label-free metrics of world poses ``(N, 17, 3)`` (+ MPJPE in mm when ``truth`` is given)."""
    out: dict[str, float] = {}
    Xc = prep.world_to_cameras(np.nan_to_num(world), data.R.astype(np.float64), data.t.astype(np.float64))
    uv = prep.project_pinhole(Xc, data.K.astype(np.float64))
    ok = (data.target_conf > 0) & np.isfinite(world).all(-1)[:, None] & np.isfinite(data.target2d).all(-1)
    err = np.linalg.norm(uv - np.nan_to_num(data.target2d), axis=-1)
    out["reproj_px"] = float(err[ok].mean()) if ok.any() else float("nan")
    lengths = skeleton.bone_lengths(world)  # (N, 16)
    stds = []
    for g in np.unique(data.group):
        lg = lengths[data.group == g]
        enough = np.isfinite(lg).sum(0) >= 2  # bones seen at least twice in this session
        if enough.any():
            stds.append(np.nanstd(lg[:, enough], axis=0))
    out["bone_std_mm"] = float(np.mean(np.concatenate(stds)) * 1000) if stds else float("nan")
    if truth is not None:
        out["mpjpe_mm"] = skeleton.mpjpe(world, truth) * 1000
        out["mpjpe_abs_mm"] = skeleton.mpjpe(world, truth, root_aligned=False) * 1000
    return out


class Trainer:
    """Trains a CV-UGCN on weak data. Thread-safe controls: :meth:`stop`, :meth:`pause`, :meth:`resume`.

    ``init`` (a checkpoint path or :class:`Checkpoint`) starts from its weights (fine-tuning) and takes its
    model config; otherwise ``model_config`` (default: narrow) builds a fresh network.
    Callbacks: ``on_progress(Progress)`` between batches, ``on_epoch(EpochReport)`` after each epoch, ``log(str)``.
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
        on_progress: Callable[[Progress], None] | None = None,
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
        start_epoch, best, best_epoch, history = 0, math.inf, -1, []
        best_val: dict[str, float] = {}
        best_id = ""
        if resume_from is not None:
            st = _load_state(resume_from)
            model.load_state_dict(st["model"])
            opt.load_state_dict(st["optimizer"])
            sched.load_state_dict(st["scheduler"])
            start_epoch, best, best_epoch = int(st["epoch"]) + 1, float(st["best"]), int(st["best_epoch"])
            history, best_val, best_id = list(st["history"]), dict(st["best_val"]), str(st["best_id"])
            torch.set_rng_state(st["torch_rng"])
            self.log(f"resuming after epoch {start_epoch} from {resume_from}")
        net: torch.nn.Module = model
        if ddp:
            net = torch.nn.parallel.DistributedDataParallel(model)
        T = _Tensors(self.train_data, device)
        win = max(1, cfg.window if cfg.loss.temporal else 1)
        per_rank_batch = max(1, cfg.batch_size // world)
        n_params = count_parameters(model)
        if rank == 0:
            self.log(
                f"training CV-UGCN ({n_params / 1e6:.2f} M parameters) on {len(self.train_data)} samples, "
                f"{'no validation' if self.val_data is None else f'{len(self.val_data)} validation samples'}, "
                f"device {device}{f', {world} processes' if ddp else ''}, losses {', '.join(cfg.loss.active())}"
            )
        if rank == 0 and self.val_data is not None and start_epoch == 0:
            base = output_metrics(coarse_output(self.val_data), self.val_data, self.val_truth)
            self.log("triangulation alone on validation: " + " ".join(f"{k}={v:.4g}" for k, v in base.items()))
        t_start = time.perf_counter()
        seen = 0
        stopped = "finished"
        epoch = start_epoch - 1
        bad_epochs = 0 if best_epoch < 0 else (start_epoch - 1 - best_epoch)
        for epoch in range(start_epoch, cfg.epochs):
            t_epoch = time.perf_counter()
            net.train()
            W = windows(self.train_data, win, offset=epoch)
            order = self._epoch_order(len(W), epoch, rank, world, ddp)
            wins_per_batch = max(1, per_rank_batch // win)
            n_batches = max(1, math.ceil(len(order) / wins_per_batch))
            sums: dict[str, float] = {}
            count = 0
            for bi in range(n_batches):
                if not self._run.is_set():
                    while not self._run.wait(0.2):
                        pass
                if self._stop.is_set():
                    stopped = "stopped"
                    break
                sel = order[bi * wins_per_batch : (bi + 1) * wins_per_batch]
                if len(sel) * win < 2:  # BatchNorm needs 2+ samples
                    continue
                idx = torch.as_tensor(W[sel].reshape(-1), device=device)
                total, terms = _losses(net, T.batch(idx), cfg.loss, win)
                opt.zero_grad(set_to_none=True)
                total.backward()
                if cfg.grad_clip:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                opt.step()
                nb = len(idx)
                seen += nb * world
                count += nb
                sums["loss"] = sums.get("loss", 0.0) + float(total.detach()) * nb
                for k, v in terms.items():
                    sums[k] = sums.get(k, 0.0) + float(v.detach()) * nb
                if self.on_progress and rank == 0:
                    done = (epoch - start_epoch + (bi + 1) / n_batches) / max(cfg.epochs - start_epoch, 1)
                    el = time.perf_counter() - t_start
                    self.on_progress(
                        Progress(
                            epoch,
                            cfg.epochs,
                            bi + 1,
                            n_batches,
                            (epoch + (bi + 1) / n_batches) / cfg.epochs,
                            el / done * (1 - done) if done > 0 else None,
                            float(total.detach()),
                        )
                    )
            train_losses = {k: v / max(count, 1) for k, v in sums.items()}
            if ddp:
                train_losses = _all_reduce_mean(train_losses, device)
            if stopped == "stopped" and count == 0:
                epoch -= 1
                break
            val = {}
            if self.val_data is not None:
                val = evaluate(model, self.val_data, device, cfg.loss, self.val_truth, cfg.combine, cfg.val_batch)
            monitor = val.get("loss", train_losses.get("loss", math.inf))
            sched.step(monitor)
            is_best = monitor < best
            if is_best:
                best, best_epoch, best_val, bad_epochs = monitor, epoch, dict(val or train_losses), 0
                if rank == 0:
                    best_id = self._save_best(model, epoch, train_losses, val)
            else:
                bad_epochs += 1
            lr = opt.param_groups[0]["lr"]
            history.append({"epoch": epoch, "train": train_losses, "val": val, "lr": lr})
            report = EpochReport(epoch, train_losses, val, lr, is_best, time.perf_counter() - t_epoch)
            if rank == 0:
                self.log(_format_epoch(report))
                if self.on_epoch:
                    self.on_epoch(report)
            if rank == 0 and cfg.checkpoint_every and (epoch + 1) % cfg.checkpoint_every == 0:
                self._save_state(model, opt, sched, epoch, best, best_epoch, history, best_val, best_id)
            if stopped == "stopped":
                break
            if cfg.early_stop_patience and bad_epochs >= cfg.early_stop_patience:
                stopped = "early_stopping"
                if rank == 0:
                    self.log(f"early stopping: no validation improvement for {bad_epochs} epochs")
                break
        if rank == 0:
            self._save_state(model, opt, sched, epoch, best, best_epoch, history, best_val, best_id)
            if not best_id:  # nothing completed (stopped in the first epoch): keep the current weights
                best_id = self._save_best(model, max(epoch, 0), {}, {})
        if ddp:
            dist.barrier()
        elapsed = time.perf_counter() - t_start
        return TrainResult(
            checkpoint=self.out,
            checkpoint_id=best_id,
            epochs_run=epoch + 1 - start_epoch,
            best_epoch=best_epoch,
            best_val=best_val,
            stopped=stopped,
            history=history,
            seconds=elapsed,
            samples_per_second=seen / elapsed if elapsed > 0 else 0.0,
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

    def _save_state(self, model, opt, sched, epoch, best, best_epoch, history, best_val, best_id) -> None:
        st = {
            "kind": "crossview-train-state",
            "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "model_config": self.model_config.to_dict(),
            "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(),
            "epoch": epoch,
            "best": best,
            "best_epoch": best_epoch,
            "best_val": best_val,
            "best_id": best_id,
            "history": history,
            "torch_rng": torch.get_rng_state(),
            "train_config": self.cfg.to_dict(),
        }
        tmp = self.state_path.with_name(self.state_path.name + ".tmp")
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(st, tmp)
        os.replace(tmp, self.state_path)


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
    on_progress: Callable[[Progress], None] | None = None,
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
    "EpochReport",
    "Progress",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "coarse_output",
    "evaluate",
    "output_metrics",
    "pick_device",
    "train_from_paths",
    "world_output",
]
