"""Datasets for weakly-supervised CV-UGCN training: synthetic stereo from mocap and user recordings.

Everything a training step needs sits in one :class:`WeakData` of ``N`` samples (one sample = one frame of
one camera pair). **It never holds 3D ground truth**: builders that know the truth (synthetic data) return it
separately, for measuring only.

Units: metres (3D), pixels (2D). Shapes: ``N`` samples, ``V = 2`` views, ``J = 17`` joints.

Sources:

* :func:`from_synthetic` - the dict of :func:`models.synthetic.make_stereo_samples`: input = triangulation
  of the noisy 2D, targets = the clean projections (confidence 1), bone-length targets = the per-sequence
  median bone lengths of the triangulated *targets* (label-derived, no 3D truth).
* :func:`from_recording` - a user recording (two or more cameras): input = triangulation of the stored
  detections, targets = their offline smoothing (:mod:`models.targets`), bone-length targets = the session's
  median bone lengths of the triangulated targets. Recordings are read from a keypoints npz + calibration TOML
  (:func:`load_recording`) or a session folder holding ``keypoints2d.npz`` and ``calibration.toml``.

Validation is split by session, by clip or rig (:func:`split`), never by frame.
"""

from __future__ import annotations

import itertools
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from core import skeleton
from core.calibration_io import load_calibration
from core.camera import CameraGroup
from core.errors import InputError
from core.keypoints_io import load_keypoints_npz
from core.sync import frame_rate
from core.triangulation import DEFAULT_MIN_CONFIDENCE, dlt

from . import prep
from .targets import TargetConfig, smooth_keypoints

J = skeleton.NUM_JOINTS
NB = len(skeleton.BONES)

#: Names a session folder's files have (core/session.py writes them).
SESSION_KEYPOINTS = "keypoints2d.npz"
SESSION_CALIBRATION = "calibration.toml"
DEFAULT_FPS = 30.0


@dataclass
class WeakData:
    """Training/validation arrays of ``N`` samples. No 3D truth, by construction.

    x ``(N, V, J, 3)`` m: network input (root-centred camera-frame coarse poses, missing joints filled).
    root ``(N, V, 3)`` m: camera-frame pelvis of the coarse pose. missing ``(N, J)``: coarse joint was NaN.
    K ``(N, V, 3, 3)`` px; R ``(N, V, 3, 3)``, t ``(N, V, 3)`` m: world -> camera.
    target2d ``(N, V, J, 2)`` undistorted px (NaN = none), target_conf ``(N, V, J)``: the 2D targets.
    input2d ``(N, V, J, 2)`` undistorted px, input_conf ``(N, V, J)``: the detections the input came from
        (used only to combine the two views' outputs, as at inference).
    bone_target ``(N, 16)`` m: the session's robust median bone lengths (NaN = unknown).
    group ``(N,)``: session (or clip) id - bone-length statistics and validation splits use it.
    seq ``(N,)`` and frame ``(N,)``: samples ``i, i+1`` are consecutive frames iff same seq and frame + 1.
    split_key ``(N, 2)``: (clip, rig) ids for synthetic data, (session, pair) for recordings.
    fps ``(N,)``: the frame rate of the sample's take (Hz): temporal windows span the same time at any rate.
    """

    x: np.ndarray
    root: np.ndarray
    missing: np.ndarray
    K: np.ndarray
    R: np.ndarray
    t: np.ndarray
    target2d: np.ndarray
    target_conf: np.ndarray
    input2d: np.ndarray
    input_conf: np.ndarray
    bone_target: np.ndarray
    group: np.ndarray
    seq: np.ndarray
    frame: np.ndarray
    split_key: np.ndarray
    fps: np.ndarray
    names: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def arrays(self) -> dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "names"}

    def subset(self, index: np.ndarray) -> WeakData:
        """The samples at ``index`` (bool mask or integer indices), in order."""
        return WeakData(**{k: v[index] for k, v in self.arrays().items()}, names=dict(self.names))

    @staticmethod
    def concat(parts: Sequence[WeakData]) -> WeakData:
        """Stack datasets; ``seq`` ids are made unique across parts."""
        if not parts:
            raise InputError("no training data: every recording was empty or unusable.")
        out: dict[str, list[np.ndarray]] = {}
        offset = 0
        names: dict[str, str] = {}
        for p in parts:
            for k, v in p.arrays().items():
                out.setdefault(k, []).append(v + offset if k == "seq" else v)
            offset += int(p.seq.max()) + 1 if len(p) else 0
            names.update(p.names)
        return WeakData(**{k: np.concatenate(v) for k, v in out.items()}, names=names)

    def cameras(self) -> prep.CameraArrays:
        return prep.CameraArrays(K=self.K, dist=np.zeros(self.K.shape[:2] + (5,)), R=self.R, t=self.t)

    def features(self, kind: str) -> np.ndarray:
        """The network input of ``kind`` (:func:`models.prep.node_features`): ``(N, V, J, C)`` float32."""
        if kind == "xyz":
            return self.x
        return prep.node_features(kind, self.x, self.root, self.input2d, self.input_conf, self.K, self.R, self.t)

    def run_starts(self, split_empty: bool = True) -> np.ndarray:
        """``(N,)`` bool: the row starts a new run of consecutive frames (another ``seq`` or a gap in ``frame``); with
        ``split_empty``, a frame without any joint is a run of its own (as :class:`models.refiner.Refiner` does)."""
        brk = np.ones(len(self), dtype=bool)
        brk[1:] = (self.seq[1:] != self.seq[:-1]) | (self.frame[1:] != self.frame[:-1] + 1)
        if split_empty:
            empty = self.missing.all(-1)
            brk[1:] |= empty[1:] | empty[:-1]
        return brk

    def neighbours(self, past: int, future: int) -> np.ndarray:
        """``(N, past + 1 + future)`` rows of each sample's temporal window (:func:`models.prep.neighbour_index`, a
        stride from each sample's ``fps``)."""
        return prep.neighbour_index(self.run_starts(), past, future, prep.window_stride(self.fps))

    def prepared(self) -> prep.PreparedInput:
        return prep.PreparedInput(
            x=self.x, root=self.root, missing=self.missing, empty=self.missing.all(-1), R=self.R, t=self.t
        )


def _median_bone_lengths(points: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Per group, the median over frames of each bone's length of ``points (N, J, 3)`` -> ``(N, 16)`` m."""
    lengths = skeleton.bone_lengths(points)  # (N, 16), NaN where a joint is missing
    out = np.full(lengths.shape, np.nan)
    for g in np.unique(group):  # one pass per session/sequence, vectorised inside
        m = group == g
        ok = np.isfinite(lengths[m])
        if ok.any():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                med = np.nanmedian(np.where(ok, lengths[m], np.nan), axis=0)
            out[m] = med
    return out


def _assemble(
    coarse: np.ndarray,
    cams: prep.CameraArrays,
    input_und: np.ndarray,
    input_conf: np.ndarray,
    target_und: np.ndarray,
    target_conf: np.ndarray,
    bone_target: np.ndarray,
    group: np.ndarray,
    seq: np.ndarray,
    frame: np.ndarray,
    split_key: np.ndarray,
    names: dict[str, str],
    fps: float | np.ndarray,
) -> WeakData:
    N = coarse.shape[0]
    R = np.broadcast_to(cams.R, (N, 2, 3, 3))
    t = np.broadcast_to(cams.t, (N, 2, 3))
    K = np.broadcast_to(cams.K, (N, 2, 3, 3))
    p = prep.prepare(coarse, R, t)
    f32 = np.float32
    return WeakData(
        x=p.x.astype(f32),
        root=p.root.astype(f32),
        missing=p.missing,
        K=K.astype(f32),
        R=R.astype(f32),
        t=t.astype(f32),
        target2d=target_und.astype(f32),
        target_conf=np.where(np.isfinite(target_und).all(-1), target_conf, 0.0).astype(f32),
        input2d=input_und.astype(f32),
        input_conf=np.where(np.isfinite(input_und).all(-1), input_conf, 0.0).astype(f32),
        bone_target=bone_target.astype(f32),
        group=np.asarray(group, dtype=np.int64),
        seq=np.asarray(seq, dtype=np.int64),
        frame=np.asarray(frame, dtype=np.int64),
        split_key=np.asarray(split_key, dtype=np.int64),
        fps=np.broadcast_to(np.asarray(fps, dtype=np.float32), (N,)).copy(),
        names=names,
    )


# ----------------------------------------------------------------------------- synthetic


def from_synthetic(
    samples: dict[str, np.ndarray], min_confidence: float = DEFAULT_MIN_CONFIDENCE, frame_stride: int = 1
) -> tuple[WeakData, np.ndarray]:
    """Weak training data from :func:`models.synthetic.make_stereo_samples` output.

    Returns ``(data, truth)``: ``truth (N, 17, 3)`` m world joints, for measuring only - it is not in
    ``data``. ``frame_stride`` is the stride the samples were made with (so windows see consecutive samples).
    """
    rig = np.asarray(samples["rig_id"])
    N = len(rig)
    cams = prep.CameraArrays(
        K=np.asarray(samples["K"], np.float64),
        dist=np.asarray(samples["dist"], np.float64),
        R=np.asarray(samples["R"], np.float64),
        t=np.asarray(samples["t"], np.float64),
    )
    noisy = np.asarray(samples["kp2d_noisy"], np.float64)
    conf = np.asarray(samples["conf"], np.float64)
    clean = np.asarray(samples["kp2d_clean"], np.float64)
    seq = np.asarray(samples["seq_id"], np.int64)
    in_und = prep.undistort_pairs(noisy, cams, groups=rig)
    tg_und = prep.undistort_pairs(clean, cams, groups=rig)
    coarse = np.full((N, J, 3), np.nan)
    tri_targets = np.full((N, J, 3), np.nan)
    for r in np.unique(rig):  # one DLT per rig (the cameras are fixed inside a rig), vectorised over frames
        idx = np.flatnonzero(rig == r)
        i0 = idx[0]
        P = np.stack([cams.K[i0, v] @ np.c_[cams.R[i0, v], cams.t[i0, v]] for v in range(2)])
        w = np.where(conf[idx] >= min_confidence, conf[idx], 0.0)  # (n, V, J)
        uv = np.moveaxis(in_und[idx], 1, 0).reshape(2, -1, 2)
        pts = dlt(P, uv, np.moveaxis(w, 1, 0).reshape(2, -1)).reshape(len(idx), J, 3)
        pts[(w > 0).sum(1) < 2] = np.nan
        coarse[idx] = pts
        uvt = np.moveaxis(tg_und[idx], 1, 0).reshape(2, -1, 2)
        tri_targets[idx] = dlt(P, uvt, np.ones((2, uvt.shape[1]))).reshape(len(idx), J, 3)
    bone_target = _median_bone_lengths(tri_targets, seq)
    names = {f"clip{i}": str(n) for i, n in enumerate(samples.get("clip_names", []))}
    data = _assemble(
        coarse,
        cams,
        in_und,
        conf,
        tg_und,
        np.ones(conf.shape),
        bone_target,
        group=seq,
        seq=seq,
        frame=np.asarray(samples["frame"], np.int64) // max(frame_stride, 1),
        split_key=np.stack([np.asarray(samples["clip_id"]), rig], axis=1),
        names=names,
        fps=np.asarray(samples["fps"]) if "fps" in samples else DEFAULT_FPS,
    )
    return data, np.asarray(samples["joints3d"], np.float64)


# ----------------------------------------------------------------------------- user recordings


@dataclass
class Recording:
    """Stored 2D detections of one recording: ``keypoints {camera: (F, 17, 3)}`` px + conf, its cameras, fps."""

    name: str
    keypoints: dict[str, np.ndarray]
    cameras: CameraGroup
    fps: float

    @property
    def num_frames(self) -> int:
        return int(next(iter(self.keypoints.values())).shape[0])


def load_recording(
    keypoints: str | os.PathLike,
    calibration: str | os.PathLike,
    cameras: Sequence[str] | None = None,
    fps: float | None = None,
    name: str | None = None,
) -> Recording:
    """Read a keypoints npz (one ``(F, 17, 3)`` array per camera) and its calibration TOML.

    The frame rate comes from the file's ``time_s`` when present, else ``fps``, else 30 fps.
    """
    kps, time_s = load_keypoints_npz(keypoints, list(cameras) if cameras else None)
    cal = load_calibration(calibration)
    unknown = [c for c in kps if c not in cal.group.names]
    if unknown:
        raise InputError(
            f"cameras {unknown} of '{keypoints}' are not in calibration '{calibration}' "
            f"(it holds {cal.group.names}). Rename them or use the matching calibration."
        )
    if len(kps) < 2:
        raise InputError(f"'{keypoints}' holds {len(kps)} camera(s); training needs at least two.")
    rate = frame_rate(time_s) or fps or DEFAULT_FPS
    return Recording(
        name=name or Path(keypoints).stem,
        keypoints=kps,
        cameras=cal.group.subset(list(kps)),
        fps=float(rate),
    )


def resolve_recording(path: str | os.PathLike) -> tuple[Path, Path]:
    """A session folder or keypoints npz -> (keypoints npz, calibration TOML).

    A folder must hold ``keypoints2d.npz`` (or exactly one ``*.npz``) and ``calibration.toml`` (or exactly one
    ``*.toml``); an npz file needs a ``calibration.toml`` (or exactly one ``*.toml``) beside it.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"'{path}' does not exist. Give a session folder or a keypoints .npz file.")
    folder = path if path.is_dir() else path.parent

    def pick(preferred: str, pattern: str, what: str) -> Path:
        p = folder / preferred
        if p.is_file():
            return p
        found = sorted(q for q in folder.glob(pattern) if q.is_file())
        if len(found) == 1:
            return found[0]
        raise InputError(
            f"'{folder}' holds {len(found)} {pattern} files and no '{preferred}'; "
            f"put the {what} there as '{preferred}'."
        )

    kp = path if path.is_file() else pick(SESSION_KEYPOINTS, "*.npz", "2D keypoints")
    if kp.suffix != ".npz":
        raise InputError(f"'{kp}' is not a keypoints .npz file.")
    return kp, pick(SESSION_CALIBRATION, "*.toml", "calibration")


def camera_pairs(names: Sequence[str], mode: str = "all") -> list[tuple[str, str]]:
    """Camera pairs to train on: ``all`` pairs, or ``adjacent`` ones (1-2, 2-3, ...; the paper's choice)."""
    names = list(names)
    if mode == "adjacent":
        return list(zip(names[:-1], names[1:]))
    if mode == "all":
        return list(itertools.combinations(names, 2))
    raise ValueError(f"pair mode must be 'all' or 'adjacent', got {mode!r}")


def from_recording(
    rec: Recording,
    session_id: int = 0,
    pairs: Sequence[tuple[str, str]] | str = "all",
    target_config: TargetConfig | None = None,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    seq_offset: int = 0,
) -> WeakData:
    """Weak training data from a user recording: one sequence per camera pair, all in group ``session_id``.

    Bone-length targets are the session's median bone lengths of the triangulated targets, over all pairs.
    """
    pair_list = camera_pairs(rec.cameras.names, pairs) if isinstance(pairs, str) else list(pairs)
    F = rec.num_frames
    parts = []
    tri_targets = []
    smoothed = {c: smooth_keypoints(a, rec.fps, target_config) for c, a in rec.keypoints.items()}
    for k, (a, b) in enumerate(pair_list):
        group = rec.cameras.subset([a, b])
        cams = prep.CameraArrays.from_group(group)
        raw = np.stack([rec.keypoints[a], rec.keypoints[b]], axis=1)  # (F, V, J, 3)
        tgt = np.stack([smoothed[a], smoothed[b]], axis=1)
        coarse = prep.triangulate_pair(raw, group, min_confidence)
        tri_t = prep.triangulate_pair(tgt, group, min_confidence)
        tri_targets.append(tri_t)
        in_und = prep.undistort_pairs(raw[..., :2], cams)
        tg_und = prep.undistort_pairs(tgt[..., :2], cams)
        parts.append((coarse, cams, in_und, raw[..., 2], tg_und, tgt[..., 2], k))
    all_tri = np.concatenate(tri_targets)
    med = _median_bone_lengths(all_tri, np.zeros(len(all_tri), dtype=np.int64))[:1]
    out = []
    for coarse, cams, in_und, in_conf, tg_und, tg_conf, k in parts:
        out.append(
            _assemble(
                coarse,
                cams,
                in_und,
                in_conf,
                tg_und,
                tg_conf,
                np.broadcast_to(med, (F, NB)),
                group=np.full(F, session_id),
                seq=np.full(F, seq_offset + k),
                frame=np.arange(F),
                split_key=np.stack([np.full(F, session_id), np.full(F, k)], axis=1),
                names={f"session{session_id}": rec.name, f"session{session_id}.pair{k}": "+".join(pair_list[k])},
                fps=rec.fps,
            )
        )
    return WeakData.concat(out)


def data_from_paths(
    paths: Sequence[str | os.PathLike],
    pairs: str = "all",
    target_config: TargetConfig | None = None,
    log: Callable[[str], None] | None = None,
) -> WeakData:
    """Weak data from session folders / keypoints npz files (each one session). Raises InputError when unusable."""
    if not paths:
        raise InputError("no recordings given; pass at least one session folder or keypoints .npz.")
    parts = []
    seq = 0
    for i, p in enumerate(paths):
        kp, cal = resolve_recording(p)
        rec = load_recording(kp, cal, name=Path(p).name)
        d = from_recording(rec, session_id=i, pairs=pairs, target_config=target_config, seq_offset=seq)
        seq = int(d.seq.max()) + 1
        usable = float((~d.missing).mean())
        if log:
            log(
                f"{rec.name}: {rec.num_frames} frames x {len(np.unique(d.seq))} pair(s) at {rec.fps:.1f} fps, "
                f"{100 * usable:.0f}% of joints triangulated"
            )
        if usable < 0.05:
            raise InputError(f"'{p}': almost no joint could be triangulated; check its calibration and 2D keypoints.")
        parts.append(d)
    return WeakData.concat(parts)


# ----------------------------------------------------------------------------- splitting and windows


def split(data: WeakData, val_fraction: float = 0.2, seed: int = 0, gap: int = 8) -> tuple[WeakData, WeakData, str]:
    """Train/validation split that never separates frames of one clip at random.

    With 2+ groups (sessions/sequences) whole groups go to validation; with a single group, the last
    ``val_fraction`` of every sequence is held out as one contiguous block, ``gap`` frames after the
    training part. Returns ``(train, val, how)``.
    """
    groups = np.unique(data.group)
    rng = np.random.default_rng(seed)
    if len(groups) >= 2:
        n_val = int(np.clip(round(val_fraction * len(groups)), 1, len(groups) - 1))
        val_g = rng.choice(groups, n_val, replace=False)
        m = np.isin(data.group, val_g)
        return data.subset(~m), data.subset(m), f"by session/clip: {n_val} of {len(groups)} held out"
    train_m = np.zeros(len(data), dtype=bool)
    val_m = np.zeros(len(data), dtype=bool)
    for s in np.unique(data.seq):
        idx = np.flatnonzero(data.seq == s)
        fr = data.frame[idx]
        cut = fr.min() + (1 - val_fraction) * (fr.max() - fr.min() + 1)
        train_m[idx[fr < cut - gap]] = True
        val_m[idx[fr >= cut]] = True
    if not val_m.any() or not train_m.any():
        raise InputError("the recording is too short to hold out a validation block; record a longer session.")
    return data.subset(train_m), data.subset(val_m), f"by time block: last {100 * val_fraction:.0f}% of each clip"


def windows(data: WeakData, length: int, offset: int = 0) -> np.ndarray:
    """Non-overlapping windows of ``length`` consecutive frames: ``(W, length)`` sample indices.

    Consecutive = same ``seq`` and ``frame`` + 1 on the next row. ``offset`` shifts where windows start
    inside each run (vary it per epoch to see every transition). ``length = 1`` gives every sample.
    """
    n = len(data)
    if length <= 1:
        return np.arange(n)[:, None]
    brk = data.run_starts(split_empty=False)
    run_start = np.maximum.accumulate(np.where(brk, np.arange(n), 0))
    pos = np.arange(n) - run_start
    run_id = np.cumsum(brk) - 1
    run_len = np.bincount(run_id)[run_id]
    off = offset % length
    start = (pos >= off) & ((pos - off) % length == 0) & (pos + length <= run_len)
    s = np.flatnonzero(start)
    return s[:, None] + np.arange(length)[None]


def describe(data: WeakData) -> dict:
    """Small JSON-able summary."""
    return {
        "samples": len(data),
        "groups": int(len(np.unique(data.group))),
        "sequences": int(len(np.unique(data.seq))),
        "joints_missing_fraction": float(data.missing.mean()) if len(data) else 0.0,
    }
