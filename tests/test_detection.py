"""MediaPipe detection mapped to H36M-17, and following one person among several (real photos)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from core.detection import PersonFollower, PoseDetector
from core.filters import OneEuroFilter
from tests.paths import SHARED_DATA, need

PEOPLE = ["messi5.jpg", "basketball1.png", "basketball2.png", "astronaut.png", "grace_hopper.jpg"]


@pytest.mark.parametrize("name", PEOPLE)
def test_real_photos_give_a_full_h36m_pose(static_pose_detector, name):
    img = cv2.imread(str(need(SHARED_DATA / "people" / name)))
    det = static_pose_detector.detect(img)
    assert det.found and det.landmarks.shape == (33, 4)
    kp = det.keypoints
    assert kp.shape == (17, 3)
    h, w = img.shape[:2]
    # every joint in (or near) the image and the head above the shoulders (image y down)
    assert np.all(np.isfinite(kp[:, :2]))
    assert np.all((kp[:, 0] > -0.5 * w) & (kp[:, 0] < 1.5 * w))
    assert kp[10, 1] < kp[8, 1] and kp[9, 1] < kp[8, 1]
    assert 0 <= kp[:, 2].min() and kp[:, 2].max() <= 1
    assert det.box is not None


def test_an_empty_image_finds_nobody(static_pose_detector):
    det = static_pose_detector.detect(np.zeros((240, 320, 3), np.uint8))
    assert not det.found and det.reason == "no person detected"
    assert np.isnan(det.keypoints[:, :2]).all() and (det.keypoints[:, 2] == 0).all()
    assert not static_pose_detector.detect(np.zeros((0, 0, 3), np.uint8)).found


@pytest.fixture(scope="module")
def two_people():
    """A real person (basketball1.png) and his mirror image side by side; the mirror is nearer the centre."""
    img = cv2.imread(str(need(SHARED_DATA / "people" / "basketball1.png")))
    a = img[:, :250]
    b = cv2.flip(a, 1)
    h = img.shape[0]
    canvas = np.concatenate(
        [np.zeros((h, 100, 3), np.uint8), a, np.full((h, 200, 3), 90, np.uint8), b, np.zeros((h, 300, 3), np.uint8)],
        axis=1,
    )
    return canvas  # width 1100: person A centred near x=190, person B near x=700


def _centre_x(det) -> float:
    return (det.box[0] + det.box[2]) / 2


def test_follows_the_person_nearest_the_centre_then_the_selected_one(two_people):
    img = two_people
    follower = PersonFollower(PoseDetector())
    try:
        det = follower.detect(img)
        assert det.found and abs(_centre_x(det) - 700) < 60  # default: nearest the centre (550)
        follower.select(190, 250, (img.shape[1], img.shape[0]))
        for _ in range(3):  # stays on the selected person frame after frame
            det = follower.detect(img)
            assert det.found and abs(_centre_x(det) - 190) < 60
            assert np.nanmax(det.keypoints[:, 0]) < 400  # every joint on person A
        follower.release()
        det = follower.detect(img)
        assert det.found and abs(_centre_x(det) - 700) < 60
    finally:
        follower.close()
        follower.detector.close()


def test_one_euro_filter_smooths_noise_and_keeps_missing_joints_missing():
    rng = np.random.default_rng(0)
    f = OneEuroFilter(min_cutoff=1.0, beta=0.0)
    t = np.arange(200) / 30.0
    truth = np.zeros((200, 17, 3)) + np.array([0.1, 0.2, 3.0])  # a still person, 1 cm detector noise
    noisy = truth + rng.normal(0, 0.01, truth.shape)
    out = np.stack([f(x, ti) for x, ti in zip(noisy, t, strict=True)])
    assert np.abs(out - truth)[30:].mean() < 0.5 * np.abs(noisy - truth)[30:].mean()
    # with beta > 0 a fast move is followed with little lag; with beta = 0 it lags
    lags = {}
    for beta in (0.0, 5.0):
        g = OneEuroFilter(min_cutoff=1.0, beta=beta)
        ramp = [g(np.full((17, 3), 2.0 * ti), ti) for ti in t]  # 2 m/s
        lags[beta] = float(np.abs(ramp[-1] - 2.0 * t[-1]).mean())
    assert lags[5.0] < 0.2 * lags[0.0]
    # a joint that disappears comes out NaN and restarts cleanly when it reappears
    x = truth[10].copy()
    x[3] = np.nan
    y = f(x, 210 / 30.0)
    assert np.isnan(y[3]).all() and np.isfinite(y[4]).all()
    z = f(truth[11] + 5.0, 230 / 30.0)  # back after 0.67 s, 5 m away
    np.testing.assert_allclose(z[3], truth[11][3] + 5.0)
    # strength maps monotonically to the cut-off
    f.set_strength(0.0)
    low = f.min_cutoff
    f.set_strength(1.0)
    assert f.min_cutoff < low
