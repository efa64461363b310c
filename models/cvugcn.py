"""CV-UGCN: the cross-view U-shaped graph convolutional network that refines a triangulated two-view pose.

Input ``x`` (B, 2, 17, C): for each view, the coarse 3D pose in that camera's frame, root-centred (pelvis
at 0), metres, in the first 3 channels; ``C`` and the other channels follow ``CVUGCNConfig.inputs``
(:func:`models.prep.node_features`) and, for a temporal model, its window of earlier / later frames
(``past`` / ``future``, :func:`models.prep.window_features`): the temporal extension keeps the cross-view graph
and gives each node the joint's recent track. Output (B, 2, 17, 3): the residual in metres; the refined pose
is ``x + residual`` (``docs/cv_ugcn.md``). A fresh model returns exactly zero (its last layer is zero-initialised).

Architecture (the doc's U-shape; widths from :class:`CVUGCNConfig`, defaults = the doc's):

1. per view, shared weights: S-GCN(3 -> 128), S-GCN(128 -> 128) on the 17-joint graph (4 types);
2. fuse both views into one 34-node graph; M-GCN(128 -> 256) (5 types)          -> joint skip;
3. max-pool joints to 2 x 5 parts; M-GCN(256 -> 512) (5 types)                  -> part skip;
4. max-pool parts to 2 x 1 bodies; ``body_depth`` (default 7) x M-GCN(512 -> 512) (2 types), each residual;
5. unpool body to parts, concat the part skip (512 + 512), linear -> 256 (+ BN, ReLU, dropout);
6. unpool parts to joints, concat the joint skip (256 + 256), linear -> 3: the residual.

Every graph convolution is ``Z = sum_k A_k H W_k`` (adjacency from :mod:`models.graph`) evaluated as
two matrix products over all K types at once, followed by BatchNorm, ReLU and dropout. The view branch
shares weights across views and the graphs are symmetric between views, so swapping the two views'
inputs swaps the outputs.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from core.errors import ModelError
from core.skeleton import JOINT_PART, NUM_JOINTS, PARTS

from .graph import NUM_PARTS, body_adjacency, cross_view_adjacency, part_adjacency, skeleton_adjacency
from .prep import INPUT_CHANNELS, input_channels

#: Longest temporal window side a config may ask for (frames).
MAX_WINDOW = 32

__all__ = ["CVUGCN", "CVUGCNConfig", "GraphConv", "count_parameters", "fuse_batchnorm"]


#: The largest layer width and body depth a checkpoint may ask for (the shipped models use 512 and 7).
MAX_WIDTH = 4096
MAX_DEPTH = 32


@dataclass(frozen=True)
class CVUGCNConfig:
    """Widths and depth of CV-UGCN. ``views`` is fixed at 2 by the graphs; dims are per node."""

    in_dim: int = 3
    out_dim: int = 3
    view_widths: tuple[int, ...] = (128, 128)
    joint_width: int = 256
    part_width: int = 512
    body_width: int = 512
    body_depth: int = 7
    up_width: int = 256
    dropout: float = 0.1
    views: int = 2
    #: What each node sees (:data:`models.prep.INPUT_CHANNELS`); ``in_dim`` must be its channel count.
    inputs: str = "xyz"
    #: Temporal window: earlier and later frames each node also sees (:func:`models.prep.window_features`).
    #: ``past > 0, future = 0`` is causal (live); a model with ``future > 0`` needs the whole take (offline).
    past: int = 0
    future: int = 0
    #: [ours] The residual scaled per node by the model's own confidence in it, ``sigmoid(g)`` from an extra
    #: output channel: a correction the model is unsure of shrinks towards the coarse joint.
    gate: bool = False

    def __post_init__(self) -> None:
        if self.inputs not in INPUT_CHANNELS:
            raise ModelError(
                f"The model config asks for network inputs {self.inputs!r}; this version knows "
                f"{sorted(INPUT_CHANNELS)}. Use a checkpoint made by this version or retrain."
            )
        if not (isinstance(self.past, int) and isinstance(self.future, int)) or not (
            0 <= self.past <= MAX_WINDOW and 0 <= self.future <= MAX_WINDOW
        ):
            raise ModelError(
                f"Invalid CV-UGCN config: past {self.past!r} and future {self.future!r} frames must be whole numbers "
                f"from 0 to {MAX_WINDOW}."
            )
        channels = input_channels(self.inputs, self.past, self.future)
        if self.in_dim != channels:
            raise ModelError(
                f"Invalid CV-UGCN config: inputs {self.inputs!r} over {self.past} past and {self.future} future "
                f"frames have {channels} channels, in_dim says {self.in_dim}."
            )
        sizes = [self.out_dim, self.joint_width, self.part_width, self.body_width, self.up_width, self.body_depth]
        if isinstance(self.view_widths, (str, bytes)) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in [*self.view_widths, *sizes]
        ):
            raise ModelError(f"Invalid CV-UGCN config {self}: widths and body_depth must be whole numbers.")
        object.__setattr__(self, "view_widths", tuple(int(w) for w in self.view_widths))
        ints = [self.in_dim, self.out_dim, self.joint_width, self.part_width, self.body_width, self.up_width]
        if not self.view_widths or min([*self.view_widths, *ints]) < 1 or self.body_depth < 1:
            raise ModelError(f"Invalid CV-UGCN config {self}: every width and body_depth must be >= 1.")
        # checked before anything is allocated: a damaged config must not ask for gigabytes
        if max([*self.view_widths, *ints]) > MAX_WIDTH or self.body_depth > MAX_DEPTH or len(self.view_widths) > 8:
            raise ModelError(
                f"Invalid CV-UGCN config: widths up to {MAX_WIDTH}, body_depth up to {MAX_DEPTH} and up to 8 view "
                f"layers are allowed, this one asks for widths {list(self.view_widths)} / {ints} and depth "
                f"{self.body_depth}. The checkpoint is damaged or not a CrossView model."
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ModelError(f"Invalid CV-UGCN dropout {self.dropout}: use a value in [0, 1).")
        if self.views != 2:
            raise ModelError(f"CV-UGCN works on exactly 2 views, config says {self.views}.")

    @classmethod
    def full(cls) -> CVUGCNConfig:
        """The doc's widths (128/256/512) and seven body-level layers: about 4.8 M parameters (the doc's ~5 M)."""
        return cls()

    @classmethod
    def narrow(cls) -> CVUGCNConfig:
        """Half the doc's widths and two body-level layers (about a quarter of the parameters)."""
        return cls(view_widths=(64, 64), joint_width=128, part_width=256, body_width=256, body_depth=2, up_width=128)

    def with_inputs(self, inputs: str, past: int = 0, future: int = 0) -> CVUGCNConfig:
        """The same widths with another input kind and temporal window (``in_dim`` follows)."""
        from dataclasses import replace

        if inputs not in INPUT_CHANNELS:
            raise ModelError(f"unknown network inputs {inputs!r}; choose one of {sorted(INPUT_CHANNELS)}.")
        return replace(self, inputs=inputs, past=past, future=future, in_dim=input_channels(inputs, past, future))

    @property
    def window(self) -> int:
        """Frames each prediction sees: ``past + 1 + future``."""
        return self.past + 1 + self.future

    @classmethod
    def tiny(cls) -> CVUGCNConfig:
        """A quarter of the doc's widths; for tests and very slow machines."""
        return cls(view_widths=(32, 32), joint_width=64, part_width=128, body_width=128, body_depth=1, up_width=64)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["view_widths"] = list(self.view_widths)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CVUGCNConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ModelError(
                f"The model config has unknown keys {sorted(unknown)}; it was saved by another version of "
                "CrossView. Use a checkpoint made by this version or retrain."
            )
        return cls(**d)


class GraphConv(nn.Module):
    """``Z = sum_k A_k H W_k (+ b)`` for a fixed ``A`` (K, N, N): (B, N, Cin) -> (B, N, Cout).

    Computed as one stacked aggregation and one matmul with the K weights concatenated, choosing the
    cheaper order (aggregate first when Cin < Cout, else transform first).
    """

    def __init__(self, A: np.ndarray, in_dim: int, out_dim: int, bias: bool = False) -> None:
        super().__init__()
        A_t = torch.as_tensor(np.asarray(A, dtype=np.float32))
        K, N, _ = A_t.shape
        self.K, self.N, self.in_dim, self.out_dim = int(K), int(N), int(in_dim), int(out_dim)
        self.aggregate_first = in_dim < out_dim
        # rows: (K*N, N) with row k*N+n = A_k[n]; cols: (N, K*N) with [n, k*N+m] = A_k[n, m]
        self.register_buffer("A_rows", A_t.reshape(K * N, N).contiguous())
        self.register_buffer("A_cols", A_t.permute(1, 0, 2).reshape(N, K * N).contiguous())
        self.weight = nn.Parameter(torch.empty(K, in_dim, out_dim))
        self.bias = nn.Parameter(torch.zeros(out_dim)) if bias else None
        for k in range(K):
            nn.init.xavier_uniform_(self.weight.data[k])

    def forward(self, x: Tensor) -> Tensor:
        B = x.shape[0]
        if self.aggregate_first:
            ax = torch.matmul(self.A_rows, x)  # (B, K*N, Cin)
            ax = ax.view(B, self.K, self.N, self.in_dim).transpose(1, 2).reshape(B, self.N, self.K * self.in_dim)
            z = torch.matmul(ax, self.weight.reshape(self.K * self.in_dim, self.out_dim))
        else:
            w = self.weight.permute(1, 0, 2).reshape(self.in_dim, self.K * self.out_dim)
            xw = torch.matmul(x, w).view(B, self.N, self.K, self.out_dim)  # (B, N, K, Cout)
            z = torch.matmul(self.A_cols, xw.transpose(1, 2).reshape(B, self.K * self.N, self.out_dim))
        if self.bias is not None:
            z = z + self.bias
        return z


class GCNBlock(nn.Module):
    """GraphConv -> BatchNorm -> ReLU -> Dropout, with an optional residual (same width only)."""

    def __init__(self, A: np.ndarray, in_dim: int, out_dim: int, dropout: float, residual: bool = False) -> None:
        super().__init__()
        self.conv = GraphConv(A, in_dim, out_dim)
        self.bn: nn.Module = nn.BatchNorm1d(out_dim)  # over channels, statistics shared by all nodes
        self.act = nn.ReLU(inplace=True)
        self.drop = nn.Dropout(dropout)
        self.residual = residual and in_dim == out_dim

    def forward(self, x: Tensor) -> Tensor:
        z = self.conv(x)
        y = self.drop(self.act(self.bn(z.reshape(-1, z.shape[-1])).reshape(z.shape)))
        return x + y if self.residual else y


class LinearBlock(nn.Module):
    """Per-node Linear -> BatchNorm -> ReLU -> Dropout."""

    def __init__(self, in_dim: int, out_dim: int, dropout: float) -> None:
        super().__init__()
        self.linear = nn.Linear(in_dim, out_dim, bias=False)
        self.bn: nn.Module = nn.BatchNorm1d(out_dim)  # over channels, statistics shared by all nodes
        self.act = nn.ReLU(inplace=True)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        z = self.linear(x)
        return self.drop(self.act(self.bn(z.reshape(-1, z.shape[-1])).reshape(z.shape)))


def _part_index() -> np.ndarray:
    """(5, L) joint indices of each part, padded by repeating the part's first joint (harmless for max)."""
    L = max(len(p) for p in PARTS)
    return np.array([list(p) + [p[0]] * (L - len(p)) for p in PARTS], dtype=np.int64)


class CVUGCN(nn.Module):
    """The refinement network: ``forward(x (B, 2, 17, 3) m) -> residual (B, 2, 17, 3) m``."""

    def __init__(self, config: CVUGCNConfig | None = None) -> None:
        super().__init__()
        cfg = config or CVUGCNConfig()
        self.config = cfg
        V, d = cfg.views, cfg.dropout
        A_s, A_j, A_p, A_b = skeleton_adjacency(), cross_view_adjacency(V), part_adjacency(V), body_adjacency(V)
        widths = (cfg.in_dim, *cfg.view_widths)
        self.view_branch = nn.Sequential(*[GCNBlock(A_s, a, b, d) for a, b in zip(widths[:-1], widths[1:])])
        self.joint_gcn = GCNBlock(A_j, widths[-1], cfg.joint_width, d)
        self.part_gcn = GCNBlock(A_p, cfg.joint_width, cfg.part_width, d)
        body = [GCNBlock(A_b, cfg.part_width, cfg.body_width, d, residual=True)]
        body += [GCNBlock(A_b, cfg.body_width, cfg.body_width, d, residual=True) for _ in range(cfg.body_depth - 1)]
        self.body_gcn = nn.Sequential(*body)
        self.part_up = LinearBlock(cfg.body_width + cfg.part_width, cfg.up_width, d)
        self.gate = bool(cfg.gate)
        self.head = nn.Linear(cfg.up_width + cfg.joint_width, cfg.out_dim + int(self.gate))
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        self.register_buffer("part_index", torch.as_tensor(_part_index()), persistent=False)
        self.register_buffer("joint_part", torch.as_tensor(np.asarray(JOINT_PART, dtype=np.int64)), persistent=False)
        self.views = V
        self.num_joints = NUM_JOINTS
        self.num_parts = NUM_PARTS
        self.in_dim = cfg.in_dim

    def forward(self, x: Tensor) -> Tensor:
        if not torch.jit.is_tracing() and (
            x.dim() != 4 or x.shape[1] != self.views or x.shape[2] != self.num_joints or x.shape[3] != self.in_dim
        ):
            raise ValueError(
                "CVUGCN expects input of shape (B, 2, 17, in_dim): the node features of models.prep.node_features "
                "for the model's config.inputs (root-centred per-view poses in metres first)"
            )
        B, V, J, P = x.shape[0], self.views, self.num_joints, self.num_parts
        h = self.view_branch(x.reshape(B * V, J, self.in_dim))  # (B V, 17, C)
        h = self.joint_gcn(h.reshape(B, V * J, h.shape[-1]))  # (B, 34, Cj)
        skip_j = h
        Cj = h.shape[-1]
        p = h.view(B, V, J, Cj)[:, :, self.part_index].amax(dim=3)  # (B, V, 5, Cj)
        p = self.part_gcn(p.reshape(B, V * P, Cj))  # (B, 10, Cp)
        skip_p = p
        Cp = p.shape[-1]
        b = self.body_gcn(p.view(B, V, P, Cp).amax(dim=2))  # (B, V, Cb)
        up = b[:, :, None, :].expand(B, V, P, b.shape[-1]).reshape(B, V * P, b.shape[-1])
        up = self.part_up(torch.cat([up, skip_p], dim=-1))  # (B, 10, Cu)
        Cu = up.shape[-1]
        uj = up.view(B, V, P, Cu)[:, :, self.joint_part].reshape(B, V * J, Cu)
        out = self.head(torch.cat([uj, skip_j], dim=-1))  # (B, 34, out [+ gate])
        out = out.view(B, V, J, out.shape[-1])
        if self.gate:
            return out[..., :-1] * torch.sigmoid(out[..., -1:])
        return out


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) parameters."""
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only))


def _fold(bn: nn.BatchNorm1d) -> tuple[Tensor, Tensor]:
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    return scale, bn.bias - bn.running_mean * scale


@torch.no_grad()
def fuse_batchnorm(model: CVUGCN) -> CVUGCN:
    """An inference-only copy (eval mode) with every BatchNorm folded into the preceding weights.

    Same outputs as ``model.eval()`` up to float rounding, fewer operations per layer. Do not train it.
    """
    fused = copy.deepcopy(model).eval()
    for m in fused.modules():
        if isinstance(m, GCNBlock):
            s, b = _fold(m.bn)
            m.conv.weight.mul_(s)
            m.conv.bias = nn.Parameter(b.clone() if m.conv.bias is None else m.conv.bias * s + b)
            m.bn = nn.Identity()
        elif isinstance(m, LinearBlock):
            s, b = _fold(m.bn)
            w = m.linear.weight * s[:, None]
            m.linear = nn.Linear(w.shape[1], w.shape[0], bias=True)
            m.linear.weight.copy_(w)
            m.linear.bias.copy_(b)
            m.bn = nn.Identity()
    for p in fused.parameters():
        p.requires_grad_(False)
    return fused
