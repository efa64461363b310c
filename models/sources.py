"""What training can learn from and start from (no Qt; torch only inside the functions that need it).

- :func:`scan_training_sources`: the recordings that can be trained on (the sessions under the sessions root,
  :func:`core.session.listing.scan_sessions`, then folders or keypoints files added by hand) with their frame
  counts and what is missing (:class:`TrainingSource`); :func:`check_sources` says what to do about it.
- Checkpoint files: :func:`new_checkpoint_path` (a timestamped name that does not exist yet),
  :func:`recent_checkpoints` (the newest in a folder), :func:`checkpoint_info` (read and validated:
  :class:`CheckpointInfo`).
- :func:`probe_environment`: torch, the GPU and the loss presets (:class:`Environment`), slow (imports torch).

Units: frames, seconds (fps: frames per second).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import InputError
from core.keypoints_io import RESERVED_KEYS
from core.session.listing import SessionRow, scan_sessions, session_row

#: Name of the 2D keypoints of a session (written by Process), and of its calibration.
KEYPOINTS_FILE = "keypoints2d.npz"
CALIBRATION_FILE = "calibration.toml"


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


def _folder_keypoints(folder: Path) -> Path | None:
    """The keypoints npz of a folder: its ``keypoints2d.npz``, else its only ``.npz`` (None: none or several)."""
    if (folder / KEYPOINTS_FILE).is_file():
        return folder / KEYPOINTS_FILE
    npz = [p for p in sorted(folder.glob("*.npz")) if p.is_file()]
    return npz[0] if len(npz) == 1 else None


def source_for_path(path: str | Path) -> TrainingSource:
    """A folder (a session, or any folder with a keypoints npz and a calibration TOML) or a keypoints npz added by
    hand. Never raises: ``problem`` says what is wrong."""
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
    kp = _folder_keypoints(folder) if kind == "folder" else path
    if kp is None:
        count = len([p for p in folder.glob("*.npz") if p.is_file()])
        src.problem = (
            f"'{folder}' holds {count} .npz files and no {KEYPOINTS_FILE}: put the 2D keypoints there as "
            f"{KEYPOINTS_FILE}, or add the .npz file itself."
        )
        return src
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


def check_sources(sources: Sequence[TrainingSource]) -> None:
    """InputError saying what to do when nothing is chosen or a chosen recording cannot be trained on."""
    if not sources:
        raise InputError("No recording is ticked: tick at least one session (with 2D keypoints) to train on.")
    bad = [s for s in sources if s.problem]
    if bad:
        raise InputError("\n".join(s.problem or "" for s in bad))


# ================================================================================================ checkpoint files


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
        same = replace(getattr(CVUGCNConfig, name)().with_inputs(cfg.inputs, cfg.past, cfg.future), gate=cfg.gate)
        if same == cfg:
            widths = f"{name} network" + (f", {cfg.inputs} inputs" if cfg.inputs != "xyz" else "")
    if cfg.past or cfg.future:
        widths += f", sees {cfg.past} earlier" + (f" and {cfg.future} later" if cfg.future else "") + " frames"
    if cfg.gate:
        widths += ", gated"
    n = count_parameters(ck.build_model())
    assert ck.path is not None
    return CheckpointInfo(ck.path, ck.id, int(n), widths, dict(ck.meta))


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
    """Import torch and the models (slow: do it off the interface thread) and look for a CUDA GPU."""
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
