"""A robust Levenberg-Marquardt solver for problems with a few global parameters and many small independent
blocks (bundle adjustment: cameras + board poses, or cameras + 3D points), by the Schur complement. No Qt.

The parameter vector is ``x = [globals (G,), blocks (B, S) flattened]``; every residual depends on the globals and
on at most ONE block. Each iteration builds the grouped forward-difference Jacobian (one evaluation per free global
parameter and one per block coordinate, all blocks at once), reduces the normal equations to the ``G x G`` system of
the globals (``S = U - sum_b W_b V_b^-1 W_b^T``) and back-substitutes each block's ``S x S`` step: the cost grows
with the number of residuals, not with the cube of the parameters.

Robust loss: soft-L1 on each point's squared residual norm (``point`` consecutive residuals form one point, e.g. a
pixel's u and v), ``rho(s) = 2 (sqrt(1 + s) - 1)`` with ``s = |r|^2 / f_scale^2``, solved by iteratively
re-weighted least squares. The uncertainty of the globals is ``sigma^2 S^-1`` at the solution.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix


@dataclass(frozen=True, eq=False)
class BlockProblem:
    """``residuals(x) -> (R,)``; ``n_global`` G; ``block_size`` S; ``row_block`` ``(R,)`` the block each residual
    depends on (-1: none); ``free`` ``(G + B S,)`` which parameters move; ``point`` residuals per robust point;
    ``f_scale``: the robust loss's scale (residual units)."""

    residuals: Callable[[np.ndarray], np.ndarray]
    n_global: int
    block_size: int
    row_block: np.ndarray
    free: np.ndarray
    point: int = 2
    f_scale: float = 1.0


@dataclass(frozen=True, eq=False)
class BlockSolution:
    """``x`` the solution; ``residuals`` ``(R,)`` at it; ``cov_global`` ``(G, G)`` (NaN where not free);
    ``iterations``; ``converged``."""

    x: np.ndarray
    residuals: np.ndarray
    cov_global: np.ndarray
    iterations: int
    converged: bool


def _weights(r: np.ndarray, point: int, f_scale: float) -> tuple[np.ndarray, float]:
    """Per-residual IRLS weights ``(R,)`` and the robust cost of residuals ``r``."""
    s = np.sum(r.reshape(-1, point) ** 2, axis=1) / f_scale**2
    w = 1.0 / np.sqrt(1.0 + s)
    cost = float(np.sum(2.0 * (np.sqrt(1.0 + s) - 1.0))) * f_scale**2
    return np.repeat(w, point), cost


class _Jacobian:
    """The grouped forward-difference Jacobian of one problem."""

    def __init__(self, p: BlockProblem, n_blocks: int) -> None:
        self.p = p
        self.gidx = np.nonzero(p.free[: p.n_global])[0]
        blocks = p.free[p.n_global :].reshape(n_blocks, p.block_size)
        self.block_free = blocks  # (B, S)
        rb = p.row_block
        self.on_block = rb >= 0
        self.rb = np.where(self.on_block, rb, 0)
        n_rows = len(rb)
        self.indicator = csr_matrix(
            (np.ones(int(self.on_block.sum())), (self.rb[self.on_block], np.nonzero(self.on_block)[0])),
            shape=(n_blocks, n_rows),
        )

    def __call__(self, x: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``J_g (R, G_free)`` and ``J_b (R, S)`` (each row's derivative w.r.t. its own block)."""
        p = self.p
        Jg = np.empty((len(r), len(self.gidx)))
        for j, i in enumerate(self.gidx):
            h = 1e-6 * max(abs(x[i]), 1.0)
            xh = x.copy()
            xh[i] += h
            Jg[:, j] = (p.residuals(xh) - r) / h
        S = p.block_size
        Jb = np.zeros((len(r), S))
        blocks = x[p.n_global :].reshape(-1, S)
        for k in range(S):
            on = self.block_free[:, k]
            if not on.any():
                continue
            h = 1e-6 * np.maximum(np.abs(blocks[:, k]), 1.0)
            xh = x.copy()
            xb = xh[p.n_global :].reshape(-1, S)
            xb[on, k] += h[on]
            d = (p.residuals(xh) - r) / h[self.rb]
            Jb[:, k] = np.where(self.on_block & on[self.rb], d, 0.0)
        return Jg, Jb


def _normal_equations(
    jac: _Jacobian, Jg: np.ndarray, Jb: np.ndarray, r: np.ndarray, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``U (G, G)``, ``g_g (G,)``, ``V (B, S, S)``, ``W (B, G, S)``, ``g_b (B, S)`` of ``J^T w J`` and ``J^T w r``."""
    A = jac.indicator
    S = Jb.shape[1]
    G = Jg.shape[1]
    wJg = w[:, None] * Jg
    U = Jg.T @ wJg
    g_g = wJg.T @ r
    V = (A @ (w[:, None, None] * Jb[:, :, None] * Jb[:, None, :]).reshape(len(r), S * S)).reshape(A.shape[0], S, S)
    W = (A @ (wJg[:, :, None] * Jb[:, None, :]).reshape(len(r), G * S)).reshape(A.shape[0], G, S)
    g_b = A @ ((w * r)[:, None] * Jb)
    return U, g_g, np.asarray(V), np.asarray(W), np.asarray(g_b)


def _reduced(
    U: np.ndarray, V: np.ndarray, W: np.ndarray, lam: float, block_free: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The damped Schur complement ``S (G, G)`` and the damped blocks' inverses ``(B, S, S)``."""
    Vd = V + lam * (V * np.eye(V.shape[1]))
    Vd = Vd + np.eye(V.shape[1]) * (~block_free)[:, :, None]  # a fixed coordinate: identity, zero coupling
    Vinv = np.linalg.inv(Vd + 1e-12 * np.eye(V.shape[1]))
    Ud = U + lam * np.diag(np.diag(U))
    Sm = Ud - np.einsum("bgk,bkl,bhl->gh", W, Vinv, W)
    return Sm, Vinv


def solve_blocks(problem: BlockProblem, x0: np.ndarray, max_iter: int = 100, tol: float = 1e-10) -> BlockSolution:
    """Minimise the robust cost of ``problem.residuals`` from ``x0`` (see the module doc). ``max_iter`` 0 leaves
    ``x0`` as it is and only evaluates the covariance there."""
    p = problem
    x = np.asarray(x0, np.float64).copy()
    n_blocks = (len(x) - p.n_global) // p.block_size
    jac = _Jacobian(p, n_blocks)
    bf = jac.block_free
    r = p.residuals(x)
    w, cost = _weights(r, p.point, p.f_scale)
    lam = 1e-3
    converged = max_iter <= 0  # max_iter 0: only the covariance at x0
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 - the count is reported
        Jg, Jb = jac(x, r)
        U, g_g, V, W, g_b = _normal_equations(jac, Jg, Jb, r, w)
        g_b = g_b * bf
        W = W * bf[:, None, :]
        improved = False
        rel = 0.0
        for _ in range(12):
            Sm, Vinv = _reduced(U, V, W, lam, bf)
            rhs = -g_g + np.einsum("bgk,bkl,bl->g", W, Vinv, g_b)
            try:
                dg = np.linalg.solve(Sm, rhs)
            except np.linalg.LinAlgError:
                dg = np.linalg.lstsq(Sm, rhs, rcond=None)[0]
            db = -np.einsum("bkl,bl->bk", Vinv, g_b + np.einsum("bgk,g->bk", W, dg)) * bf
            xn = x.copy()
            xn[jac.gidx] += dg
            xn[p.n_global :] += db.ravel()
            rn = p.residuals(xn)
            wn, cost_n = _weights(rn, p.point, p.f_scale)
            if np.isfinite(cost_n) and cost_n < cost:
                improved = True
                rel = (cost - cost_n) / max(cost, 1e-300)
                x, r, w, cost = xn, rn, wn, cost_n
                lam = max(lam / 3.0, 1e-9)
                break
            lam *= 10.0
        if not improved or rel < tol:
            converged = True
            break
    Jg, Jb = jac(x, r)
    U, _, V, W, _ = _normal_equations(jac, Jg, Jb, r, w)
    W = W * bf[:, None, :]
    Sm, _ = _reduced(U, V, W, 0.0, bf)
    n_free = int(p.free.sum())
    sigma2 = float(np.sum(w * r**2)) / max(len(r) - n_free, 1)
    cov = np.full((p.n_global, p.n_global), np.nan)
    with contextlib.suppress(np.linalg.LinAlgError):  # singular: the uncertainties stay NaN
        cov[np.ix_(jac.gidx, jac.gidx)] = np.linalg.inv(Sm) * sigma2
    return BlockSolution(x, r, cov, it, converged)
