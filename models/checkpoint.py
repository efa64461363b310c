"""CV-UGCN checkpoints: weights, model config, skeleton, training metadata and a content id.

A checkpoint is a ``torch.save`` dict of plain Python values and tensors only, so it loads with
``torch.load(weights_only=True)`` (no code runs while reading an untrusted file)::

    format = "crossview-cvugcn", format_version = 1,
    model_config = CVUGCNConfig.to_dict(), skeleton = {"joint_names": [...], "bones": [[p, c], ...]},
    dtype = "float16" | "float32",  state_dict = {name: tensor},  meta = {...}, id = "<16 hex>"

``id`` is a SHA-256 over the config and every tensor (name, dtype, shape, bytes): the same weights give the
same id, and a file whose tensors were damaged fails to load. Units: the network works in metres.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from core import skeleton
from core.atomic import atomic_output, write_error
from core.errors import ModelError

from .cvugcn import CVUGCN, CVUGCNConfig

FORMAT = "crossview-cvugcn"
FORMAT_VERSION = 1

#: The checkpoint shipped with CrossView (made by ``python -m models.pretrain``).
DEFAULT_CHECKPOINT = Path(__file__).resolve().parent / "weights" / "cvugcn_default.pt"
#: The offline model shipped for Process (two-sided temporal windows; ``python -m models.pretrain --future N``),
#: where it exists; live refinement always uses :data:`DEFAULT_CHECKPOINT`'s kind (causal).
OFFLINE_CHECKPOINT = DEFAULT_CHECKPOINT.with_name("cvugcn_offline.pt")


def offline_checkpoint() -> Path:
    """The shipped model for whole takes (Process, ``triangulate --refine``): :data:`OFFLINE_CHECKPOINT` where it
    exists, else :data:`DEFAULT_CHECKPOINT`."""
    return OFFLINE_CHECKPOINT if OFFLINE_CHECKPOINT.is_file() else DEFAULT_CHECKPOINT


def skeleton_signature() -> dict[str, Any]:
    """The skeleton a checkpoint was trained for: joint names and bones (core/skeleton.py)."""
    return {"joint_names": list(skeleton.JOINT_NAMES), "bones": skeleton.BONES.tolist()}


def content_id(model_config: dict[str, Any], state_dict: dict[str, torch.Tensor]) -> str:
    """16-hex-digit SHA-256 of the config and the tensors (names, dtypes, shapes, bytes)."""
    h = hashlib.sha256(json.dumps(model_config, sort_keys=True).encode())
    for name in sorted(state_dict):
        t = state_dict[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()[:16]


@dataclass
class Checkpoint:
    """A loaded checkpoint (weights as float32)."""

    model_config: CVUGCNConfig
    state_dict: dict[str, torch.Tensor]
    meta: dict[str, Any] = field(default_factory=dict)
    id: str = ""
    path: Path | None = None
    dtype: str = "float32"

    def build_model(self, device: str | torch.device = "cpu") -> CVUGCN:
        """A CVUGCN with these weights, in eval mode, on ``device``."""
        model = CVUGCN(self.model_config)
        try:
            model.load_state_dict(self.state_dict, strict=True)
        except RuntimeError as exc:
            raise ModelError(
                f"checkpoint '{self.path}' does not fit the CV-UGCN network of this version ({str(exc)[:200]}). "
                "Retrain it or use a checkpoint made by this version."
            ) from None
        return model.to(device).eval()


def _is_graph(name: str) -> bool:
    return name.endswith(("A_rows", "A_cols"))


def _plain_state(model_or_state: torch.nn.Module | dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    if isinstance(model_or_state, torch.nn.Module):
        m = model_or_state.module if hasattr(model_or_state, "module") else model_or_state  # DDP
        return {k: v.detach().cpu().clone() for k, v in m.state_dict().items()}
    return {k: v.detach().cpu().clone() for k, v in model_or_state.items()}


def save_checkpoint(
    path: str | os.PathLike,
    model: torch.nn.Module | dict[str, torch.Tensor],
    model_config: CVUGCNConfig,
    meta: dict[str, Any] | None = None,
    half: bool = False,
) -> str:
    """Write a checkpoint atomically (temporary file + rename); returns its id.

    ``half`` stores floating tensors as float16 (half the size; they are read back as float32).
    ``meta`` must hold only JSON-like values (str, numbers, bools, lists, dicts).
    """
    path = Path(path)
    state = _plain_state(model)
    if half:
        # learned tensors only: the fixed graph adjacencies keep their exact float32 values
        state = {k: v.half() if v.is_floating_point() and not _is_graph(k) else v for k, v in state.items()}
    cfg = model_config.to_dict()
    ckpt = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model_config": cfg,
        "skeleton": skeleton_signature(),
        "dtype": "float16" if half else "float32",
        "state_dict": state,
        "meta": json.loads(json.dumps(meta or {})),
        "id": content_id(cfg, state),
    }
    with atomic_output(path, error=write_error(ModelError, "checkpoint")) as tmp:
        torch.save(ckpt, tmp)
    return ckpt["id"]


def _bad(path: Path, what: str) -> ModelError:
    return ModelError(f"'{path}' is not a usable CrossView model checkpoint: {what}.")


def load_checkpoint(path: str | os.PathLike | None = None) -> Checkpoint:
    """Read and validate a checkpoint (default: the shipped one). Raises :class:`ModelError` with the reason."""
    path = Path(path) if path is not None else DEFAULT_CHECKPOINT
    if not path.is_file():
        hint = (
            "Recreate it with `python -m models.pretrain`."
            if path == DEFAULT_CHECKPOINT
            else "Check the path, or train one with `python main.py train`."
        )
        raise ModelError(f"model checkpoint '{path}' does not exist. {hint}")
    try:
        raw = torch.load(io.BytesIO(path.read_bytes()), map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, ValueError, zipfile.BadZipFile, OSError, KeyError, AttributeError) as exc:
        raise _bad(
            path,
            f"the file is damaged or of another kind ({type(exc).__name__}: {str(exc)[:120]}). "
            "Re-download or retrain it",
        ) from None
    except Exception as exc:  # weights_only refuses pickled code with UnpicklingError and friends
        raise _bad(path, f"it could not be read safely ({type(exc).__name__}: {str(exc)[:120]})") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise _bad(path, f"it is not a {FORMAT} file (a bare state_dict or another program's model?)")
    version = raw.get("format_version")
    if version != FORMAT_VERSION:
        raise _bad(
            path,
            f"it has format version {version}, this CrossView reads version {FORMAT_VERSION}. "
            "Use a checkpoint made by this version or retrain",
        )
    sk = raw.get("skeleton") or {}
    mine = skeleton_signature()
    if (
        list(sk.get("joint_names", [])) != mine["joint_names"]
        or [list(b) for b in sk.get("bones", [])] != mine["bones"]
    ):
        raise _bad(
            path,
            f"it was trained for another skeleton ({len(sk.get('joint_names', []))} joints "
            f"{list(sk.get('joint_names', []))[:4]}...), CrossView uses Human3.6M-17. Retrain it",
        )
    for key, kind in (("model_config", dict), ("state_dict", dict), ("dtype", str), ("id", str)):
        if not isinstance(raw.get(key), kind):
            found = "missing" if key not in raw else f"a {type(raw[key]).__name__}"
            raise _bad(path, f"its '{key}' entry is {found}, not a {kind.__name__}. Re-download or retrain it")
    if raw["dtype"] not in ("float16", "float32"):
        raise _bad(path, f"its dtype is {raw['dtype']!r}, not float16 or float32")
    try:
        cfg = CVUGCNConfig.from_dict(dict(raw["model_config"]))
    except (TypeError, ValueError, ModelError) as exc:
        raise _bad(path, f"its model config is not valid ({exc})") from None
    state = dict(raw["state_dict"])
    if not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise _bad(path, "its weights are not all tensors")
    bad = [k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        raise _bad(path, f"its weights hold NaN or infinite values ({', '.join(bad[:3])}); retrain it")
    cid = content_id(raw["model_config"], state)
    if raw.get("id") != cid:
        raise _bad(path, "its weights do not match its id (the file was modified or damaged). Re-download or retrain")
    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    ckpt = Checkpoint(
        model_config=cfg, state_dict=state, meta=dict(raw.get("meta") or {}), id=cid, path=path, dtype=raw["dtype"]
    )
    ckpt.build_model()  # fail now, with a clear message, if the weights do not fit the network
    return ckpt
