"""Inference: refine triangulated two-view poses with a CV-UGCN checkpoint.

``Refiner.refine(kp2d (F, 2, 17, 3) [x_px, y_px, conf] as detected (distorted), coarse (F, 17, 3) world m,
cameras (2-camera CameraGroup)) -> refined (F, 17, 3) world m``. Joints missing (NaN) in ``coarse`` stay NaN.

The model runs in eval mode under ``torch.inference_mode`` with BatchNorm folded into the weights
(:func:`models.cvugcn.fuse_batchnorm`), on CUDA when available, else CPU. On CPU, small batches (live use,
one frame at a time) run on one intra-op thread, which measured fastest on the 2-core target (other
threads are busy with capture and detection); large batches use torch's default. ``torch.set_num_threads``
is process-wide, so the Refiner only changes it when ``cpu_threads="auto"`` and restores it afterwards.
One Refiner is meant to be used from one worker thread; a lock makes concurrent calls safe (serialised).
"""

from __future__ import annotations

import os
import threading
import warnings
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from core.camera import CameraGroup
from core.errors import InputError, ModelError
from core.swaps import fix_left_right_swaps
from core.sync import frame_rate

from . import prep
from .checkpoint import Checkpoint, load_checkpoint
from .cvugcn import CVUGCNConfig, fuse_batchnorm

#: Batches up to this size run single-threaded on CPU (``cpu_threads="auto"``).
SMALL_BATCH = 32


@contextmanager
def _threads(n: int | None) -> Iterator[None]:
    if n is None or n == torch.get_num_threads():
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


class Refiner:
    """A loaded CV-UGCN ready for inference.

    checkpoint: path, :class:`Checkpoint`, or None for the shipped model (``models/weights/cvugcn_default.pt``).
    device: ``auto`` (CUDA if available), ``cuda`` or ``cpu``.
    cpu_threads: ``"auto"`` (1 thread for batches <= 32 frames, torch's default above), an int, or None (never
        touch torch's thread setting).
    fast: ``"auto"`` uses a TorchScript trace of the fused model where it measured faster (CPU; see
        ``bench/refinement.py``), ``True``/``False`` force it on/off.
    combine: how the two views' refined poses are merged (:func:`models.prep.combine_views`).
    fix_swaps: before refining, undo left/right label swaps between the two views
        (:func:`core.swaps.fix_left_right_swaps`) and re-triangulate the frames that had one (off by default:
        the swap belongs to detection/triangulation; see bench/refinement.py for what it gains).
    guard: a refined joint that reprojects much worse than the coarse one against the confident 2D falls back to
        the coarse joint (:func:`models.prep.reprojection_guard`); ``fallback_joints`` / ``refined_joints`` count them.
    """

    def __init__(
        self,
        checkpoint: str | os.PathLike | Checkpoint | None = None,
        device: str = "auto",
        cpu_threads: int | str | None = "auto",
        fast: bool | str = "auto",
        combine: str = "agreement",
        batch: int = 2048,
        fix_swaps: bool = False,
        guard: bool = True,
    ) -> None:
        from .train import pick_device

        self.checkpoint = checkpoint if isinstance(checkpoint, Checkpoint) else load_checkpoint(checkpoint)
        self.id = self.checkpoint.id
        self.device = pick_device(device)
        self.combine = combine
        self.batch = batch
        self.fix_swaps = fix_swaps
        self.guard = guard
        self.fallback_joints = 0
        self.refined_joints = 0
        self.cpu_threads = cpu_threads
        model = fuse_batchnorm(self.checkpoint.build_model(self.device))
        self._eager = model
        self._model: torch.nn.Module = model
        self._lock = threading.Lock()
        # the last rig's arrays, keyed by its (frozen) cameras: live refinement asks for the same rig every frame
        self._cams: tuple[tuple, prep.CameraArrays] | None = None
        use_fast = (self.device.type == "cpu") if fast == "auto" else bool(fast)
        if use_fast:
            self._model = self._trace(model)

    @property
    def path(self) -> Path | None:
        return self.checkpoint.path

    def _trace(self, model: torch.nn.Module) -> torch.nn.Module:
        try:
            with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
                warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit is deprecated in torch >= 2.10
                ex = torch.zeros(1, 2, 17, self.config.in_dim, device=self.device)
                traced = torch.jit.trace(model, ex, check_trace=False)
                traced = torch.jit.freeze(traced.eval())
            with torch.inference_mode():
                a = traced(ex + 0.1)
                b = model(ex + 0.1)
            if not torch.allclose(a, b, atol=1e-5):
                return model
            return traced
        except Exception:  # tracing is only an optimisation
            return model

    def _threads_for(self, n: int) -> int | None:
        if self.device.type != "cpu" or self.cpu_threads is None:
            return None
        if self.cpu_threads == "auto":
            return 1 if n <= SMALL_BATCH else None
        return int(self.cpu_threads)

    @property
    def inputs(self) -> str:
        """What the network sees (``CVUGCNConfig.inputs``; :func:`models.prep.node_features`)."""
        return self.config.inputs

    def residual(self, x: np.ndarray) -> np.ndarray:
        """Network residuals ``(B, 2, 17, 3)`` m for node features ``x (B, 2, 17, C)``
        (:func:`models.prep.node_features` of :attr:`inputs`; for ``xyz`` the root-centred per-view poses in m)."""
        x = np.asarray(x, dtype=np.float32)
        out = np.empty(x.shape[:-1] + (3,), dtype=np.float64)
        with self._lock, _threads(self._threads_for(len(x))), torch.inference_mode():
            for s in range(0, len(x), self.batch):
                xb = torch.from_numpy(np.ascontiguousarray(x[s : s + self.batch])).to(self.device)
                out[s : s + self.batch] = self._model(xb).double().cpu().numpy()
        return out

    def network_inputs(self, kp2d: np.ndarray, coarse: np.ndarray, cameras: CameraGroup) -> np.ndarray:
        """The node features ``(F, 2, 17, C)`` that :meth:`refine` gives the network for detections
        ``kp2d (F, 2, 17, 3)`` and their triangulation ``coarse (F, 17, 3)`` m (after its left/right repair; one
        take's consecutive frames for a temporal model)."""
        kp2d, coarse = np.asarray(kp2d, dtype=np.float64), np.asarray(coarse, dtype=np.float64)
        _check(kp2d, coarse)
        _, _, p, _, _, feat, _ = self._inputs(kp2d, coarse, cameras)
        return self._windows(feat, p, 0, 1)

    def _windows(self, feat: np.ndarray, p: prep.PreparedInput, context: int, stride: int) -> np.ndarray:
        """Per-frame node features ``(F, 2, 17, C)`` of one take -> the network input of frames ``context:``, each
        with its temporal window (:attr:`config`, frames ``stride`` apart); a frame without any joint is a run of
        its own."""
        cfg = self.config
        if cfg.past + cfg.future == 0:
            return feat[context:]
        breaks = p.empty.copy()
        breaks[1:] |= p.empty[:-1]
        nbr = prep.neighbour_index(breaks, cfg.past, cfg.future, stride)[context:]
        return prep.window_features(feat, p.root, nbr, cfg.past, cfg.inputs)

    def _inputs(self, kp2d: np.ndarray, coarse: np.ndarray, cameras: CameraGroup):
        """For checked ``(kp2d, coarse)`` (:func:`_check`): both after the left/right repair, the prepared input,
        undistorted 2D and confidences (None when nothing needs them), node features and camera arrays."""
        last, key = self._cams, getattr(cameras, "cameras", None)
        if last is not None and key is not None and last[0] is key:
            cams = last[1]
        else:
            cams = prep.CameraArrays.from_group(cameras)
            self._cams = (key, cams) if key is not None else None
        F = len(coarse)
        if self.fix_swaps:
            kp2d = np.moveaxis(kp2d, 1, 0).copy()  # (2, F, 17, 3)
            kp2d[..., :2], kp2d[..., 2], kind = fix_left_right_swaps(kp2d[..., :2], kp2d[..., 2], cameras)
            kp2d = np.moveaxis(kp2d, 0, 1)
            redo = kind != ""
            if redo.any():
                coarse = coarse.copy()
                coarse[redo] = prep.triangulate_pair(kp2d[redo], cameras)
        p = prep.prepare(coarse, np.broadcast_to(cams.R, (F, 2, 3, 3)), np.broadcast_to(cams.t, (F, 2, 3)))
        und = conf = None
        if self.combine in ("agreement", "agreement_both") or self.guard or self.inputs != "xyz":
            und = prep.undistort_pairs(kp2d[..., :2], cams)
            conf = prep.finite_or_zero(kp2d[..., 2])
        feat = prep.node_features(self.inputs, p.x, p.root, und, conf, cams.K, cams.R, cams.t)
        return kp2d, coarse, p, und, conf, feat, cams

    @property
    def config(self) -> CVUGCNConfig:
        """The model's config: its inputs and temporal window (``past`` / ``future`` frames)."""
        return self.checkpoint.model_config

    def refine(
        self, kp2d: np.ndarray, coarse: np.ndarray, cameras: CameraGroup, context: int = 0, fps: float | None = None
    ) -> np.ndarray:
        """Refined world poses ``(F - context, 17, 3)`` m from detections ``kp2d (F, 2, 17, 3)`` and their
        triangulation ``coarse (F, 17, 3)`` m.

        ``kp2d`` feeds the network (for ``rays`` inputs), weighs the two views' outputs (agreement with each
        view's 2D) and is what the guard checks the refined joints against. The frames are one take's consecutive
        frames: a temporal model (:attr:`config` ``past`` / ``future``) sees each frame's neighbours among them
        (frames without any joint break the take). The first ``context`` frames are only seen, not refined: live
        refinement passes the last ``past`` frames before the current one (:class:`RefinerHook`). ``fps``: the take's
        frame rate (Hz), so that a window spans the time the model was trained on (:func:`models.prep.window_stride`;
        None: every frame).
        """
        kp2d = np.asarray(kp2d, dtype=np.float64)
        coarse = np.asarray(coarse, dtype=np.float64)
        if coarse.ndim == 2:
            return self.refine(kp2d[None], coarse[None], cameras)[0]
        _check(kp2d, coarse)
        if not 0 <= context <= len(coarse):
            raise InputError(f"context must be 0 to {len(coarse)} frames, got {context}.")
        if len(coarse) == context:
            return coarse[context:].copy()
        kp2d, coarse, p, und, conf, feat, cams = self._inputs(kp2d, coarse, cameras)
        feat = self._windows(feat, p, context, int(prep.window_stride(np.nan if fps is None else fps)))
        if context:
            kp2d, coarse, p = kp2d[context:], coarse[context:], p.frames(slice(context, None))
            und = und[context:] if und is not None else None
            conf = conf[context:] if conf is not None else None
        cam = prep.restore(p.x + self.residual(feat), p)
        if und is None or conf is None:
            return prep.finish(cam, p, None, None, None, self.combine)
        if self.combine in ("agreement", "agreement_both"):
            out = prep.finish(cam, p, und, conf, cams, self.combine)
        else:
            out = prep.finish(cam, p, None, None, None, self.combine)
        if not self.guard:  # never NaN where the coarse joint is known: fall back to it and count
            fell_back = ~np.isfinite(out).all(-1) & np.isfinite(coarse).all(-1)
            out = np.where(fell_back[..., None], coarse, out)
        else:
            out, fell_back = prep.reprojection_guard(out, coarse, und, conf, cams)
        with self._lock:
            self.fallback_joints += int(fell_back.sum())
            self.refined_joints += int(np.isfinite(coarse).all(-1).sum())
        return out


def _check(kp2d: np.ndarray, coarse: np.ndarray) -> None:
    if kp2d.ndim != 4 or kp2d.shape[1:] != (2, 17, 3):
        raise InputError(f"kp2d must be (F, 2, 17, 3) [x_px, y_px, confidence], got shape {kp2d.shape}.")
    if coarse.shape != (kp2d.shape[0], 17, 3):
        raise InputError(f"coarse must be ({kp2d.shape[0]}, 17, 3) metres, got shape {coarse.shape}.")


def refine_points(
    points: np.ndarray, kp2d: np.ndarray, cameras: CameraGroup, refiner: Refiner, fps: float | None = None
) -> np.ndarray:
    """For ``triangulate --refine``: points ``(F, 17, 3)`` m, kp2d ``(V=2, F, 17, 3)`` (view-major, as in
    core/batch.py), cameras the 2 cameras, the take's ``fps`` (Hz, when known) -> refined ``(F, 17, 3)`` m (NaN
    where ``points`` is NaN).

    Raises :class:`ModelError` when more or fewer than 2 cameras are given (CV-UGCN refines pairs).
    """
    kp2d = np.asarray(kp2d, dtype=np.float64)
    if kp2d.ndim != 4 or kp2d.shape[0] != 2 or len(cameras) != 2:
        raise ModelError(
            f"refinement works on exactly two cameras; got {len(cameras)} camera(s) and 2D of shape {kp2d.shape}. "
            "Pass --cameras with two names."
        )
    return refiner.refine(np.moveaxis(kp2d, 0, 1), points, cameras, fps=fps)


#: Live temporal refinement starts its window afresh after a gap longer than this between frames (s): one dropped
#: frame at 30 fps is bridged, a pause is not.
MAX_GAP_S = 0.1
#: The live hook keeps frames for windows up to this stride (a 240 fps camera for a model trained at 30 fps).
MAX_STRIDE = 8


class _ModelHook:
    """What the two hooks share: the loaded :class:`Refiner`, its content id (``id`` / ``model_id``), a label for
    the user and the guard's counts."""

    def __init__(self, refiner: Refiner) -> None:
        self.refiner = refiner
        self.id = self.model_id = refiner.id

    @property
    def label(self) -> str:
        """``"CV-UGCN <id> on <device>"``."""
        return f"CV-UGCN {self.id} on {self.refiner.device.type}"

    def fallbacks(self) -> tuple[int, int]:
        """(joints the guard gave back to coarse, joints refined) so far (see :class:`Refiner`)."""
        return self.refiner.fallback_joints, self.refiner.refined_joints


class RefinerHook(_ModelHook):
    """The pipeline's refinement hook (core.pipeline.RefineHook): ``hook(RefineInput) -> (17, 3)`` world m.

    ``id``/``model_id`` name the checkpoint (its content id). For a causal temporal model (``past > 0``) the hook
    keeps the frames it refined (up to ``past x MAX_STRIDE``) and passes the window's ``past`` earlier ones as
    context, every ``window_stride``-th frame at the camera's rate measured from ``t_s``, so that live refinement
    equals refining the take at once. The window starts afresh when the followed track or the cameras change, after
    a gap of more than :data:`MAX_GAP_S` or a frame without joints (frames without a time count as consecutive).
    Models that look ahead (``future > 0``) need whole takes and are refused here.
    """

    def __init__(self, refiner: Refiner) -> None:
        cfg = refiner.config
        if cfg.future:
            raise ModelError(
                f"CV-UGCN {refiner.id} looks {cfg.future} frames ahead, so it cannot refine frame by frame (live or "
                "Process). Use it offline with `triangulate --refine --model`, or choose a causal model."
            )
        super().__init__(refiner)
        self._past = cfg.past
        self._history: deque[tuple[np.ndarray, np.ndarray]] = deque(maxlen=cfg.past * MAX_STRIDE)
        self._gaps: deque[float] = deque(maxlen=15)  # recent frame intervals (s): the camera's rate
        self._key: tuple[int, int] | None = None
        self._last_t = float("nan")
        self._lock = threading.Lock()

    def fresh(self) -> RefinerHook:
        """A hook of its own for another stream of frames (Process while live capture runs): the same loaded model,
        an empty window history."""
        return RefinerHook(self.refiner)

    def __call__(self, inp) -> np.ndarray:  # inp: core.pipeline.RefineInput (keypoints2d, coarse, cameras, ...)
        if self._past == 0:
            return self.refiner.refine(inp.keypoints2d, inp.coarse, inp.cameras)
        with self._lock:  # one stream of frames per hook (see fresh); the lock keeps its history whole
            return self._refine_next(inp)

    def _refine_next(self, inp) -> np.ndarray:
        t = float(getattr(inp, "t_s", float("nan")))
        key = (int(getattr(inp, "track", -1)), id(inp.cameras))
        gap = t - self._last_t
        if key != self._key or (np.isfinite(gap) and not 0.0 < gap <= MAX_GAP_S):
            self._history.clear()
            self._gaps.clear()
        elif np.isfinite(gap):
            self._gaps.append(gap)
        self._key, self._last_t = key, t
        kp = np.asarray(inp.keypoints2d, dtype=np.float64)
        coarse = np.asarray(inp.coarse, dtype=np.float64)
        if not np.isfinite(coarse).any():  # a frame without any joint ends the run (as offline)
            self._history.clear()
            return self.refiner.refine(kp[None], coarse[None], inp.cameras)[0]
        # the window's earlier frames, `stride` apart (clamped to the oldest kept one, as offline at a take's start)
        stride = min(MAX_STRIDE, int(prep.window_stride(1.0 / np.median(self._gaps)))) if self._gaps else 1
        n = len(self._history)
        seen = [self._history[max(0, n - k * stride)] for k in range(self._past, 0, -1)] if n else []
        kps = np.stack([h[0] for h in seen] + [kp])
        out = self.refiner.refine(kps, np.stack([h[1] for h in seen] + [coarse]), inp.cameras, context=len(seen))
        self._history.append((kp, coarse))
        return out[0]


class TakeRefinerHook(_ModelHook):
    """Process' refinement of whole takes (``core.pipeline.TakeRefiner``): for models that look ahead
    (``future > 0``, two-sided windows) or any model when the take is at hand. ``refine_take(kp2d (F, 2, 17, 3),
    coarse (F, 17, 3) m, cameras) -> (F, 17, 3)`` m; frames without 3D (NaN) break the take's windows."""

    @property
    def label(self) -> str:
        return super().label + ", over the whole take"

    def refine_take(
        self, kp2d: np.ndarray, coarse: np.ndarray, cameras: CameraGroup, time_s: np.ndarray | None = None
    ) -> np.ndarray:
        """``time_s (F,)`` s, when known, gives the take's frame rate (the window's stride)."""
        return self.refiner.refine(kp2d, coarse, cameras, fps=frame_rate(time_s))

    def __call__(self, inp) -> np.ndarray:
        raise ModelError(f"CV-UGCN {self.id} refines whole takes (offline Process), not one pair at a time.")


def _no_model(path: Path) -> str:
    return f"no CV-UGCN model at '{path}' (make it with `python -m models.pretrain`)"


def default_refine_hook(
    checkpoint: str | os.PathLike | None = None, device: str = "auto", fix_swaps: bool = False
) -> tuple[RefinerHook | None, str]:
    """``(hook, label)`` for the shipped (or given) checkpoint; ``(None, why)`` when there is no model file.

    Other problems (a damaged or foreign checkpoint) raise :class:`ModelError` with the reason.
    """
    from .checkpoint import DEFAULT_CHECKPOINT

    path = Path(checkpoint) if checkpoint is not None else DEFAULT_CHECKPOINT
    if not path.is_file():
        return None, _no_model(path)
    hook = RefinerHook(Refiner(path, device=device, fix_swaps=fix_swaps))
    return hook, hook.label


def load_refine_hook(
    checkpoint: str | os.PathLike | None = None,
) -> tuple[RefinerHook | TakeRefinerHook | None, str, str]:
    """The refinement for processing a session (a ``core.session.processing.RefineLoader``): ``(hook or None,
    a sentence saying what is used or why not, model id)``. Never raises: a model that cannot load is skipped.

    Without ``checkpoint``: the shipped offline model (:data:`models.checkpoint.OFFLINE_CHECKPOINT`, two-sided
    windows over the whole take) where it exists, else the shipped live one. A model that looks ahead refines
    the whole take after every pair is triangulated (:class:`TakeRefinerHook`)."""
    from .checkpoint import offline_checkpoint

    path = Path(checkpoint) if checkpoint is not None else offline_checkpoint()
    if not path.is_file():
        return None, f"skipped: {_no_model(path)}", ""
    try:
        r = Refiner(path)
        hook: RefinerHook | TakeRefinerHook = TakeRefinerHook(r) if r.config.future else RefinerHook(r)
    except Exception as exc:
        return None, f"skipped: the refinement model could not be loaded ({exc})", ""
    return hook, hook.label, hook.model_id
