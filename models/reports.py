"""What a training run reports (no torch, so that the app can read them): :class:`BatchReport` after each batch,
:class:`EpochReport` after each epoch, :class:`TrainResult` at the end (:class:`models.train.Trainer`).

Units: seconds (times), losses as the weighted sums of :mod:`models.losses`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class BatchReport:
    """Reported after each batch: ``epoch`` 0-based, overall ``fraction`` done in [0, 1], ``eta_s`` seconds left
    (None until known), ``loss`` the batch's total loss. (Not :class:`core.jobs.Progress`, the
    ``(done, total, message)`` callback of long jobs.)"""

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
    """What :meth:`models.train.Trainer.fit` did."""

    checkpoint: Path
    checkpoint_id: str
    epochs_run: int
    best_epoch: int
    best_val: dict[str, float]
    stopped: str  # "finished" | "early_stopping" | "stopped"
    history: list[dict[str, Any]]
    seconds: float
    samples_per_second: float
