"""Tests of models.graph (typed adjacency from core.skeleton) and models.cvugcn (the refinement network)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.errors import ModelError
from core.skeleton import BONES, JOINT_PART, LR_PAIRS, MIRROR, NUM_JOINTS, PARTS
from models import graph
from models.cvugcn import CVUGCN, CVUGCNConfig, GraphConv, count_parameters, fuse_batchnorm

# ----------------------------------------------------------------------------- graphs


def test_skeleton_adjacency_matches_the_skeleton():
    A = graph.skeleton_adjacency(normalize=False)
    assert A.shape == (4, 17, 17) and graph.SKELETON_TYPES == ("self", "hop1", "hop2", "mirror")
    self_, hop1, hop2, mirror = A
    np.testing.assert_array_equal(self_, np.eye(17))
    expect = np.zeros((17, 17))
    expect[BONES[:, 0], BONES[:, 1]] = expect[BONES[:, 1], BONES[:, 0]] = 1
    np.testing.assert_array_equal(hop1, expect)  # every bone, nothing else
    np.testing.assert_array_equal(hop2, ((expect @ expect) > 0) & (expect == 0) & (np.eye(17) == 0))
    assert hop2[0, 2] == 1 and hop2[1, 4] == 1 and hop2[0, 1] == 0 and hop2[3, 0] == 0  # pelvis-knee, hip-hip
    m = np.zeros((17, 17))
    m[LR_PAIRS[:, 0], LR_PAIRS[:, 1]] = m[LR_PAIRS[:, 1], LR_PAIRS[:, 0]] = 1
    np.testing.assert_array_equal(mirror, m)
    assert mirror.sum() == 12 and np.all(mirror[np.arange(17), MIRROR] == (MIRROR != np.arange(17)))


def test_normalisation_is_symmetric_per_type():
    raw = graph.skeleton_adjacency(normalize=False)
    A = graph.skeleton_adjacency()
    assert A.dtype == np.float32
    for k in range(4):
        d = raw[k].sum(1)
        inv = np.where(d > 0, 1 / np.sqrt(np.maximum(d, 1e-12)), 0)
        np.testing.assert_allclose(A[k], inv[:, None] * raw[k] * inv[None, :], rtol=1e-6)
        np.testing.assert_allclose(A[k], A[k].T)
    assert np.all(A[3][[0, 7, 8, 9, 10]] == 0)  # mid-line joints have no mirror neighbour
    w = np.linalg.eigvalsh(A[1].astype(np.float64))
    assert w.max() <= 1 + 1e-6  # normalised: spectral radius at most 1


def test_cross_view_adjacency():
    A = graph.cross_view_adjacency(normalize=False)
    single = graph.skeleton_adjacency(normalize=False)
    assert A.shape == (5, 34, 34) and graph.JOINT_TYPES[-1] == "cross_view"
    for k in range(4):
        np.testing.assert_array_equal(A[k, :17, :17], single[k])
        np.testing.assert_array_equal(A[k, 17:, 17:], single[k])
        assert A[k, :17, 17:].sum() == 0  # nothing but 'cross_view' links the views
    np.testing.assert_array_equal(A[4], np.kron([[0, 1], [1, 0]], np.eye(17)))
    An = graph.cross_view_adjacency()
    np.testing.assert_allclose(An, np.swapaxes(An, 1, 2))


def test_part_and_body_adjacency():
    edges = {tuple(e) for e in graph.part_edges()}
    torso = 2
    assert edges == {tuple(sorted((torso, p))) for p in range(5) if p != torso}
    assert list(graph.part_mirror()) == [1, 0, 2, 4, 3]
    assert all(JOINT_PART[MIRROR[PARTS[p][0]]] == graph.part_mirror()[p] for p in range(5))
    A = graph.part_adjacency(normalize=False)
    assert A.shape == (5, 10, 10)
    self_, adj, hop2, mirror, cross = A
    assert adj[0, 2] == 1 and adj[0, 1] == 0 and hop2[0, 1] == 1 and hop2[0, 3] == 1 and hop2[0, 2] == 0
    assert mirror[3, 4] == 1 and mirror[2].sum() == 0 and mirror[5 + 0, 5 + 1] == 1
    np.testing.assert_array_equal(cross, np.kron([[0, 1], [1, 0]], np.eye(5)))
    B = graph.body_adjacency(normalize=False)
    np.testing.assert_array_equal(B, [np.eye(2), [[0, 1], [1, 0]]])


def test_graph_conv_equals_the_sum_over_types():
    torch.manual_seed(0)
    A = graph.cross_view_adjacency()
    for cin, cout in ((8, 16), (16, 8)):  # both evaluation orders
        gc = GraphConv(A, cin, cout)
        x = torch.randn(3, 34, cin)
        ref = sum(torch.as_tensor(A[k]) @ x @ gc.weight[k] for k in range(5))
        torch.testing.assert_close(gc(x), ref, rtol=1e-5, atol=1e-5)


# ----------------------------------------------------------------------------- network


@pytest.fixture(scope="module")
def tiny() -> CVUGCN:
    torch.manual_seed(0)
    return CVUGCN(CVUGCNConfig.tiny())


def test_shapes_and_identity_at_init(tiny):
    x = 0.3 * torch.randn(5, 2, 17, 3)
    tiny.train()
    y = tiny(x)
    assert y.shape == (5, 2, 17, 3) and y.dtype == torch.float32
    assert torch.count_nonzero(y) == 0  # a fresh model refines nothing
    tiny.eval()
    with torch.inference_mode():
        assert torch.count_nonzero(tiny(x[:1])) == 0
    full = CVUGCN()
    with torch.inference_mode():
        assert torch.count_nonzero(full.eval()(x)) == 0


def test_bad_input_shape_is_refused(tiny):
    with pytest.raises(ValueError, match=r"\(B, 2, 17, in_dim\)"):
        tiny(torch.zeros(2, 17, 3))
    with pytest.raises(ValueError):
        tiny(torch.zeros(1, 2, 16, 3))


def test_gradient_reaches_every_parameter():
    torch.manual_seed(1)
    model = CVUGCN(CVUGCNConfig.tiny()).train()
    x = 0.3 * torch.randn(8, 2, 17, 3)
    target = 0.01 * torch.randn(8, 2, 17, 3)
    ((model(x) - target) ** 2).mean().backward()
    assert model.head.weight.grad.abs().sum() > 0  # the zero-initialised head learns first
    model.zero_grad()
    with torch.no_grad():
        model.head.weight.normal_(0, 0.1)  # as after a first step
    ((model(x) - target) ** 2).mean().backward()
    dead = [n for n, p in model.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
    assert not dead, f"no gradient reaches {dead}"


def test_view_swap_symmetry_and_fusion():
    torch.manual_seed(2)
    model = CVUGCN(CVUGCNConfig.tiny()).train()
    with torch.no_grad():
        model.head.weight.normal_(0, 0.1)
        for _ in range(3):
            model(0.3 * torch.randn(32, 2, 17, 3))  # non-trivial BatchNorm statistics
    model.eval()
    x = 0.3 * torch.randn(4, 2, 17, 3)
    with torch.inference_mode():
        y = model(x)
        assert y.abs().max() > 1e-4
        torch.testing.assert_close(model(x.flip(1)), y.flip(1))  # shared branch + symmetric graphs
        fused = fuse_batchnorm(model)
        assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in fused.modules())
        torch.testing.assert_close(fused(x), y, rtol=1e-4, atol=1e-6)
        scripted = torch.jit.script(fused)
        torch.testing.assert_close(scripted(x), y, rtol=1e-4, atol=1e-6)


def test_config_round_trip_and_variants():
    cfg = CVUGCNConfig.narrow()
    d = cfg.to_dict()
    assert isinstance(d["view_widths"], list)
    assert CVUGCNConfig.from_dict(d) == cfg
    with pytest.raises(ModelError, match="unknown keys"):
        CVUGCNConfig.from_dict({**d, "colour": 1})
    with pytest.raises(ModelError):
        CVUGCNConfig(joint_width=0)
    with pytest.raises(ModelError):
        CVUGCNConfig(dropout=1.5)
    full, narrow = CVUGCN(CVUGCNConfig.full()), CVUGCN(narrow_cfg := CVUGCNConfig.narrow())
    n_full, n_narrow = count_parameters(full), count_parameters(narrow)
    assert 4.0e6 < n_full < 6.0e6  # the doc's ~5 M
    assert n_narrow < n_full / 4
    assert narrow.config == narrow_cfg and narrow.head.in_features == 128 + 128
    # state dicts carry over between models built from the same config
    again = CVUGCN(CVUGCNConfig.from_dict(narrow_cfg.to_dict()))
    again.load_state_dict(narrow.state_dict())


def test_seeded_construction_is_deterministic():
    torch.manual_seed(5)
    a = CVUGCN(CVUGCNConfig.tiny())
    torch.manual_seed(5)
    b = CVUGCN(CVUGCNConfig.tiny())
    for (na, pa), (_, pb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(pa, pb), na


def test_pooling_follows_the_parts():
    """A feature seen only at one joint reaches, through part max-pooling, exactly that part's joints first."""
    model = CVUGCN(CVUGCNConfig.tiny())
    idx = model.part_index.numpy()
    for p, joints in enumerate(PARTS):
        assert set(idx[p]) == set(joints)
    assert model.joint_part.tolist() == JOINT_PART.tolist() and len(JOINT_PART) == NUM_JOINTS


def test_a_gated_model_scales_its_residual_by_its_own_confidence():
    cfg = CVUGCNConfig.tiny()
    torch.manual_seed(0)
    gated = CVUGCN(CVUGCNConfig(**{**cfg.to_dict(), "gate": True})).eval()
    x = 0.3 * torch.randn(4, 2, 17, 3)
    assert torch.equal(gated(x), torch.zeros(4, 2, 17, 3))  # fresh: the identity, like the ungated model
    with torch.no_grad():
        gated.head.weight.normal_(0.0, 0.05)
        gated.head.bias[-1] = -3.0  # unsure: sigmoid(-3) = 0.047
        gated.head.weight[-1] = 0.0
    out = gated(x)
    assert out.shape == (4, 2, 17, 3)
    with torch.no_grad():
        gated.head.bias[-1] = 30.0  # sure: the whole residual
    full = gated(x)
    assert torch.allclose(out, full * torch.sigmoid(torch.tensor(-3.0)), atol=1e-6)
    assert torch.allclose(fuse_batchnorm(gated)(x), full, atol=1e-5)
