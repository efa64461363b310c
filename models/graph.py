"""Typed, normalised adjacency matrices for the CV-UGCN graph convolutions, built from ``core.skeleton``.

A graph convolution with K neighbour types computes ``Z = sum_k A_k H W_k``; this module gives the
``(K, N, N)`` stacks ``A``. Every type is normalised on its own, ``A_k = D_k^-1/2 A~_k D_k^-1/2`` with
``D_k`` the row degrees of ``A~_k``; the self type is the identity, the other types carry no self loops
(the self type already covers them), and a node with no neighbour of a type has a zero row and column.
All matrices are symmetric float32. Nodes of several views are view-major: node ``v * n + i``.

Neighbour types (indices are the constants below):

* joint level, one view (S-GCN, 17 nodes, 4 types): self; 1-hop (the bones); 2-hop (joints exactly two
  bones apart); mirror (``core.skeleton.LR_PAIRS``; mid-line joints have none);
* joint level, two views (M-GCN, 34 nodes, 5 types): the four above inside each view, plus the same
  joint in the other view;
* part level (2 x 5 nodes, 5 types, parts of ``core.skeleton.PARTS``): self; adjacent parts (a bone
  joins them: each limb and the torso); 2-hop parts (limb to limb through the torso); mirror part
  (right leg - left leg, right arm - left arm); the same part in the other view;
* body level (2 x 1 nodes, 2 types): self; the body in the other view.
"""

from __future__ import annotations

import numpy as np

from core.skeleton import BONES, JOINT_PART, MIRROR, NUM_JOINTS, PARTS

__all__ = [
    "BODY_TYPES",
    "JOINT_TYPES",
    "NUM_PARTS",
    "PART_TYPES",
    "SKELETON_TYPES",
    "body_adjacency",
    "cross_view_adjacency",
    "hop_distances",
    "normalize_adjacency",
    "part_adjacency",
    "part_edges",
    "part_mirror",
    "skeleton_adjacency",
]

NUM_PARTS = len(PARTS)

#: Neighbour types of the single-view joint graph (S-GCN).
SKELETON_TYPES: tuple[str, ...] = ("self", "hop1", "hop2", "mirror")
#: Neighbour types of the two-view joint graph (M-GCN, joint level).
JOINT_TYPES: tuple[str, ...] = (*SKELETON_TYPES, "cross_view")
#: Neighbour types of the two-view part graph.
PART_TYPES: tuple[str, ...] = ("self", "adjacent", "hop2", "mirror", "cross_view")
#: Neighbour types of the two-view body graph.
BODY_TYPES: tuple[str, ...] = ("self", "cross_view")


def normalize_adjacency(A: np.ndarray) -> np.ndarray:
    """Symmetric normalisation of each type: ``(K, N, N) -> (K, N, N)``, ``D^-1/2 A D^-1/2``; 0-degree nodes stay 0."""
    A = np.asarray(A, dtype=np.float64)
    deg = A.sum(axis=-1)  # (K, N)
    inv = np.where(deg > 0, 1.0 / np.sqrt(np.where(deg > 0, deg, 1.0)), 0.0)
    return (inv[..., :, None] * A * inv[..., None, :]).astype(np.float32)


def hop_distances(edges: np.ndarray, n: int) -> np.ndarray:
    """Shortest path lengths ``(n, n)`` (in edges; large for unconnected) of an undirected graph ``edges (E, 2)``."""
    big = n + 1
    D = np.full((n, n), big, dtype=np.int64)
    np.fill_diagonal(D, 0)
    e = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    D[e[:, 0], e[:, 1]] = 1
    D[e[:, 1], e[:, 0]] = 1
    for k in range(n):  # Floyd-Warshall on a tiny graph, built once
        D = np.minimum(D, D[:, k : k + 1] + D[k : k + 1, :])
    return D


def _typed(edges: np.ndarray, mirror: np.ndarray, n: int) -> np.ndarray:
    """Unnormalised (4, n, n) 0/1 stack: self, 1-hop, 2-hop, mirror (no self loops outside the self type)."""
    D = hop_distances(edges, n)
    M = np.zeros((n, n))
    M[np.arange(n), mirror] = 1.0
    np.fill_diagonal(M, 0.0)
    return np.stack([np.eye(n), (D == 1).astype(float), (D == 2).astype(float), M])


def _two_views(single: np.ndarray, views: int) -> np.ndarray:
    """Block-diagonal copies of ``(K, n, n)`` per view plus a 'same node, other view' type -> (K+1, V n, V n)."""
    K, n, _ = single.shape
    eye_v = np.eye(views)
    blocks = np.stack([np.kron(eye_v, single[k]) for k in range(K)])
    cross = np.kron(np.ones((views, views)) - eye_v, np.eye(n))
    return np.concatenate([blocks, cross[None]], axis=0)


def skeleton_adjacency(normalize: bool = True) -> np.ndarray:
    """S-GCN adjacency ``(4, 17, 17)``: self, 1-hop, 2-hop, mirror (see :data:`SKELETON_TYPES`)."""
    A = _typed(BONES, MIRROR, NUM_JOINTS)
    return normalize_adjacency(A) if normalize else A.astype(np.float32)


def cross_view_adjacency(views: int = 2, normalize: bool = True) -> np.ndarray:
    """M-GCN joint-level adjacency ``(5, 17 V, 17 V)`` (see :data:`JOINT_TYPES`), view-major nodes."""
    A = _two_views(_typed(BONES, MIRROR, NUM_JOINTS), views)
    return normalize_adjacency(A) if normalize else A.astype(np.float32)


def part_edges() -> np.ndarray:
    """Edges ``(E, 2)`` between parts that a bone of the skeleton joins."""
    pairs = {tuple(sorted((int(JOINT_PART[a]), int(JOINT_PART[b])))) for a, b in BONES}
    return np.array(sorted(p for p in pairs if p[0] != p[1]), dtype=np.int64)


def part_mirror() -> np.ndarray:
    """Mirror part of each part ``(5,)`` (itself for the torso), from the joints' mirrors."""
    return np.array([JOINT_PART[MIRROR[p[0]]] for p in PARTS], dtype=np.int64)


def part_adjacency(views: int = 2, normalize: bool = True) -> np.ndarray:
    """Part-level adjacency ``(5, 5 V, 5 V)`` (see :data:`PART_TYPES`), view-major nodes."""
    A = _two_views(_typed(part_edges(), part_mirror(), NUM_PARTS), views)
    return normalize_adjacency(A) if normalize else A.astype(np.float32)


def body_adjacency(views: int = 2, normalize: bool = True) -> np.ndarray:
    """Body-level adjacency ``(2, V, V)``: self and the other view(s)."""
    A = np.stack([np.eye(views), np.ones((views, views)) - np.eye(views)])
    return normalize_adjacency(A) if normalize else A.astype(np.float32)
