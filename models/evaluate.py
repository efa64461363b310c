"""Triangulation vs the current model vs a new one on one recording, without 3D ground truth (no Qt).

:func:`compare_models` runs the three on every frame of a recording and measures the mean reprojection error
(px) and the bone-length variation (std over frames, mm), per frame too (:func:`frame_metrics`), and keeps the
three world poses of the first camera pair for a 3D view: a :class:`Comparison`.

Torch is imported when a comparison runs, not with this module.
Units: metres (3D), pixels (2D, reprojection error), millimetres (bone-length variation), seconds (times).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import InputError
from core.jobs import CancelLike, Progress, check_cancel, null_progress

from .sources import KEYPOINTS_FILE

#: The three skeletons of a comparison, in drawing order.
COMPARE_KINDS: tuple[str, ...] = ("coarse", "old", "new")


@dataclass(frozen=True)
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
    from models.train import reprojection_errors

    err, ok = reprojection_errors(world, data)
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
    progress: Progress | None = None,
    cancel: CancelLike = None,
) -> Comparison:
    """Compare the triangulation, checkpoint ``old`` (None: the shipped model) and checkpoint ``new`` on one
    recording (a session folder, or a keypoints npz / folder with its calibration).

    Raises :class:`core.jobs.Cancelled` when ``cancel`` is set, :class:`core.errors.CrossViewError` subclasses
    (ModelError for a bad checkpoint, InputError for a recording without 2D keypoints).
    """
    from core.calibration_io import infer_world_up, load_calibration
    from models.checkpoint import load_checkpoint
    from models.data import data_from_paths, load_recording, resolve_recording
    from models.train import coarse_output, output_metrics, pick_device, world_output

    t0 = time.perf_counter()
    report = progress or null_progress
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
    check_cancel(cancel, "comparison cancelled")
    report(1, 4, f"reading {source.name}")
    data = data_from_paths([source])
    kp_path, cal_path = resolve_recording(source)
    rec = load_recording(kp_path, cal_path, name=source.name)
    cal = load_calibration(cal_path)
    up, why = infer_world_up(cal, cal.group, allowed=("+z", "-y", "+y"))
    check_cancel(cancel, "comparison cancelled")
    report(2, 4, "refining with both models")
    worlds = {
        "coarse": coarse_output(data),
        "old": world_output(ck_old.build_model(dev), data, dev),
        "new": world_output(ck_new.build_model(dev), data, dev),
    }
    check_cancel(cancel, "comparison cancelled")
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
