"""Cross-view association and 3D tracking on synthetic scenes with known truth (core.association, core.tracking)."""

from __future__ import annotations

import numpy as np

from core import skeleton as sk
from core.association import DEFAULT_GATE, associate, pair_costs
from core.camera import Camera, CameraGroup, rodrigues_to_matrix
from core.tracking import PersonTracker, centrality

SIZE = (1280, 720)


def _rig(baseline_m: float = 1.0) -> CameraGroup:
    K = [[900.0, 0, 640], [0, 900.0, 360], [0, 0, 1]]
    a = Camera("a", K, np.zeros(5), np.eye(3), [0, 0, 0], SIZE)
    b = Camera("b", K, np.zeros(5), rodrigues_to_matrix(np.array([0, -0.35, 0])), [-baseline_m, 0, 0.2], SIZE)
    return CameraGroup([a, b])


def _body(x: float, z: float = 4.0, seed: int = 0) -> np.ndarray:
    """A ``(17, 3)`` person (1.7 m tall, in camera a's frame: y down) standing at (x, z) m."""
    rng = np.random.default_rng(seed)
    pts = rng.normal(0, 1, (17, 3)) * [0.15, 0.0, 0.05]
    pts[:, 1] = np.linspace(0.85, -0.85, 17)  # head up (negative y), feet down
    return pts + [x, 0, z]


def _view(group: CameraGroup, v: int, bodies: list[np.ndarray], noise_px: float = 1.0, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed + v)
    uv = np.stack([group[v].project(b) for b in bodies]) + rng.normal(0, noise_px, (len(bodies), 17, 2))
    return np.concatenate([uv, np.full((len(bodies), 17, 1), 0.9)], axis=-1)


def test_two_people_are_paired_with_themselves_whatever_the_order():
    group = _rig()
    subject, bystander = _body(0.0), _body(1.2, 5.0, seed=3)
    a = _view(group, 0, [subject, bystander])
    b = _view(group, 1, [bystander, subject])  # the other view lists them the other way round
    matches = associate(a, b, group)
    assert {(m.a, m.b) for m in matches} == {(0, 1), (1, 0)}
    for m in matches:
        truth = subject if m.a == 0 else bystander
        assert np.linalg.norm(m.root - truth[[1, 4]].mean(0)) < 0.05
        assert m.cost < 0.01


def test_a_mixed_pair_fails_the_gate_and_nothing_is_matched():
    group = _rig()
    a = _view(group, 0, [_body(0.0)])
    b = _view(group, 1, [_body(1.0, 5.5, seed=4)])  # view b sees only someone else
    cost = pair_costs(a, b, group).cost
    assert cost[0, 0] > 3 * DEFAULT_GATE
    assert associate(a, b, group) == []


def test_a_view_with_the_body_mirrored_still_pairs_with_the_same_person():
    group = _rig()
    subject = _body(0.0)
    a = _view(group, 0, [subject])
    b = _view(group, 1, [subject])[:, sk.MIRROR]
    (m,) = associate(a, b, group)
    assert m.cost < 0.01


def test_tracks_keep_their_ids_and_the_followed_person_is_not_swapped_for_the_bystander():
    tracker = PersonTracker()
    subject, bystander = np.array([0.0, 0, 4]), np.array([1.2, 0, 5])
    ids = tracker.update(np.stack([subject, bystander]), 0.0)
    assert ids == [1, 2]
    tracker.follow(1)
    for k in range(1, 20):  # both walk; the subject is unseen (occluded in a view) for frames 5..14
        t = k / 30
        s, b = subject + [0.02 * k, 0, 0], bystander - [0.02 * k, 0, 0]
        roots = np.stack([b]) if 5 <= k < 15 else np.stack([s, b])
        ids = tracker.update(roots, t)
        assert ids[-1] == 2
        assert tracker.followed == 1
    assert ids == [1, 2]  # the subject found again under their own id


def test_a_track_unseen_longer_than_its_memory_is_dropped_and_the_default_is_the_most_central():
    tracker = PersonTracker(memory_s=0.5)
    tracker.update(np.array([[0.0, 0, 4], [1.5, 0, 4]]), 0.0)
    tracker.follow(2)
    tracker.update(np.array([[0.0, 0, 4]]), 1.0)
    assert tracker.followed is None and 2 not in tracker.tracks
    group = _rig()
    near, far = _body(0.2), _body(-1.4, seed=5)
    a, b = _view(group, 0, [far, near]), _view(group, 1, [far, near])
    c = centrality(a, b, [SIZE, SIZE])
    assert c[1] < c[0]
    assert tracker.choose_default([7, 8], c) == 8


def test_an_unmatched_pair_is_journaled_as_unmatched_not_as_an_error(tmp_path):
    from core.session.journal import JournalWriter, read_journal, results_arrays

    j = JournalWriter(tmp_path / "results.journal", ["a", "b"])
    kp = np.full((2, 17, 3), np.nan)
    for k, status in enumerate(["ok", "unmatched", "one_view"]):
        j.append(k, status, kp, None, None, np.full(17, np.nan))
    j.close()
    _, poses = results_arrays(["a", "b"], np.arange(3) / 30, read_journal(tmp_path / "results.journal"), "", "live")
    assert poses.status.tolist() == ["ok", "unmatched", "one_view"]
